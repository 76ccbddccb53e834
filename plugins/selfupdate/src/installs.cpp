// selfupdate/src/installs.cpp — Installs (see installs.h).
#include "installs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace selfupdate {
namespace fs = std::filesystem;

std::string Installs::current() const {
  fs::path link = fs::path(dir_) / "current";
  std::error_code ec;
  auto st = fs::symlink_status(link, ec);
  if (ec || st.type() == fs::file_type::not_found) return "";
  if (st.type() != fs::file_type::symlink) {
    throw std::runtime_error(link.string() + " is not a symlink");
  }
  std::string target = fs::read_symlink(link).string();
  if (target.rfind("releases/", 0) != 0 || target.find('/', 9) != std::string::npos ||
      target.size() == 9) {
    throw std::runtime_error(link.string() + " points to " + target + ", not to releases/<name>");
  }
  return target.substr(9);
}

std::string Installs::release_dir(const std::string& name) const {
  return dir_ + "/releases/" + name;
}

std::string Installs::partial_dir(const std::string& name) const {
  return release_dir(name) + ".partial";
}

bool Installs::has_release(const std::string& name) const {
  return fs::is_directory(release_dir(name));
}

void Installs::start_partial(const std::string& name) const {
  fs::remove_all(partial_dir(name));
  fs::create_directories(partial_dir(name));
}

void Installs::finish_release(const std::string& name, const jarvis::Json& info) const {
  {
    std::ofstream out(partial_dir(name) + "/.selfupdate-release.json");
    out << info.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write the release info of " + name);
  }
  if (fs::exists(release_dir(name))) {
    if (current() == name) throw std::runtime_error("release " + name + " is current");
    fs::remove_all(release_dir(name));
  }
  // The release's files reach the disk before its name does, and its name before the switch.
  int fd = ::open(partial_dir(name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::syncfs(fd) != 0) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("syncfs " + partial_dir(name) + ": " + std::strerror(e));
  }
  ::close(fd);
  fs::rename(partial_dir(name), release_dir(name));
  const std::string parent = fs::path(release_dir(name)).parent_path().string();
  fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("fsync " + parent + ": " + std::strerror(e));
  }
  ::close(fd);
}

jarvis::Json Installs::release_info(const std::string& name) const {
  std::ifstream in(release_dir(name) + "/.selfupdate-release.json");
  if (!in) return jarvis::Json::object();
  std::stringstream s;
  s << in.rdbuf();
  auto parsed = jarvis::try_parse_json(s.str());
  return parsed && parsed->is_object() ? *parsed : jarvis::Json::object();
}

void Installs::switch_to(const std::string& name) const {
  if (name.empty() || !has_release(name)) {
    throw std::runtime_error("release '" + name + "' does not exist under " + dir_ + "/releases");
  }
  const std::string tmp = dir_ + "/.current." + name + ".tmp";
  ::unlink(tmp.c_str());
  if (::symlink(("releases/" + name).c_str(), tmp.c_str()) != 0) {
    throw std::runtime_error("symlink " + tmp + ": " + std::strerror(errno));
  }
  const std::string link = dir_ + "/current";
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("rename " + tmp + " -> " + link + ": " + std::strerror(e));
  }
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::vector<std::string> Installs::prune(int keep, const std::set<std::string>& protect) const {
  std::set<std::string> keep_names = protect;
  const std::string cur = current();
  if (!cur.empty()) keep_names.insert(cur);
  struct Release {
    fs::file_time_type at;
    std::string name;
  };
  std::vector<Release> all;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(dir_) / "releases", ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_symlink() || !e.is_directory() || name.empty() || name[0] == '.' ||
        (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0)) {
      continue;
    }
    std::error_code tec;
    auto at = fs::last_write_time(e.path() / ".selfupdate-release.json", tec);
    if (tec) at = fs::last_write_time(e.path(), tec);
    all.push_back({at, name});
  }
  std::sort(all.begin(), all.end(), [](const Release& a, const Release& b) {
    return a.at != b.at ? a.at > b.at : a.name > b.name;  // newest first
  });
  std::vector<std::string> removed;
  int kept = 0;
  for (const Release& r : all) {
    if (keep_names.count(r.name) || kept < keep) {
      ++kept;
      continue;
    }
    fs::remove_all(release_dir(r.name));
    removed.insert(removed.begin(), r.name);
  }
  return removed;
}

}  // namespace selfupdate
