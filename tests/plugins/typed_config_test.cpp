// tests/plugins/typed_config_test.cpp — the manifest's typed config constraints (required,
// min/max, choices, url, duration, secret): every violation names the key, the value's source and
// what was expected; secrets never appear in messages or listings; manifest mistakes in the
// schema itself are refused with the field; YAML errors (an unclosed quote) carry their line.
#include <gtest/gtest.h>

#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "config/config.h"
#include "jarvis/secret.h"
#include "plugins/manifest.h"
#include "plugins/plugin_config.h"

namespace jarvis::host {
namespace typed_config_test {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

const char* kManifest = R"(
name: typed
version: 1.0.0
sdk: ">=1.1 <2.0"
config:
  mode: {type: string, default: fast, choices: [fast, thorough], env: TYPED_MODE}
  limit: {type: int, default: 10, min: 1, max: 100, env: TYPED_LIMIT}
  ratio: {type: float, default: 0.5, min: 0, max: 1, env: TYPED_RATIO}
  poll: {type: duration, default: 30s, min: 1s, max: 1h, env: TYPED_POLL}
  endpoint: {type: url, required: true, env: TYPED_ENDPOINT}
  callback: {type: url, env: TYPED_CALLBACK}
  api_key: {type: string, secret: true, required: true, env: TYPED_API_KEY}
  signing_url: {type: url, secret: true, env: TYPED_SIGNING_URL}
)";

std::vector<ConfigKeySpec> keys() {
  return parse_manifest(kManifest, "/p/typed/plugin.yaml").config;
}

/// A store with valid values for the required keys, plus `extra`.
ConfigStore store_with(const std::map<std::string, std::string>& extra) {
  ConfigStore s;
  s.set("TYPED_ENDPOINT", "https://api.example.com/v1", ConfigSource::DotEnv, "/srv/.env");
  s.set("TYPED_API_KEY", "sk-live-0123456789", ConfigSource::Environment, "environment");
  for (const auto& [k, v] : extra) s.set(k, v, ConfigSource::DotEnv, "/srv/.env");
  return s;
}

std::string problems(const ConfigStore& store) {
  PluginConfigImpl cfg("typed", keys(), &store);
  std::string all;
  for (const auto& p : cfg.validate()) all += p + "\n";
  return all;
}

TEST(DurationSyntax, Parses) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("1d"), 24h);
  EXPECT_EQ(parse_duration("1h30m"), 90min);
  EXPECT_EQ(parse_duration("1m30s500ms"), 90500ms);
  EXPECT_EQ(parse_duration("0"), 0ms);
  EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(DurationSyntax, Refuses) {
  for (const char* bad : {"", "30", "s", "5 m", "1.5s", "-1s", "5min", "30s5m", "1h1h", "5M",
                          "99999999999999999999d", "1s ", "ms"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(DurationSyntax, FormatsBack) {
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(parse_duration(format_duration(93784005ms)), 93784005ms);
}

TEST(UrlCheck, AcceptsHttpUrlsWithAHost) {
  for (const char* ok :
       {"http://example.com", "https://api.example.com:8443/v1?x=1", "HTTPS://Example.com/",
        "http://user:pw@host.example/path", "http://[::1]:8080/", "http://127.0.0.1"}) {
    EXPECT_EQ(check_url(ok), "") << ok;
  }
}

TEST(UrlCheck, RefusesEverythingElse) {
  for (const char* bad : {"example.com", "ftp://example.com", "https://", "https:///path",
                          "http://host:0/", "http://host:99999", "http://host:/", "http://a b/",
                          "http://[::1/", "file:///etc/passwd", "https://user@/x"}) {
    EXPECT_NE(check_url(bad), "") << bad;
  }
}

TEST(TypedConfig, ValidValuesAndTypedGetters) {
  ConfigStore s = store_with({{"TYPED_POLL", "1m30s"}, {"TYPED_MODE", "thorough"}});
  PluginConfigImpl cfg("typed", keys(), &s);
  EXPECT_TRUE(cfg.validate().empty()) << problems(s);
  EXPECT_EQ(cfg.get_duration("poll"), 90s);
  EXPECT_EQ(cfg.get_string("mode"), "thorough");
  EXPECT_EQ(cfg.get_string("endpoint"), "https://api.example.com/v1");
  EXPECT_EQ(cfg.get_string("callback"), "");  // optional url left unset
  EXPECT_EQ(cfg.get_secret("api_key").reveal(), "sk-live-0123456789");
  EXPECT_TRUE(cfg.get_secret("signing_url").empty());
  EXPECT_THROW(cfg.get_duration("limit"), std::invalid_argument);  // wrong type
  EXPECT_THROW(cfg.get_duration("nope"), std::out_of_range);       // undeclared
  EXPECT_THROW(cfg.get_string("api_key"), std::invalid_argument);  // secret: get_secret only
  EXPECT_THROW(cfg.get_secret("mode"), std::invalid_argument);     // not secret
  EXPECT_THROW(cfg.get_secret("nope"), std::out_of_range);
}

TEST(TypedConfig, RequiredKeyNotSet) {
  ConfigStore s;
  s.set("TYPED_API_KEY", "k", ConfigSource::Environment, "environment");
  const std::string all = problems(s);
  EXPECT_TRUE(contains(all, "config key 'endpoint' (env TYPED_ENDPOINT) is required but not set"))
      << all;
  EXPECT_TRUE(contains(all, "not in jarvis.yaml, .env or the environment")) << all;
  EXPECT_TRUE(contains(all, "expected url, set TYPED_ENDPOINT")) << all;
}

TEST(TypedConfig, RequiredKeySetEmpty) {
  ConfigStore s = store_with({{"TYPED_ENDPOINT", ""}});
  const std::string all = problems(s);
  EXPECT_TRUE(contains(all,
                       "'endpoint' (env TYPED_ENDPOINT) has invalid value \"\" from .env file "
                       "/srv/.env: required"))
      << all;
}

struct Violation {
  const char* env;
  const char* value;
  const char* key;
  const char* expected;
};

TEST(TypedConfig, EveryConstraintViolationNamesKeySourceAndExpectation) {
  const Violation cases[] = {
      {"TYPED_LIMIT", "0", "limit", "must be at least 1 (min)"},
      {"TYPED_LIMIT", "101", "limit", "must be at most 100 (max)"},
      {"TYPED_LIMIT", "ten", "limit", "expected int"},
      {"TYPED_RATIO", "1.5", "ratio", "must be at most 1 (max)"},
      {"TYPED_RATIO", "-0.1", "ratio", "must be at least 0 (min)"},
      {"TYPED_POLL", "500ms", "poll", "must be at least 1s (min)"},
      {"TYPED_POLL", "2h", "poll", "must be at most 1h (max)"},
      {"TYPED_POLL", "30", "poll", "expected a duration such as 250ms, 30s"},
      {"TYPED_MODE", "slow", "mode", "expected one of: fast, thorough"},
      {"TYPED_ENDPOINT", "api.example.com", "endpoint", "expected an http:// or https:// URL"},
      {"TYPED_CALLBACK", "https://", "callback",
       "expected an http:// or https:// URL with a host (the host is missing)"},
  };
  for (const auto& c : cases) {
    ConfigStore s = store_with({{c.env, c.value}});
    const std::string all = problems(s);
    const std::string want = "plugin 'typed': config key '" + std::string(c.key) + "' (env " +
                             c.env + ") has invalid value \"" + c.value +
                             "\" from .env file /srv/.env: " + c.expected;
    EXPECT_TRUE(contains(all, want)) << "want: " << want << "\ngot: " << all;
  }
}

TEST(TypedConfig, SecretValueNeverInMessagesOrListings) {
  const std::string secret = "https://SECRET-VALUE-4711";
  ConfigStore s = store_with({{"TYPED_SIGNING_URL", "not a url SECRET-VALUE-4711"}});
  PluginConfigImpl cfg("typed", keys(), &s);
  const auto ps = cfg.validate();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_TRUE(contains(ps[0],
                       "'signing_url' (env TYPED_SIGNING_URL) has an invalid value "
                       "(secret, not shown) from .env file /srv/.env: expected an http"))
      << ps[0];
  EXPECT_FALSE(contains(ps[0], "SECRET-VALUE-4711")) << ps[0];
  for (const auto& row : cfg.describe()) {
    EXPECT_FALSE(contains(row.value, "SECRET-VALUE-4711")) << row.key;
    EXPECT_FALSE(contains(row.value, "sk-live")) << row.key;
    if (row.key == "api_key") {
      EXPECT_EQ(row.value, "[REDACTED]");
      EXPECT_EQ(row.constraints, "required, secret");
    }
  }
  try {
    (void)cfg.get_string("api_key");
    ADD_FAILURE() << "get_string on a secret must throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_FALSE(contains(e.what(), "sk-live")) << e.what();
  }
}

TEST(TypedConfig, DescribeCarriesConstraintsFromTheManifest) {
  ConfigStore s = store_with({});
  PluginConfigImpl cfg("typed", keys(), &s);
  std::map<std::string, ConfigKeyReport> rows;
  for (auto& r : cfg.describe()) rows[r.key] = r;
  EXPECT_EQ(rows["mode"].constraints, "one of fast|thorough");
  EXPECT_EQ(rows["limit"].constraints, "1..100");
  EXPECT_EQ(rows["poll"].constraints, "1s..1h");
  EXPECT_EQ(rows["poll"].type, "duration");
  EXPECT_EQ(rows["poll"].value_ms, 30000);
  EXPECT_EQ(rows["endpoint"].constraints, "required");
  EXPECT_TRUE(rows["endpoint"].required);
}

TEST(SecretType, NeverPrints) {
  jarvis::Secret s("hunter2-topsecret");
  std::ostringstream out;
  out << s;
  EXPECT_EQ(out.str(), "[REDACTED]");
  EXPECT_EQ(fmt::format("key={}", s), "key=[REDACTED]");
  EXPECT_EQ(fmt::format("{:>12}", s), "  [REDACTED]");
  EXPECT_EQ(s.reveal(), "hunter2-topsecret");
  EXPECT_TRUE(s == jarvis::Secret("hunter2-topsecret"));
  EXPECT_FALSE(s == jarvis::Secret("hunter2-topsecreT"));
  EXPECT_FALSE(s == jarvis::Secret("hunter2"));
  EXPECT_TRUE(jarvis::Secret().empty());
}

std::string manifest_error(const std::string& config_block) {
  try {
    parse_manifest("name: m\nversion: 1.0.0\nsdk: \">=1.1\"\nconfig:\n" + config_block,
                   "/p/m/plugin.yaml");
  } catch (const ManifestError& e) {
    return e.what();
  }
  return "";
}

TEST(ManifestConstraints, SchemaMistakesAreRefusedWithTheField) {
  struct Case {
    const char* yaml;
    const char* field;
    const char* message;
  };
  const Case cases[] = {
      {"  a: {type: string, min: 1}\n", "config.a.min", "only int, float and duration keys"},
      {"  a: {type: int, default: 1, min: x}\n", "config.a.min", "\"x\" is not a valid int"},
      {"  a: {type: duration, default: 1s, max: 10}\n", "config.a.max", "not a valid duration"},
      {"  a: {type: int, default: 5, min: 10, max: 1}\n", "config.a.min", "greater than max"},
      {"  a: {type: int, default: 0, min: 1}\n", "config.a.default", "must be at least 1"},
      {"  a: {type: int, choices: [1, 2], default: 1}\n", "config.a.choices", "only string keys"},
      {"  a: {type: string, choices: []}\n", "config.a.choices", "non-empty list"},
      {"  a: {type: string, choices: [x, x]}\n", "config.a.choices", "listed twice"},
      {"  a: {type: string, default: z, choices: [x, y]}\n", "config.a.default",
       "expected one of: x, y"},
      {"  a: {type: url, default: nope}\n", "config.a.default", "expected an http"},
      {"  a: {type: duration}\n", "config.a.default", "required for type duration"},
      {"  a: {type: duration, default: 30}\n", "config.a.default", "a unit is required"},
      {"  a: {type: string, required: true, default: x}\n", "config.a.default",
       "a required key has no default"},
      {"  a: {type: string, required: maybe}\n", "config.a.required", "expected true or false"},
      {"  a: {type: string, maximum: 3}\n", "config.a.maximum", "unknown field"},
      {"  a: {type: uri}\n", "config.a.type", "url or duration"},
  };
  for (const auto& c : cases) {
    const std::string err = manifest_error(c.yaml);
    EXPECT_TRUE(contains(err, "/p/m/plugin.yaml: field '" + std::string(c.field) + "'"))
        << c.yaml << " -> " << err;
    EXPECT_TRUE(contains(err, c.message)) << c.yaml << " -> " << err;
  }
  // A required int needs no default.
  EXPECT_EQ(manifest_error("  a: {type: int, required: true, min: 1}\n"), "");
}

TEST(ManifestYaml, UnclosedQuoteIsReportedWithItsLine) {
  const std::string text =
      "name: q\n"
      "version: 1.0.0\n"
      "description: \"Greets people\n"
      "sdk: \">=1.1 <2.0\"\n"
      "config:\n"
      "  a: {type: string}\n";
  try {
    parse_manifest(text, "/p/q/plugin.yaml");
    FAIL() << "accepted";
  } catch (const ManifestError& e) {
    EXPECT_TRUE(contains(e.what(), "/p/q/plugin.yaml: invalid YAML at line 4")) << e.what();
    EXPECT_TRUE(contains(e.what(), "the quote opened on line 3 is not closed")) << e.what();
  }
  // The swallowing case: no later quote to trip the parser, everything folds into one value.
  const std::string swallow =
      "name: q\n"
      "version: 1.0.0\n"
      "sdk: 1.1\n"
      "description: 'Greets people\n"
      "library: libq.so\n"
      "migrations: migrations/'\n";
  try {
    parse_manifest(swallow, "/p/q/plugin.yaml");
    FAIL() << "accepted";
  } catch (const ManifestError& e) {
    EXPECT_TRUE(contains(e.what(), "/p/q/plugin.yaml: line 4, field 'description'")) << e.what();
    EXPECT_TRUE(contains(e.what(), "closes on line 6")) << e.what();
  }
  // Quotes closed on their own line are fine, also with escapes inside.
  EXPECT_NO_THROW(
      parse_manifest("name: q\nversion: 1.0.0\nsdk: \">=1.1\"\n"
                     "description: \"say \\\"hi\\\" \" \n",
                     "/p/q/plugin.yaml"));
}

TEST(ManifestMigrations, DeclaredOrDefault) {
  auto m = parse_manifest("name: q\nversion: 1.0.0\nsdk: 1.1\n", "/p/q/plugin.yaml");
  EXPECT_FALSE(m.migrations_declared);
  auto d =
      parse_manifest("name: q\nversion: 1.0.0\nsdk: 1.1\nmigrations: sql/\n", "/p/q/plugin.yaml");
  EXPECT_TRUE(d.migrations_declared);
  EXPECT_EQ(d.migrations_path(), "/p/q/sql");
}

}  // namespace

}  // namespace typed_config_test
}  // namespace jarvis::host
