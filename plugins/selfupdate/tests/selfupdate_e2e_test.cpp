// selfupdate/tests/selfupdate_e2e_test.cpp — the plugin in a real `jarvis serve` on SQLite and
// PostgreSQL with the fixture repository, run as an install's current/bin/jarvis (the fixture's
// install.sh lays out a runnable release and records the commit it built, as `cmake --install`
// does): the admin API and CLI end to end through a real controlled restart — the host
// re-executes the path it was started as, i.e. the switched release, whose /readyz reports the
// patch's commit: `verified` —, RBAC (users and anonymous callers refused), the agent tool that
// can only propose (deny by default), and a real kill -9 of the server while its install command
// runs in the sandbox, recovered by the next server and `jarvis selfupdate resume`.
#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "release_server.h"
#include "selfupdate_support.h"

namespace selfupdate_e2e_test {

using namespace selfupdate_test;
using nlohmann::json;

class SelfUpdateHost {
 public:
  explicit SelfUpdateHost(Backend backend, const std::string& install_extra = "",
                          const std::map<std::string, std::string>& extra_env = {})
      : repo(tmp.path()), port(jarvis::test::free_port()) {
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
           {"SELFUPDATE_SANDBOX", test_sandbox_mode()},
           // install.sh copies the built host from here: the sandbox sees only its allow-list
           // (decision 0097), so the folder is named, read-only.
           {"SELFUPDATE_SANDBOX_READ", build_root() + "/bin"},
           {"SELFUPDATE_READYZ_URL", "http://127.0.0.1:" + std::to_string(port) + "/readyz"},
           {"SELFUPDATE_READYZ_ATTEMPTS", "50"},
           {"SELFUPDATE_READYZ_INTERVAL", "200ms"},
           {"TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS", "10"},
           {"ADMIN_UNLOCK_CODE_PATH", tmp.file("var/unlock_code")}};
    for (const auto& [k, v] : extra_env) env[k] = v;
    if (backend == Backend::Sqlite) {
      env["APP_DB"] = tmp.file("jarvis.db");
    } else {
      env["DATABASE_URL"] = jarvis::test::pg_fresh_database();
    }
    // Every release is a runnable jarvis reporting its commit (release_server.h).
    jarvis::test::write_file(repo.repo + "/install.sh",
                             install_extra + install_runnable_release_script());
    sh("git -c user.name=t -c user.email=t@t commit -q -am 'installs a runnable release'",
       repo.repo);
    make_runnable_release(repo.install + "/releases/initial", repo.head());
    auto m = jarvis::test::run_jarvis({"migrate"}, tmp.path(), env);
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    admin = jarvis::test::create_user_token(tmp.path(), env, "root", true);
    alice = jarvis::test::create_user_token(tmp.path(), env, "alice", false);
    start();
  }
  void start() {
    server = std::make_unique<ReleaseServer>(repo.install + "/current/bin/jarvis", tmp.path(), env);
    EXPECT_TRUE(server->ready()) << server->output();
  }
  /// The commit the server's /readyz reports.
  std::string running_commit() const {
    json j = json::parse(jarvis::test::http("GET", server->url("/readyz")).body, nullptr, false);
    return j.is_object() ? j.value("commit", "") : "";
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
  std::unique_ptr<ReleaseServer> server;
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

  const std::string baseline = h.repo.head();
  EXPECT_EQ(h.running_commit(), baseline);  // the initial release's recorded commit
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
  // The restart re-executed current/bin/jarvis — now the new release —, whose /readyz reports
  // the patch's commit: verified.
  ASSERT_TRUE(h.wait_state(id, "verified")) << h.patch(id).dump(2) << h.server->output();
  EXPECT_EQ(h.server->pid(), pid);  // the controlled restart re-executed the same process
  EXPECT_EQ(h.repo.current(), "releases/" + id);
  const std::string commit = h.patch(id)["commit_sha"];
  EXPECT_EQ(h.running_commit(), commit);
  EXPECT_NE(commit, baseline);
  auto status = json::parse(h.call("GET", "/api/v1/system/status", h.admin).body);
  EXPECT_EQ(status["commit"], commit);
  // The build and install ran confined (where bwrap works, which install-deps makes so).
  EXPECT_NE(jarvis::test::read_file(h.repo.patches + "/" + id + "/apply.log")
                .find("(sandbox: " + test_sandbox_mode()),
            std::string::npos);
  auto ev = json::parse(h.call("GET", "/api/v1/events?type=system.restart.complete", h.admin).body);
  EXPECT_FALSE(ev["items"].empty()) << ev.dump(2);

  json shown = h.patch(id);
  std::vector<std::string> path;
  for (const auto& t : shown["transitions"]) path.push_back(t["to"]);
  EXPECT_EQ(path.back(), "verified");
  EXPECT_EQ(shown["proposed_by"].get<std::string>().rfind("user:usr_", 0), 0u);
  auto show = h.cli({"selfupdate", "show", id});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("running commit " + commit.substr(0, 12)), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("applying ->"), std::string::npos) << show.out;
  auto list = h.cli({"selfupdate", "list"});
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
}

TEST_P(SelfUpdateE2e, AKill9MidApplyIsExplainedAndResumed) {
  // With `crash` the install writes half a release and hangs: the test kills the server with
  // SIGKILL meanwhile (the sandbox dies with it). The next server installs without `crash`.
  SelfUpdateHost h(GetParam(),
                   "if [ \"$2\" = crash ]; then mkdir -p \"$1\"; echo half > \"$1/half\"; "
                   "sleep 120; exit 1; fi\n",
                   {{"SELFUPDATE_INSTALL_COMMAND", "sh install.sh {prefix} crash"}});
  auto created = h.call("POST", "/api/v1/selfupdate/patches", h.admin,
                        {{"diff", FixtureRepo::diff_version(1, 2)}, {"rationale", "bump"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = json::parse(created.body)["trace_id"];
  ASSERT_TRUE(h.wait_state(id, "tested")) << h.patch(id).dump(2);
  ASSERT_EQ(h.call("POST", "/api/v1/selfupdate/patches/" + id + "/approve", h.admin).status, 200);
  const std::string half = h.repo.install + "/releases/" + id + ".partial/half";
  ASSERT_TRUE(jarvis::test::eventually([&] { return fs::exists(half); }, std::chrono::seconds(90)))
      << h.patch(id).dump(2) << h.server->output();
  h.server->kill9();                                // a real kill -9 in mid-install
  EXPECT_EQ(h.repo.current(), "releases/initial");  // never half-switched

  // Without a server, `show` reads the database: the stage's process is gone.
  auto show = h.cli({"selfupdate", "show", id, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  json before = json::parse(show.out);
  EXPECT_EQ(before["state"], "applying");
  EXPECT_EQ(before["step"], "install: sh install.sh {prefix} crash");
  EXPECT_NE(before["explanation"].get<std::string>().find("process is gone"), std::string::npos);

  h.env["SELFUPDATE_INSTALL_COMMAND"] = "sh install.sh {prefix}";
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
  ASSERT_TRUE(h.wait_state(id, "verified"))
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
