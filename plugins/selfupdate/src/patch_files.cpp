// selfupdate/src/patch_files.cpp — PatchFiles (see patch_files.h).
#include "patch_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace selfupdate {

bool is_trace_id(const std::string& id) {
  if (id.size() != 36 || id.rfind("trc_", 0) != 0) return false;
  for (std::size_t i = 4; i < id.size(); ++i) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

PatchFiles::PatchFiles(const std::string& patch_dir, const std::string& trace_id) {
  if (!is_trace_id(trace_id)) throw std::invalid_argument("not a patch id: " + trace_id);
  dir_ = patch_dir + "/" + trace_id;
}

void PatchFiles::create(const std::string& diff) const {
  std::filesystem::create_directories(std::filesystem::path(dir_).parent_path());
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::system_error(errno, std::generic_category(), "mkdir " + dir_);
  }
  write_text("proposal.diff", diff);
}

void PatchFiles::remove() const {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void PatchFiles::write_text(const std::string& name, const std::string& text) const {
  const std::string path = file(name);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + tmp);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "write " + tmp);
    }
    done += static_cast<std::size_t>(w);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(), "rename " + tmp);
  }
}

std::string PatchFiles::read_text(const std::string& name) const {
  std::ifstream in(file(name), std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

jarvis::Json PatchFiles::read_json(const std::string& name) const {
  auto parsed = jarvis::try_parse_json(read_text(name));
  return parsed && parsed->is_object() ? *parsed : jarvis::Json::object();
}

void PatchFiles::write_json(const std::string& name, const jarvis::Json& value) const {
  write_text(name, value.dump(2) + "\n");
}

void PatchFiles::merge_artifact(const std::string& section, const jarvis::Json& value) const {
  jarvis::Json a = read_json("artifact.json");
  a[section] = value;
  write_json("artifact.json", a);
}

std::string PatchFiles::tail(const std::string& name, long long bytes) const {
  std::ifstream in(file(name), std::ios::binary | std::ios::ate);
  if (!in) return "";
  long long size = static_cast<long long>(in.tellg());
  long long start = size > bytes ? size - bytes : 0;
  in.seekg(start);
  std::string out(static_cast<std::size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (start > 0) {
    std::size_t nl = out.find('\n');
    if (nl != std::string::npos && nl + 1 < out.size()) out.erase(0, nl + 1);
  }
  return out;
}

}  // namespace selfupdate
