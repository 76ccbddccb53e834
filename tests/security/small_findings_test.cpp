// tests/security/small_findings_test.cpp — issue 8, finding 11 (the parts outside the HTTP
// engine): a restart requested with an invalid body, and `jarvis plugins info` columns that long
// key names pushed out of line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "support/support.h"

using jarvis::test::bearer;
using jarvis::test::create_user_token;
using jarvis::test::http;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using nlohmann::json;

namespace {

TEST(SecuritySmall, RestartWithAnInvalidBodyIsRefusedAndDoesNotRestart) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{{"APP_DB", dir.file("jarvis.db")}, {"LOG_LEVEL", "warn"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  std::string admin = create_user_token(dir.path(), env, "root", true);
  ServerProcess server(dir.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  std::vector<std::string> h{"Content-Type: application/json", bearer(admin)};
  for (const char* body : {"{", "[1]", "\"now\"", R"({"force":true})"}) {
    auto r = http("POST", server.url("/api/v1/system/restart"), body, h);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
  }
  auto status = http("GET", server.url("/api/v1/system/status"), "", h);
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(json::parse(status.body)["system"].value("restarting", true), false) << status.body;
  EXPECT_EQ(http("GET", server.url("/healthz")).status, 200);
}

TEST(SecuritySmall, PluginsInfoAlignsColumnsForLongKeys) {
  jarvis::test::TempDir dir;
  // The trivial fixture with a manifest whose key and env names are longer than the old columns.
  std::string plugin = dir.file("plugins/longkeys");
  std::filesystem::create_directories(plugin);
  std::filesystem::copy_file(std::string(JARVIS_TEST_PLUGIN_DIR) + "/trivial/libtrivial.so",
                             plugin + "/liblongkeys.so");
  jarvis::test::write_file(plugin + "/plugin.yaml", R"(name: longkeys
version: 1.0.0
sdk: ">=1.0 <2.0"
description: long config names (fixture)
config:
  short: {type: int, default: 1, env: LK_SHORT}
  a_rather_long_configuration_key_name: {type: string, default: x, env: LONGKEYS_A_RATHER_LONG_CONFIGURATION_KEY_NAME}
)");
  std::map<std::string, std::string> env{{"APP_DB", dir.file("jarvis.db")},
                                         {"JARVIS_PLUGIN_DIRS", dir.file("plugins")}};
  auto r = run_jarvis({"plugins", "info", "longkeys"}, dir.path(), env);
  // The trivial library's entry point has another name, so it may load or be refused; the
  // manifest's keys are listed either way.
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::size_t> columns;
  bool in_config = false;
  while (std::getline(lines, line)) {
    if (line == "config:") {
      in_config = true;
      continue;
    }
    if (in_config) columns.push_back(line.find("= "));
  }
  ASSERT_EQ(columns.size(), 2u) << r.out << r.err;
  EXPECT_EQ(columns[0], columns[1]) << r.out;
  EXPECT_NE(r.out.find("LONGKEYS_A_RATHER_LONG_CONFIGURATION_KEY_NAME  string"), std::string::npos)
      << r.out;
}

}  // namespace
