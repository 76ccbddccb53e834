// selfupdate/tests/selfupdate_e2e_test.cpp — the plugin in a real `jarvis serve` on SQLite and
// PostgreSQL with the fixture repository: the admin API and CLI end to end through a real
// controlled restart (the host re-executes itself; the new image verifies against its own
// /readyz), RBAC (users and anonymous callers refused), the agent tool that can only propose
// (deny by default), and a kill -9 of the server in the middle of an apply (the install command
// kills its parent), recovered by the next server and `jarvis selfupdate resume`.
#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "selfupdate_support.h"

namespace selfupdate_e2e_test {

using namespace selfupdate_test;
using nlohmann::json;

class SelfUpdateHost {
 public:
  explicit SelfUpdateHost(Backend backend, const std::string& install_extra = "")
      : repo(tmp.path(), install_extra), port(jarvis::test::free_port()) {
    env = {{"LOG_LEVEL", "warn"},
           {"BIND_PORT", std::to_string(port)},
           {"JARVIS_PLUGINS_DISABLED", "memory,github,whatsapp,chat,maintenance"},
           {"JARVIS_PLUGINS_REQUIRED", "selfupdate"},
           {"SELFUPDATE_REPO_DIR", repo.repo},
           {"SELFUPDATE_PATCH_DIR", repo.patches},
           {"SELFUPDATE_INSTALL_DIR", repo.install},
           {"SELFUPDATE_BUILD_COMMAND", "sh build.sh"},
           {"SELFUPDATE_TEST_COMMAND", "sh test.sh"},
           {"SELFUPDATE_INSTALL_COMMAND", "sh install.sh {prefix}"},
           {"SELFUPDATE_READYZ_URL", "http://127.0.0.1:" + std::to_string(port) + "/readyz"},
           {"SELFUPDATE_READYZ_ATTEMPTS", "50"},
           {"SELFUPDATE_READYZ_INTERVAL", "200ms"},
           {"TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS", "10"},
           {"ADMIN_UNLOCK_CODE_PATH", tmp.file("var/unlock_code")}};
    if (backend == Backend::Sqlite) {
      env["APP_DB"] = tmp.file("jarvis.db");
    } else {
      env["DATABASE_URL"] = jarvis::test::pg_fresh_database();
    }
    auto m = jarvis::test::run_jarvis({"migrate"}, tmp.path(), env);
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    admin = jarvis::test::create_user_token(tmp.path(), env, "root", true);
    alice = jarvis::test::create_user_token(tmp.path(), env, "alice", false);
    start();
  }
  void start() {
    server = std::make_unique<jarvis::test::ServerProcess>(tmp.path(), env);
    EXPECT_TRUE(server->ready()) << server->output();
  }
  jarvis::test::HttpResult call(const std::string& method, const std::string& path,
                                const std::string& token, const json& body = nullptr) const {
    std::vector<std::string> h{"Content-Type: application/json"};
    if (!token.empty()) h.push_back(jarvis::test::bearer(token));
    return jarvis::test::http(method, server->url(path), body.is_null() ? "" : body.dump(), h);
  }
  json patch(const std::string& id) const {
    auto r = call("GET", "/api/v1/selfupdate/patches/" + id, admin);
    return json::parse(r.body, nullptr, false);
  }
  /// Waits until the patch is in `state` (the server may be restarting meanwhile).
  bool wait_state(const std::string& id, const std::string& state) const {
    return jarvis::test::eventually(
        [&] {
          json j = patch(id);
          return j.is_object() && j.value("state", "") == state;
        },
        std::chrono::seconds(90));
  }
  jarvis::test::RunResult cli(const std::vector<std::string>& args) const {
    return jarvis::test::run_jarvis(args, tmp.path(), env);
  }
  static std::string code(const jarvis::test::HttpResult& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  jarvis::test::TempDir tmp;
  FixtureRepo repo;
  int port;
  std::map<std::string, std::string> env;
  std::string admin, alice;
  std::unique_ptr<jarvis::test::ServerProcess> server;
};

class SelfUpdateE2e : public ::testing::TestWithParam<Backend> {};

TEST_P(SelfUpdateE2e, ProposeOverHttpApproveOnTheCliAndVerifyAfterARealRestart) {
  SelfUpdateHost h(GetParam());
  const std::string base = "/api/v1/selfupdate/patches";
  json body = {{"diff", FixtureRepo::diff_version(1, 2)}, {"rationale", "bump"}};
  // RBAC: admins only.
  EXPECT_EQ(h.call("POST", base, "", body).status, 401);
  EXPECT_EQ(h.call("POST", base, h.alice, body).status, 403);
  EXPECT_EQ(h.call("GET", base, h.alice).status, 403);
  EXPECT_EQ(h.call("POST", base + "/trc_00000000000000000000000000000000/approve", h.alice).status,
            403);
  auto bad = h.call("POST", base, h.admin, {{"diff", "x"}, {"rationale", "r"}, {"apply", true}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(SelfUpdateHost::code(bad), "invalid_field");
  EXPECT_EQ(h.call("GET", base + "/..%2F..%2Fetc", h.admin).status, 404);

  auto created = h.call("POST", base, h.admin, body);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = json::parse(created.body)["trace_id"];
  ASSERT_TRUE(h.wait_state(id, "tested")) << h.patch(id).dump(2) << h.server->output();
  // Nothing is applied without an approval.
  EXPECT_EQ(h.repo.current(), "releases/initial");
  auto listed = json::parse(h.call("GET", base + "?state=tested", h.admin).body);
  EXPECT_EQ(listed["total"], 1);

  const int pid = h.server->pid();
  auto approved = h.cli({"selfupdate", "approve", id, "--json"});
  ASSERT_EQ(approved.exit_code, 0) << approved.out << approved.err;
  // The host's /readyz reports no commit: ready, but unverified that the new code runs.
  ASSERT_TRUE(h.wait_state(id, "applied_unverified")) << h.patch(id).dump(2) << h.server->output();
  EXPECT_EQ(h.server->pid(), pid);  // the controlled restart re-executed the same process
  EXPECT_EQ(h.repo.current(), "releases/" + id);
  auto ev = json::parse(h.call("GET", "/api/v1/events?type=system.restart.complete", h.admin).body);
  EXPECT_FALSE(ev["items"].empty()) << ev.dump(2);

  json shown = h.patch(id);
  std::vector<std::string> path;
  for (const auto& t : shown["transitions"]) path.push_back(t["to"]);
  EXPECT_EQ(path.back(), "applied_unverified");
  EXPECT_EQ(shown["proposed_by"].get<std::string>().rfind("user:usr_", 0), 0u);
  auto show = h.cli({"selfupdate", "show", id});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("reports no commit"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("applying ->"), std::string::npos) << show.out;
  auto list = h.cli({"selfupdate", "list"});
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
}

TEST_P(SelfUpdateE2e, AKill9MidApplyIsExplainedAndResumed) {
  SelfUpdateHost h(GetParam(), "");
  // The install command kills the server (its parent) once: a real kill -9 in mid-apply.
  const std::string flag = h.tmp.file("crash-once");
  jarvis::test::write_file(flag, "1");
  jarvis::test::write_file(h.repo.repo + "/install.sh",
                           "if [ -f '" + flag + "' ]; then rm -f '" + flag +
                               "'; mkdir -p \"$1\"; echo half > \"$1/half\"; kill -9 $PPID; "
                               "sleep 1; exit 1; fi\nmkdir -p \"$1\" && cp out/app.txt "
                               "\"$1/app.txt\"\n");
  sh("git -c user.name=t -c user.email=t@t commit -q -am 'crashing install'", h.repo.repo);

  auto created = h.call("POST", "/api/v1/selfupdate/patches", h.admin,
                        {{"diff", FixtureRepo::diff_version(1, 2)}, {"rationale", "bump"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = json::parse(created.body)["trace_id"];
  ASSERT_TRUE(h.wait_state(id, "tested")) << h.patch(id).dump(2);
  ASSERT_EQ(h.call("POST", "/api/v1/selfupdate/patches/" + id + "/approve", h.admin).status, 200);
  const int pid = h.server->pid();
  // Dead (a zombie until the test reaps it), not merely past the flag: a SIGTERM before the
  // kill would stop the stage gracefully instead.
  auto dead = [pid] {
    std::string stat = jarvis::test::read_file("/proc/" + std::to_string(pid) + "/stat");
    std::size_t paren = stat.rfind(')');
    return stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z");
  };
  ASSERT_TRUE(jarvis::test::eventually(dead, std::chrono::seconds(60))) << h.server->output();
  h.server->terminate();                            // reaps the killed process
  EXPECT_EQ(h.repo.current(), "releases/initial");  // never half-switched

  // Without a server, `show` reads the database: the stage's process is gone.
  auto show = h.cli({"selfupdate", "show", id, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  json before = json::parse(show.out);
  EXPECT_EQ(before["state"], "applying");
  EXPECT_EQ(before["step"], "install: sh install.sh {prefix}");
  EXPECT_NE(before["explanation"].get<std::string>().find("process is gone"), std::string::npos);

  h.start();  // the next server marks it interrupted
  ASSERT_TRUE(h.wait_state(id, "interrupted")) << h.patch(id).dump(2);
  json shown = h.patch(id);
  EXPECT_EQ(shown["interrupted_stage"], "apply");
  EXPECT_NE(shown["explanation"].get<std::string>().find("not switched in"), std::string::npos);
  EXPECT_EQ(h.code(h.call("POST", "/api/v1/selfupdate/patches", h.admin,
                          {{"diff", FixtureRepo::diff_version(1, 3)}, {"rationale", "x"}})),
            "update_in_progress");

  auto resumed = h.cli({"selfupdate", "resume", id, "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  ASSERT_TRUE(h.wait_state(id, "applied_unverified"))
      << h.patch(id).dump(2) << h.server->output()
      << h.cli({"tasks", "list", "--name", "selfupdate.apply"}).out
      << h.cli({"tasks", "list", "--status", "queued"}).out;
  EXPECT_EQ(h.repo.current(), "releases/" + id);
  EXPECT_FALSE(fs::exists(h.repo.install + "/releases/" + id + "/half"));
  EXPECT_FALSE(fs::exists(h.repo.install + "/releases/" + id + ".partial"));
}

INSTANTIATE_TEST_SUITE_P(Backends, SelfUpdateE2e,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

TEST(SelfUpdateTool, AnAgentMayOnlyProposeAndOnlyWhenGranted) {
  SelfUpdateHost h(Backend::Sqlite);
  const std::string path = "/api/v1/tools/selfupdate.propose/invoke";
  json call = {{"args", {{"diff", FixtureRepo::diff_version(1, 2)}, {"rationale", "agent idea"}}},
               {"as", "agent:main"}};
  auto denied = h.call("POST", path, h.admin, call);
  EXPECT_EQ(denied.status, 403) << denied.body;  // deny by default
  auto grant = h.cli({"permissions", "allow", "agent:main", "selfupdate.propose"});
  ASSERT_EQ(grant.exit_code, 0) << grant.err;
  auto ok = h.call("POST", path, h.admin, call);
  ASSERT_EQ(ok.status, 200) << ok.body;
  json r = json::parse(ok.body);
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump(2);
  const std::string id = r["result"]["trace_id"];
  // An agent's patch waits for an admin before its build runs (decision 0052).
  ASSERT_TRUE(h.wait_state(id, "awaiting_test_approval"));
  EXPECT_EQ(h.call("POST", "/api/v1/selfupdate/patches/" + id + "/allow-test", h.alice).status,
            403);
  auto allowed = h.call("POST", "/api/v1/selfupdate/patches/" + id + "/allow-test", h.admin);
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  ASSERT_TRUE(h.wait_state(id, "tested"));
  json shown = h.patch(id);
  EXPECT_EQ(shown["source"], "tool");
  EXPECT_EQ(shown["proposed_by"].get<std::string>().rfind("agent:main for user:", 0), 0u);
  // The plugin's only tool is the proposal; nothing was applied.
  auto tools = json::parse(h.call("GET", "/api/v1/tools?limit=200", h.admin).body);
  std::vector<std::string> mine;
  for (const auto& t : tools["items"]) {
    std::string n = t.value("name", "");
    if (n.rfind("selfupdate.", 0) == 0) mine.push_back(n);
  }
  EXPECT_EQ(mine, std::vector<std::string>{"selfupdate.propose"}) << tools.dump(2);
  EXPECT_EQ(h.repo.current(), "releases/initial");
  // A user's own call is refused too (no permission row for the user).
  auto user = h.call("POST", path, h.alice, {{"args", call["args"]}});
  EXPECT_EQ(user.status, 403);
}

}  // namespace selfupdate_e2e_test
