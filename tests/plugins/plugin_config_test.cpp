// tests/plugins/plugin_config_test.cpp — a plugin's typed config: resolution through the store,
// validation messages (source named, secrets never echoed) and the redacted listing.
#include <gtest/gtest.h>

#include "plugins/manifest.h"
#include "plugins/plugin_config.h"
#include "support/support.h"

namespace jarvis::host {
namespace plugin_config_test {
namespace {

std::vector<ConfigKeySpec> keys() {
  return parse_manifest(R"(
name: hello
version: 1.0.0
sdk: ">=1.0 <2.0"
config:
  greeting: {type: string, default: hi, env: HELLO_GREETING}
  interval: {type: int, default: 60, env: HELLO_INTERVAL}
  ratio: {type: float, default: 0.5, env: HELLO_RATIO}
  enabled: {type: bool, default: false, env: HELLO_ENABLED}
  hosts: {type: list, default: [a.example, b.example], env: HELLO_HOSTS}
  api_key: {type: string, env: HELLO_API_KEY, secret: true}
  pin: {type: int, default: 1234, env: HELLO_PIN, secret: true}
)",
                        "/p/hello/plugin.yaml")
      .config;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(PluginConfig, DefaultsWhenStoreIsEmpty) {
  ConfigStore store;
  PluginConfigImpl cfg("hello", keys(), &store);
  EXPECT_TRUE(cfg.validate().empty());
  EXPECT_EQ(cfg.get_string("greeting"), "hi");
  EXPECT_EQ(cfg.get_int("interval"), 60);
  EXPECT_DOUBLE_EQ(cfg.get_double("ratio"), 0.5);
  EXPECT_FALSE(cfg.get_bool("enabled"));
  EXPECT_EQ(cfg.get_list("hosts"), (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(cfg.get_secret("api_key").reveal(), "");
  EXPECT_FALSE(cfg.is_set("greeting"));
  EXPECT_FALSE(cfg.is_set("api_key"));
}

TEST(PluginConfig, NullStoreMeansDefaults) {
  PluginConfigImpl cfg("hello", keys(), nullptr);
  EXPECT_TRUE(cfg.validate().empty());
  EXPECT_EQ(cfg.get_int("interval"), 60);
}

TEST(PluginConfig, ValuesFromTheStore) {
  ConfigStore store;
  store.set("HELLO_GREETING", "hey", ConfigSource::Yaml, "/srv/jarvis.yaml");
  store.set("HELLO_INTERVAL", "-5", ConfigSource::DotEnv, "/srv/.env");
  store.set("HELLO_RATIO", "1e-3", ConfigSource::Environment, "environment");
  store.set("HELLO_ENABLED", "Yes", ConfigSource::Environment, "environment");
  store.set("HELLO_HOSTS", "x.example\n\n  y.example  \n", ConfigSource::DotEnv, "/srv/.env");
  store.set("HELLO_API_KEY", "s3cr3t", ConfigSource::Environment, "environment");
  PluginConfigImpl cfg("hello", keys(), &store);
  EXPECT_TRUE(cfg.validate().empty());
  EXPECT_EQ(cfg.get_string("greeting"), "hey");
  EXPECT_EQ(cfg.get_int("interval"), -5);
  EXPECT_DOUBLE_EQ(cfg.get_double("ratio"), 0.001);
  EXPECT_TRUE(cfg.get_bool("enabled"));
  EXPECT_EQ(cfg.get_list("hosts"), (std::vector<std::string>{"x.example", "y.example"}));
  EXPECT_EQ(cfg.get_secret("api_key").reveal(), "s3cr3t");
  EXPECT_TRUE(cfg.is_set("greeting"));
  EXPECT_FALSE(cfg.is_set("pin"));
}

TEST(PluginConfig, BadIntNamesPluginKeyEnvSourceAndType) {
  ConfigStore store;
  store.set("HELLO_INTERVAL", "ten", ConfigSource::DotEnv, "/srv/jarvis/.env");
  PluginConfigImpl cfg("hello", keys(), &store);
  auto problems = cfg.validate();
  ASSERT_EQ(problems.size(), 1u);
  const std::string& p = problems[0];
  EXPECT_TRUE(contains(p, "plugin 'hello'")) << p;
  EXPECT_TRUE(contains(p, "'interval'")) << p;
  EXPECT_TRUE(contains(p, "HELLO_INTERVAL")) << p;
  EXPECT_TRUE(contains(p, "\"ten\"")) << p;
  EXPECT_TRUE(contains(p, ".env file /srv/jarvis/.env")) << p;
  EXPECT_TRUE(contains(p, "expected int")) << p;
}

TEST(PluginConfig, EachSourceIsNamed) {
  struct Case {
    ConfigSource source;
    std::string origin;
    std::string expect;
  };
  for (const Case& c :
       {Case{ConfigSource::Yaml, "/etc/jarvis.yaml", "jarvis.yaml file /etc/jarvis.yaml"},
        Case{ConfigSource::Environment, "environment", "environment variable HELLO_RATIO"},
        Case{ConfigSource::DotEnv, "/x/.env", ".env file /x/.env"}}) {
    ConfigStore store;
    store.set("HELLO_RATIO", "half", c.source, c.origin);
    PluginConfigImpl cfg("hello", keys(), &store);
    auto problems = cfg.validate();
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_TRUE(contains(problems[0], c.expect)) << problems[0];
    EXPECT_TRUE(contains(problems[0], "expected float")) << problems[0];
  }
}

TEST(PluginConfig, SecretValueIsNeverEchoed) {
  ConfigStore store;
  store.set("HELLO_PIN", "hunter2-not-a-number", ConfigSource::Environment, "environment");
  store.set("HELLO_ENABLED", "perhaps", ConfigSource::Environment, "environment");
  PluginConfigImpl cfg("hello", keys(), &store);
  auto problems = cfg.validate();
  ASSERT_EQ(problems.size(), 2u);
  std::string all = problems[0] + "\n" + problems[1];
  EXPECT_FALSE(contains(all, "hunter2")) << all;
  EXPECT_TRUE(contains(all, "'pin'")) << all;
  EXPECT_TRUE(contains(all, "secret, not shown")) << all;
  EXPECT_TRUE(contains(all, "\"perhaps\"")) << all;  // non-secret values are shown
  EXPECT_TRUE(contains(all, "expected bool")) << all;
}

TEST(PluginConfig, DescribeRedactsSecretsAndNamesSources) {
  ConfigStore store;
  store.set("HELLO_API_KEY", "s3cr3t", ConfigSource::DotEnv, "/srv/.env");
  store.set("HELLO_GREETING", "hey", ConfigSource::Yaml, "/srv/jarvis.yaml");
  PluginConfigImpl cfg("hello", keys(), &store);
  auto rows = cfg.describe();
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0].key, "greeting");
  EXPECT_EQ(rows[0].value, "hey");
  EXPECT_EQ(rows[0].source, "jarvis.yaml");
  EXPECT_EQ(rows[0].origin, "/srv/jarvis.yaml");
  EXPECT_EQ(rows[0].type, "string");
  EXPECT_TRUE(rows[0].is_set);
  EXPECT_EQ(rows[1].type, "int");
  EXPECT_EQ(rows[1].source, "default");
  EXPECT_FALSE(rows[1].is_set);
  EXPECT_EQ(rows[5].key, "api_key");
  EXPECT_EQ(rows[5].value, "[REDACTED]");
  EXPECT_TRUE(rows[5].secret);
  EXPECT_EQ(rows[5].env, "HELLO_API_KEY");
  EXPECT_EQ(rows[6].key, "pin");
  EXPECT_EQ(rows[6].value, "[REDACTED]");  // a secret default is redacted too
  for (const auto& r : rows) EXPECT_NE(r.value, "s3cr3t");
}

TEST(PluginConfig, PrecedenceIsTheStores) {
  // The store keeps the highest layer; the plugin view reports what the store chose.
  ConfigStore store;
  store.set("HELLO_GREETING", "from-yaml", ConfigSource::Yaml, "/srv/jarvis.yaml");
  store.set("HELLO_GREETING", "from-env", ConfigSource::Environment, "environment");
  PluginConfigImpl cfg("hello", keys(), &store);
  EXPECT_EQ(cfg.get_string("greeting"), "from-env");
  EXPECT_EQ(cfg.describe()[0].source, "environment");
}

TEST(PluginConfig, UndeclaredAndWrongTypeAccess) {
  PluginConfigImpl cfg("hello", keys(), nullptr);
  EXPECT_THROW(cfg.get_string("nope"), std::out_of_range);
  EXPECT_THROW(cfg.get_int("nope"), std::out_of_range);
  EXPECT_THROW(cfg.is_set("nope"), std::out_of_range);
  EXPECT_THROW(cfg.get_int("greeting"), std::invalid_argument);
  EXPECT_THROW(cfg.get_bool("interval"), std::invalid_argument);
  EXPECT_EQ(cfg.get_string("interval"), "60");  // any key reads as its text
}

}  // namespace

}  // namespace plugin_config_test
}  // namespace jarvis::host
