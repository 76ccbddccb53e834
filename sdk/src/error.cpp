// jarvis::Error and its constructors.
#include "jarvis/error.h"

#include "jarvis/commands.h"

namespace jarvis {

Error::Error(int status, std::string code, const std::string& message)
    : std::runtime_error(message), status_(status), code_(std::move(code)) {}
Error::~Error() = default;

Error bad_request(const std::string& message, std::string code) {
  return Error(400, std::move(code), message);
}
Error not_found(const std::string& message, std::string code) {
  return Error(404, std::move(code), message);
}
Error forbidden(const std::string& message, std::string code) {
  return Error(403, std::move(code), message);
}
Error conflict(const std::string& message, std::string code) {
  return Error(409, std::move(code), message);
}
Error unprocessable(const std::string& message, std::string code) {
  return Error(422, std::move(code), message);
}

UsageError::UsageError(const std::string& message) : std::runtime_error(message) {}
UsageError::~UsageError() = default;

}  // namespace jarvis
