// hello/src/greetings.cpp — validation and storage of greetings.
#include "greetings.h"

namespace hello {

std::string Greetings::greet(const std::string& name, const std::string& greeted_by) {
  auto max = host_.config().get_int("max_name_length");
  if (name.empty() || static_cast<long long>(name.size()) > max) {
    throw jarvis::bad_request("name must be 1.." + std::to_string(max) + " characters",
                              "invalid_name");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f)
      throw jarvis::bad_request("name contains control characters", "invalid_name");
  }
  std::string id = jarvis::new_id("hlo");
  std::string now = jarvis::now_iso();
  // Group commit: the row goes into a transaction shared with the greetings arriving meanwhile,
  // committed before run() returns. Only the INSERT runs inside — nothing slow.
  commits_.run([&](jarvis::Transaction& tx) {
    tx.session() << "INSERT INTO hello_greetings(id, name, greeted_by, created_at) "
                    "VALUES(:id, :n, :b, :t)",
        soci::use(id), soci::use(name), soci::use(greeted_by), soci::use(now);
    return true;
  });
  return host_.config().get_string("greeting") + ", " + name + "!";
}

long long Greetings::count(const std::string& name) {
  auto sql = host_.db().session();
  long long n = 0;
  *sql << "SELECT COUNT(*) FROM hello_greetings WHERE name = :n", soci::use(name), soci::into(n);
  return n;
}

}  // namespace hello
