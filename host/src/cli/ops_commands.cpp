// host/src/cli/ops_commands.cpp — `jarvis secrets scan` and doctor's dependency checks.
#include "cli/ops_commands.h"

#include <algorithm>
#include <filesystem>
#include <future>
#include <stdexcept>

#include "jarvis/commands.h"
#include "ops/dependency_probe.h"
#include "ops/secret_scan.h"

namespace jarvis::host {
namespace ops_commands_impl {

constexpr const char* kSecretsUsage =
    "usage: jarvis secrets scan [PATH...] [--allow FILE] [--json]\n"
    "  Without PATH: the git-tracked files of the current directory's repository (every file when\n"
    "  it is not one), plus .env and token files when present. Prints path:line:kind "
    "fingerprint=HEX\n"
    "  per finding (never the secret). Allow-list: ./.secret-scan-allow (path:GLOB # reason,\n"
    "  fingerprint:HEX # reason). Exit 0 clean, 1 findings, 2 usage or a bad allow-list.\n";

std::string fix_hint_for(ops::OutageClass c, const ops::Dependency& d) {
  switch (c) {
    case ops::OutageClass::DnsResolution:
      return "the host name in " + d.env + " does not resolve: check the spelling and DNS";
    case ops::OutageClass::Timeout:
      return "no answer in time: check a firewall or proxy, or whether the server is overloaded";
    case ops::OutageClass::NetworkUnreachable:
      return "nothing accepts connections at " + d.env + ": start the server or fix host/port";
    case ops::OutageClass::ProviderUnavailable:
      return "the provider answered with an error (5xx/429) or broken HTTP: retry later or "
             "check its status page";
    case ops::OutageClass::TlsCertificate:
      return "the server's TLS certificate failed verification (self-signed, unknown CA, expired "
             "or another host name): fix the certificate or the host name in " +
             d.env;
    case ops::OutageClass::TlsHandshake:
      return "no TLS handshake with the server at " + d.env +
             ": is it https at that port (not plain http), with a TLS version curl accepts?";
    case ops::OutageClass::ConfigInvalid:
      return "fix the URL in " + d.env;
    case ops::OutageClass::None:
      break;
  }
  return "";
}

}  // namespace ops_commands_impl

using namespace ops_commands_impl;

int cmd_secrets(CliContext& ctx, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? ctx.err : ctx.out) << kSecretsUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "scan") {
    ctx.err << "jarvis secrets: unknown command '" << args[0] << "'\n" << kSecretsUsage;
    return 2;
  }
  const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
  // With --json every outcome, a usage error too, is one JSON document on stdout.
  auto fail = [&](const std::string& message) {
    ctx.err << "jarvis secrets scan: " << message << "\n";
    if (json) {
      ctx.out << jarvis::Json{{"ok", false}, {"error", message}}.dump(
                     2, ' ', false, jarvis::Json::error_handler_t::replace)
              << "\n";
    }
    return 2;
  };
  Args a;
  try {
    a = Args::parse(std::vector<std::string>(args.begin() + 1, args.end()), {"--json"},
                    {"--allow"});
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  const ops::ScanRoot where = ops::resolve_scan_root(ctx.cwd);
  if (!where.error.empty()) {
    return fail("git failed in " + ctx.cwd + " (fix it, e.g. git config --global --add " +
                "safe.directory, or scan named paths): " + where.error);
  }
  ops::ScanOptions opt;
  opt.root = where.root;
  opt.git = where.git;
  opt.cwd = ctx.cwd;
  opt.paths = a.positionals();
  // The allow-list belongs to the work tree: its top level, wherever the command runs.
  std::string allow_file = where.root + "/.secret-scan-allow";
  if (a.has_option("--allow")) {
    allow_file = a.option("--allow", "");
    if (!allow_file.empty() && allow_file[0] != '/') allow_file = ctx.cwd + "/" + allow_file;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(allow_file, ec)) {
      return fail("no allow-list file at " + allow_file);
    }
  }
  try {
    opt.allow = ops::AllowList::load(allow_file);
  } catch (const std::invalid_argument& e) {
    return fail(std::string("invalid allow-list: ") + e.what());
  }
  // The install's key for the fingerprints of passwords and assigned values (never printed); a
  // key for this run only when no key file can be created (HOME unset or read-only, decision
  // 0095) — a malformed or exposed key file is still refused.
  try {
    ops::ScanKey key = ops::scan_key_for(ops::default_scan_key_path(where.root, where.git));
    if (!key.warning.empty()) ctx.err << "jarvis secrets scan: " << key.warning << "\n";
    opt.fingerprint_key = std::move(key.key);
  } catch (const std::runtime_error& e) {
    return fail(e.what());
  }
  ops::ScanReport r;
  try {
    r = ops::scan_tree(opt);
  } catch (const std::runtime_error& e) {
    return fail(e.what());
  }
  const auto unused = opt.paths.empty() ? opt.allow.unused() : std::vector<std::string>{};
  if (json) {
    jarvis::Json items = jarvis::Json::array();
    for (const auto& f : r.findings) {
      items.push_back(
          {{"path", f.path}, {"line", f.line}, {"kind", f.kind}, {"fingerprint", f.fingerprint}});
    }
    jarvis::Json skipped = jarvis::Json::array();
    for (const auto& sk : r.skipped) {
      skipped.push_back({{"path", sk.path}, {"reason", sk.reason}, {"error", sk.error}});
    }
    // File names are bytes, not UTF-8: invalid sequences print as U+FFFD instead of aborting.
    ctx.out << jarvis::Json{{"ok", r.findings.empty()},
                            {"findings", items},
                            {"allowed", r.allowed},
                            {"files_scanned", r.files_scanned},
                            {"files_skipped", r.files_skipped},
                            {"errors", r.errors},
                            {"skipped", skipped},
                            {"root", opt.root},
                            {"source", r.git ? "git ls-files" : "directory walk"},
                            {"local_secret_files", r.local_secret_files},
                            {"protected_local_secrets", r.protected_local_secrets},
                            {"unused_allow_entries", unused}}
                   .dump(2, ' ', false, jarvis::Json::error_handler_t::replace)
            << "\n";
  } else {
    for (const auto& f : r.findings) ctx.out << ops::format_finding(f) << "\n";
  }
  for (const auto& sk : r.skipped) {
    ctx.err << "jarvis secrets scan: " << (sk.error ? "could not scan " : "skipped ") << sk.path
            << ": " << sk.reason << "\n";
  }
  for (const auto& u : unused) {
    ctx.err << "jarvis secrets scan: allow-list entry matched nothing (remove it?): " << u << "\n";
  }
  ctx.err << "secret scan: " << r.findings.size() << " finding(s) in " << r.files_scanned
          << " file(s) (" << (r.git ? "git ls-files" : "directory walk") << " of " << opt.root
          << "; " << r.allowed << " allow-listed, " << r.files_skipped << " skipped, " << r.errors
          << " unreadable, " << r.local_secret_files.size() << " local secret file(s) checked, "
          << r.protected_local_secrets << " credential(s) in protected local files)\n";
  return r.findings.empty() ? 0 : 1;
}

std::vector<DependencyCheck> dependency_checks(const ConfigStore& store, long timeout_ms) {
  const auto deps = ops::configured_dependencies(store);
  std::vector<std::future<ops::ProbeResult>> probes;
  probes.reserve(deps.size());
  std::vector<ops::ProbeTarget> targets;
  for (const auto& d : deps) {
    targets.push_back(ops::probe_target(d.url, d.probe_path));
    probes.push_back(std::async(std::launch::async, [t = targets.back(), timeout_ms] {
      if (!t.ok) {
        ops::ProbeResult bad;
        bad.outage = ops::OutageClass::ConfigInvalid;
        bad.detail = t.error;
        return bad;
      }
      return ops::probe_http(t.url, timeout_ms);
    }));
  }
  std::vector<DependencyCheck> out;
  for (std::size_t i = 0; i < deps.size(); ++i) {
    const auto& d = deps[i];
    ops::ProbeResult r = probes[i].get();
    const std::string url = ops::redact_probe_url(d.url);
    DependencyCheck c;
    c.name = "dependency:" + d.name;
    c.passed = r.ok;
    c.message = targets[i].display + ": " +
                (r.ok ? "reachable (" + r.detail + ")"
                      : std::string(to_string(r.outage)) + " (" + r.detail + ")");
    c.fix_hint = fix_hint_for(r.outage, d);
    c.detail = {{"dependency", d.name},
                {"plugin", d.plugin},
                {"env", d.env},
                {"url", url},
                {"outage_class",
                 r.ok ? jarvis::Json(nullptr) : jarvis::Json(std::string(to_string(r.outage)))},
                {"http_status", r.http_status},
                {"os_errno", r.os_errno}};
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace jarvis::host
