// maintenance/tests/environment_test.cpp — maintenance commands run with the SDK's allow-listed
// environment: the host's secrets (API keys, DATABASE_URL-style strings, anything not listed)
// never reach them, while the default list (PATH, TZ, …) does.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.h"

using jarvis::test::run_jarvis;
using nlohmann::json;

namespace {

TEST(MaintenanceEnvironment, CommandsDoNotSeeTheHostsSecrets) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env = {
      {"APP_DB", dir.file("jarvis.db")}, {"LOG_LEVEL", "warn"},
      {"MAINTENANCE_ENABLED", "1"},      {"MAINTENANCE_WORKDIR", dir.path()},
      {"MAINTENANCE_CREATE_BUGS", "0"},  {"JARVIS_TEST_SECRET", "s3cr3t"},
      {"OPENAI_API_KEY", "sk-test"},     {"TZ", "Europe/Lisbon"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  env["MAINTENANCE_COMMANDS"] =
      "echo \"secret=${JARVIS_TEST_SECRET:-unset} key=${OPENAI_API_KEY:-unset} "
      "db=${APP_DB:-unset} path=${PATH:+set} tz=$TZ\"";
  auto r = run_jarvis({"maintenance", "run", "--json"}, dir.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 1u) << r.out;
  EXPECT_EQ(j["results"][0]["stdout"],
            "secret=unset key=unset db=unset path=set tz=Europe/Lisbon\n");
}

}  // namespace
