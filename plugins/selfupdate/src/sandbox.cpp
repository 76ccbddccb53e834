// selfupdate/src/sandbox.cpp — bubblewrap around the operator's commands (see sandbox.h).
#include "sandbox.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "jarvis/subprocess.h"

extern char** environ;

namespace selfupdate {
namespace fs = std::filesystem;

namespace sandbox_impl {

// A folder that may be covered by an empty tmpfs: absolute, existing, and neither "/" nor an
// ancestor of (or one of) the system folders every command needs.
bool may_hide(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  const std::string p = fs::path(path).lexically_normal().string();
  if (p == "/" || !fs::is_directory(p)) return false;
  for (const char* sys : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/dev",
                          "/proc", "/sys", "/tmp", "/var"}) {
    const std::string s = sys;
    if (s == p || s.rfind(p + "/", 0) == 0) return false;
  }
  return true;
}

// The files and folders of /etc a build, a test run and git need: the dynamic loader, users and
// groups (id, git), name services, time zone, TLS roots, alternatives (cc, c++ links), git's and
// ccache's system configuration. Not /etc as a whole: /etc/shadow, SSH host keys, /etc/jarvis.
constexpr const char* kEtcFiles[] = {
    "/etc/ld.so.cache",     "/etc/ld.so.conf",     "/etc/ld.so.conf.d",  "/etc/passwd",
    "/etc/group",           "/etc/nsswitch.conf",  "/etc/hosts",         "/etc/host.conf",
    "/etc/localtime",       "/etc/timezone",       "/etc/ssl/certs",     "/etc/ssl/openssl.cnf",
    "/etc/ca-certificates", "/etc/alternatives",   "/etc/gitconfig",     "/etc/ccache.conf",
    "/etc/os-release",      "/etc/debian_version", "/etc/mime.types",    "/etc/protocols",
    "/etc/services",        "/etc/locale.alias",   "/etc/default/locale"};

std::string normal(const std::string& path) {
  std::string p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace sandbox_impl

SandboxMode parse_sandbox_mode(const std::string& text) {
  if (text == "bwrap") return SandboxMode::Bwrap;
  if (text == "none") return SandboxMode::None;
  throw std::invalid_argument("SELFUPDATE_SANDBOX must be bwrap or none, not '" + text + "'");
}

Sandbox::Sandbox(Options o) : o_(std::move(o)) {
  if (o_.host_cwd.empty()) {
    std::error_code ec;
    o_.host_cwd = fs::current_path(ec).string();
  }
}

std::vector<std::pair<std::string, std::string>> Sandbox::inner_env() {
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::string> allow = jarvis::default_inherited_env();
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string name = entry.substr(0, eq);
    if (name == "TMPDIR" || name == "CI") continue;
    bool ok = false;
    for (const std::string& a : allow) {
      if (!a.empty() && a.back() == '*') {
        ok = ok || (name.rfind(a.substr(0, a.size() - 1), 0) == 0 &&
                    !jarvis::looks_like_secret_env(name));
      } else {
        ok = ok || name == a;
      }
    }
    if (ok) out.emplace_back(name, entry.substr(eq + 1));
  }
  std::sort(out.begin(), out.end());
  out.emplace_back("CI", "1");
  out.emplace_back("TMPDIR", "/tmp");
  return out;
}

std::vector<std::string> Sandbox::hidden_paths() const {
  std::vector<std::string> hide;
  auto add = [&](const std::string& p) {
    if (!sandbox_impl::may_hide(p)) return;
    const std::string n = sandbox_impl::normal(p);
    if (std::find(hide.begin(), hide.end(), n) == hide.end()) hide.push_back(n);
  };
  if (const char* home = std::getenv("HOME")) add(home);
  add(o_.host_cwd);
  for (const auto& h : o_.hide) add(h);
  // Parents before their children: a later tmpfs inside an earlier one is still mounted.
  std::sort(hide.begin(), hide.end(),
            [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  return hide;
}

std::vector<std::string> Sandbox::system_binds() const {
  std::vector<std::string> w;
  // The system, read-only, by name: /usr, the merged-/usr links (or folders) next to it, and the
  // few files of /etc that programs read to run (loader, users, names, time, certificates).
  // Nothing else of the host's file system exists inside: not /root, /home, /srv, /opt, /var,
  // /work — what SELFUPDATE_SANDBOX_READ names is added read-only.
  w.insert(w.end(), {"--ro-bind", "/usr", "/usr"});
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    const auto st = fs::symlink_status(top, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      w.insert(w.end(), {"--symlink", fs::read_symlink(top, ec).string(), top});
    } else if (fs::is_directory(st)) {
      w.insert(w.end(), {"--ro-bind", top, top});
    }
  }
  for (const char* etc : sandbox_impl::kEtcFiles) w.insert(w.end(), {"--ro-bind-try", etc, etc});
  w.insert(w.end(), {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run"});
  return w;
}

std::vector<std::string> Sandbox::read_only_binds() const {
  std::vector<std::string> w;
  for (const auto& r : o_.read_only) {
    const std::string n = sandbox_impl::normal(r);
    if (!n.empty() && n[0] == '/' && n != "/") w.insert(w.end(), {"--ro-bind-try", n, n});
  }
  return w;
}

std::vector<std::string> Sandbox::wrap(const std::vector<std::string>& argv,
                                       const SandboxPlace& place) const {
  if (o_.mode == SandboxMode::None) return argv;
  std::vector<std::string> w = {o_.bwrap,        "--die-with-parent",
                                "--new-session",
                                "--unshare-all",  // user (when needed), ipc, pid, net, uts, cgroup
                                "--cap-drop",    "ALL"};
  const std::vector<std::string> sys = system_binds();
  w.insert(w.end(), sys.begin(), sys.end());
  // An empty, writable HOME; the host's working directory and SELFUPDATE_SANDBOX_HIDE covered
  // too, in case a read-only bind above reaches them.
  for (const std::string& h : hidden_paths()) {
    w.insert(w.end(), {"--tmpfs", h});
  }
  // SELFUPDATE_SANDBOX_READ after the empty folders: a folder under /tmp (a checkout in /tmp, as
  // CI has) or under a hidden one stays visible when the operator names it.
  const std::vector<std::string> ro = read_only_binds();
  w.insert(w.end(), ro.begin(), ro.end());
  if (!place.git_dir.empty()) {
    const std::string g = sandbox_impl::normal(place.git_dir);
    w.insert(w.end(), {"--ro-bind", g, g});
  }
  const std::string cwd = sandbox_impl::normal(place.cwd);
  w.insert(w.end(), {"--bind", cwd, cwd});
  // The live tree's dependency folders (node_modules), read-only where the worktree has them.
  for (const auto& [from, to] : place.read_only_into) {
    w.insert(w.end(), {"--ro-bind", sandbox_impl::normal(from), sandbox_impl::normal(to)});
  }
  for (const auto& p : place.writable) {
    const std::string n = sandbox_impl::normal(p);
    w.insert(w.end(), {"--bind", n, n});
  }
  w.insert(w.end(), {"--chdir", cwd, "--clearenv"});
  for (const auto& [k, v] : inner_env()) w.insert(w.end(), {"--setenv", k, v});
  w.push_back("--");
  w.insert(w.end(), argv.begin(), argv.end());
  return w;
}

std::string Sandbox::probe() const {
  if (o_.mode == SandboxMode::None) return "";
  jarvis::ProcessOptions o{
      .argv = {o_.bwrap, "--die-with-parent", "--unshare-all", "--cap-drop", "ALL"},
      .timeout_ms = 30000,
      .max_output_bytes = 2048};
  const std::vector<std::string> sys = system_binds();
  o.argv.insert(o.argv.end(), sys.begin(), sys.end());
  o.argv.insert(o.argv.end(), {"--", "true"});
  jarvis::ProcessResult r;
  try {
    r = jarvis::run_process(o);
  } catch (const std::exception& e) {
    return o_.bwrap + " cannot be started: " + e.what();
  }
  if (r.exit_code == 0) return "";
  std::string err = r.stderr_text.substr(0, 300);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (r.exit_code == 127) {
    return o_.bwrap +
           " is not installed (apt-get install bubblewrap), or set SELFUPDATE_SANDBOX=none to run "
           "the commands unconfined";
  }
  return o_.bwrap + " cannot create its namespaces here (exit " + std::to_string(r.exit_code) +
         (err.empty() ? "" : ": " + err) +
         "); fix the host (user namespaces) or set SELFUPDATE_SANDBOX=none to run unconfined";
}

}  // namespace selfupdate
