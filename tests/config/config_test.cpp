// tests/config/config_test.cpp — layered configuration: .env parsing, precedence
// (defaults < jarvis.yaml < .env < environment), typed checks and host settings errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "config/config.h"
#include "config/host_settings.h"
#include "support/support.h"

using namespace jarvis::host;
using jarvis::test::TempDir;
using jarvis::test::write_file;

TEST(DotEnv, ParsesCommentsQuotesExportAndNewlines) {
  auto kv = parse_dotenv(
      "# comment\n"
      "\n"
      "A=1\n"
      "export B = two words  # trailing comment\n"
      "C=\"quoted # not a comment\"\n"
      "D='single'\n"
      "MAINTENANCE_COMMANDS=make lint\\nmake test\n"
      "E=\n");
  EXPECT_EQ(kv["A"], "1");
  EXPECT_EQ(kv["B"], "two words");
  EXPECT_EQ(kv["C"], "quoted # not a comment");
  EXPECT_EQ(kv["D"], "single");
  EXPECT_EQ(kv["MAINTENANCE_COMMANDS"], "make lint\nmake test");
  EXPECT_EQ(kv["E"], "");
}

TEST(DotEnv, MalformedLinesNameTheLine) {
  for (const char* bad :
       {"NOEQUALS\n", "1BAD=x\n", "A=\"open\n", "A=\"x\" junk\n", "BAD-KEY=1\n"}) {
    try {
      parse_dotenv(std::string("OK=1\n") + bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    }
  }
}

TEST(ConfigStore, PrecedenceDefaultsYamlDotenvEnvironment) {
  TempDir dir;
  write_file(dir.file("jarvis.yaml"),
             "bind_port: 9001\napp_db: yaml.db\nlog_level: debug\nplugins:\n  disabled: [a, b]\n");
  write_file(dir.file(".env"), "APP_DB=dotenv.db\nLOG_LEVEL=warn\n");
  std::string env1 = "LOG_LEVEL=error";
  char* envp[] = {env1.data(), nullptr};
  ConfigStore store = ConfigStore::load(dir.file("jarvis.yaml"), dir.file(".env"), envp);
  EXPECT_EQ(store.get("BIND_PORT")->value, "9001");
  EXPECT_EQ(store.get("BIND_PORT")->source, ConfigSource::Yaml);
  EXPECT_EQ(store.get("APP_DB")->value, "dotenv.db");
  EXPECT_EQ(store.get("APP_DB")->source, ConfigSource::DotEnv);
  EXPECT_EQ(store.get("APP_DB")->origin, dir.file(".env"));
  EXPECT_EQ(store.get("LOG_LEVEL")->value, "error");
  EXPECT_EQ(store.get("LOG_LEVEL")->source, ConfigSource::Environment);
  EXPECT_EQ(store.get("PLUGINS_DISABLED")->value, "a,b");
  HostSettings s = HostSettings::from(store);
  EXPECT_EQ(s.bind_port, 9001);
  EXPECT_EQ(s.database_url, "dotenv.db");
  EXPECT_EQ(s.log_level, "error");
  EXPECT_EQ(s.plugins_disabled, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(s.bind_host, "127.0.0.1");  // default
}

TEST(ConfigStore, MissingFilesAreFineMalformedYamlIsNot) {
  TempDir dir;
  char* envp[] = {nullptr};
  EXPECT_NO_THROW(ConfigStore::load(dir.file("none.yaml"), dir.file("none.env"), envp));
  write_file(dir.file("bad.yaml"), "a: [unclosed\n");
  EXPECT_THROW(ConfigStore::load(dir.file("bad.yaml"), "", envp), std::runtime_error);
  write_file(dir.file("list.yaml"), "- a\n- b\n");
  EXPECT_THROW(ConfigStore::load(dir.file("list.yaml"), "", envp), std::runtime_error);
}

TEST(HostSettings, DatabaseUrlOverridesAppDb) {
  ConfigStore store;
  store.set("APP_DB", "x.db", ConfigSource::DotEnv, ".env");
  store.set("DATABASE_URL", "postgresql://u:pw@h/db", ConfigSource::Environment);
  EXPECT_EQ(HostSettings::from(store).database_url, "postgresql://u:pw@h/db");
  EXPECT_EQ(redact_url("postgresql://u:pw@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(redact_url("postgresql://u@h/db"), "postgresql://u@h/db");
}

TEST(HostSettings, HandlerThreadsDefaultIsSizedForWaitingHandlers) {
  // Decision 0094: 0 (the default) resolves to max(32, 8 x cores); an explicit value is kept.
  ConfigStore unset;
  const std::size_t d = HostSettings::from(unset).handler_threads;
  EXPECT_EQ(d, default_handler_threads());
  EXPECT_GE(d, 32u);
  EXPECT_GE(d, 8u * std::max(1u, std::thread::hardware_concurrency()));
  ConfigStore zero;
  zero.set("JARVIS_HANDLER_THREADS", "0", ConfigSource::Environment);
  EXPECT_EQ(HostSettings::from(zero).handler_threads, d);
  ConfigStore four;
  four.set("JARVIS_HANDLER_THREADS", "4", ConfigSource::Environment);
  EXPECT_EQ(HostSettings::from(four).handler_threads, 4u);
}

TEST(HostSettings, BadValuesNameKeySourceAndType) {
  struct Case {
    const char* key;
    const char* value;
    const char* expect;
  } cases[] = {{"BIND_PORT", "eighty", "expected int"},
               {"BIND_PORT", "70000", "[0, 65535]"},
               {"JARVIS_HTTP_THREADS", "-1", "expected int in"},
               {"TASK_RUNNER_MAX_CONCURRENT", "0", "expected int in"},
               {"LOG_LEVEL", "loud", "expected one of"}};
  for (const auto& c : cases) {
    ConfigStore store;
    store.set(c.key, c.value, ConfigSource::DotEnv, "/srv/.env");
    try {
      HostSettings::from(store);
      ADD_FAILURE() << c.key << "=" << c.value << " accepted";
    } catch (const std::runtime_error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find(c.key), std::string::npos) << m;
      EXPECT_NE(m.find(c.expect), std::string::npos) << m;
      EXPECT_NE(m.find("/srv/.env"), std::string::npos) << m;
    }
  }
}

TEST(HostSettings, SecretValuesAreNotEchoed) {
  ConfigStore store;
  store.set("DATABASE_URL", "postgresql://u:hunter2@h/db", ConfigSource::Environment);
  store.set("BIND_PORT", "x", ConfigSource::Environment);
  try {
    HostSettings::from(store);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
}

TEST(ConfigTypes, ChecksEveryType) {
  EXPECT_EQ(check_config_value(ConfigType::Int, "42"), "");
  EXPECT_NE(check_config_value(ConfigType::Int, "4.2"), "");
  EXPECT_NE(check_config_value(ConfigType::Int, ""), "");
  EXPECT_EQ(check_config_value(ConfigType::Float, "4.2"), "");
  EXPECT_NE(check_config_value(ConfigType::Float, "4.2x"), "");
  for (const char* t : {"1", "true", "YES", "on"}) EXPECT_EQ(parse_bool(t), true) << t;
  for (const char* f : {"0", "false", "No", "OFF"}) EXPECT_EQ(parse_bool(f), false) << f;
  EXPECT_FALSE(parse_bool("maybe").has_value());
  EXPECT_EQ(check_config_value(ConfigType::List, "a\nb"), "");
  EXPECT_EQ(parse_config_type("list"), ConfigType::List);
  EXPECT_FALSE(parse_config_type("map").has_value());
}
