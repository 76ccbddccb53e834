// tests/plugins/manifest_test.cpp — plugin.yaml parsing: every field, every way it can be wrong,
// and version ranges.
#include <gtest/gtest.h>

#include "plugins/manifest.h"
#include "support/support.h"

namespace jarvis::host {
namespace {

constexpr const char* kFile = "/plugins/hello/plugin.yaml";

Manifest parse(const std::string& text) { return parse_manifest(text, kFile); }

/// Parses `text`, expecting a ManifestError whose message contains the file and every `parts`.
void expect_error(const std::string& text, const std::vector<std::string>& parts) {
  try {
    parse(text);
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const ManifestError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(kFile), std::string::npos) << msg;
    for (const auto& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

const std::string kMinimal = "name: hello\nversion: 1.2.3\nsdk: \">=1.0 <2.0\"\n";

TEST(Manifest, MinimalManifestGetsDefaults) {
  Manifest m = parse(kMinimal);
  EXPECT_EQ(m.name, "hello");
  EXPECT_EQ(m.version.str(), "1.2.3");
  EXPECT_EQ(m.sdk.text(), ">=1.0 <2.0");
  EXPECT_EQ(m.library, "libhello.so");
  EXPECT_EQ(m.migrations, "migrations/");
  EXPECT_EQ(m.dir, "/plugins/hello");
  EXPECT_EQ(m.library_path(), "/plugins/hello/libhello.so");
  EXPECT_TRUE(m.requires_.empty());
  EXPECT_TRUE(m.config.empty());
  EXPECT_EQ(m.description, "");
}

TEST(Manifest, FullManifest) {
  Manifest m = parse(kMinimal + R"(
description: Greets people
library: lib/custom.so
migrations: sql
requires:
  bugs: ">=1.0"
  memory:
config:
  greeting: {type: string, default: hi, env: HELLO_GREETING, description: "what to say"}
  interval_seconds: {type: int, default: 60}
  ratio: {type: float, default: 0.25}
  enabled: {type: bool, default: true}
  hosts: {type: list, default: [a.example, b.example]}
  api_key: {type: string, secret: true}
)");
  EXPECT_EQ(m.description, "Greets people");
  EXPECT_EQ(m.library_path(), "/plugins/hello/lib/custom.so");
  EXPECT_EQ(m.migrations_path(), "/plugins/hello/sql");
  ASSERT_EQ(m.requires_.size(), 2u);
  EXPECT_EQ(m.requires_[0].name, "bugs");
  EXPECT_TRUE(m.requires_[0].range.contains({1, 5, 0}));
  EXPECT_FALSE(m.requires_[0].range.contains({0, 9, 0}));
  EXPECT_EQ(m.requires_[1].name, "memory");
  EXPECT_TRUE(m.requires_[1].range.contains({0, 0, 1}));
  ASSERT_EQ(m.config.size(), 6u);
  EXPECT_EQ(m.config[0].key, "greeting");
  EXPECT_EQ(m.config[0].env, "HELLO_GREETING");
  EXPECT_EQ(*m.config[0].default_value, "hi");
  EXPECT_EQ(m.config[0].description, "what to say");
  EXPECT_EQ(m.config[1].type, ConfigType::Int);
  EXPECT_EQ(m.config[1].env, "INTERVAL_SECONDS");  // env defaults to the upper-cased key
  EXPECT_EQ(m.config[2].type, ConfigType::Float);
  EXPECT_EQ(m.config[3].type, ConfigType::Bool);
  EXPECT_EQ(m.config[4].type, ConfigType::List);
  EXPECT_EQ(*m.config[4].default_value, "a.example\nb.example");
  EXPECT_TRUE(m.config[5].secret);
  EXPECT_FALSE(m.config[5].default_value.has_value());
  EXPECT_FALSE(m.config[0].secret);
}

TEST(Manifest, RequiresAsList) {
  Manifest m = parse(kMinimal + "requires:\n  - bugs: \">=1.0 <2.0\"\n  - memory\n");
  ASSERT_EQ(m.requires_.size(), 2u);
  EXPECT_EQ(m.requires_[0].name, "bugs");
  EXPECT_FALSE(m.requires_[0].range.contains({2, 0, 0}));
  EXPECT_EQ(m.requires_[1].name, "memory");
}

TEST(Manifest, MissingRequiredFields) {
  expect_error("version: 1.0.0\nsdk: \">=1.0\"\n", {"'name'", "missing"});
  expect_error("name: hello\nsdk: \">=1.0\"\n", {"'version'", "missing"});
  expect_error("name: hello\nversion: 1.0.0\n", {"'sdk'", "missing"});
  expect_error("name: hello\nversion: 1.0.0\nsdk:\n", {"'sdk'", "empty"});
}

TEST(Manifest, BadFieldValues) {
  expect_error("name: Hello\nversion: 1.0.0\nsdk: \">=1.0\"\n", {"'name'", "Hello"});
  expect_error("name: 9lives\nversion: 1.0.0\nsdk: \">=1.0\"\n", {"'name'"});
  expect_error("name: [a]\nversion: 1.0.0\nsdk: \">=1.0\"\n", {"'name'", "a list"});
  expect_error("name: hello\nversion: 1.0\nsdk: \">=1.0\"\n", {"'version'", "MAJOR.MINOR.PATCH"});
  expect_error("name: hello\nversion: 1.x.0\nsdk: \">=1.0\"\n", {"'version'", "1.x.0"});
  expect_error("name: hello\nversion: 1.0.0\nsdk: \"~>1.0\"\n", {"'sdk'", "~>1.0"});
  expect_error(kMinimal + "library: /etc/passwd\n", {"'library'", "relative"});
  expect_error(kMinimal + "library: ../other/lib.so\n", {"'library'"});
  expect_error(kMinimal + "migrations: ../x\n", {"'migrations'"});
  expect_error(kMinimal + "description: {a: 1}\n", {"'description'", "a map"});
}

TEST(Manifest, UnknownTopLevelFieldIsAnError) {
  expect_error(kMinimal + "descripton: typo\n", {"'descripton'", "unknown field"});
}

TEST(Manifest, BadRequires) {
  expect_error(kMinimal + "requires: bugs\n", {"'requires'", "a map or a list"});
  expect_error(kMinimal + "requires: {Bugs: \">=1\"}\n", {"'requires'", "Bugs"});
  expect_error(kMinimal + "requires: {bugs: \"soon\"}\n", {"'requires.bugs'", "soon"});
  expect_error(kMinimal + "requires: {hello: \">=1\"}\n", {"'requires'", "itself"});
  expect_error(kMinimal + "requires: [bugs, bugs]\n", {"'requires[1]'", "twice"});
  expect_error(kMinimal + "requires: [[bugs]]\n", {"'requires[0]'"});
}

TEST(Manifest, BadConfig) {
  expect_error(kMinimal + "config: [a]\n", {"'config'", "a map"});
  expect_error(kMinimal + "config: {x: string}\n", {"'config.x'", "expected a map"});
  expect_error(kMinimal + "config: {x: {default: 1}}\n", {"'config.x.type'", "missing"});
  expect_error(kMinimal + "config: {x: {type: number, default: 1}}\n",
               {"'config.x.type'", "number"});
  expect_error(kMinimal + "config: {x: {type: int, default: abc}}\n",
               {"'config.x.default'", "abc", "expected int"});
  expect_error(kMinimal + "config: {x: {type: int}}\n", {"'config.x.default'", "required"});
  expect_error(kMinimal + "config: {x: {type: bool, default: maybe}}\n", {"'config.x.default'"});
  expect_error(kMinimal + "config: {x: {type: string, env: lower}}\n", {"'config.x.env'", "lower"});
  expect_error(kMinimal + "config: {x: {type: string, secret: perhaps}}\n",
               {"'config.x.secret'", "perhaps"});
  expect_error(kMinimal + "config: {x: {type: string, dfault: a}}\n",
               {"'config.x.dfault'", "unknown field"});
  expect_error(kMinimal + "config: {Bad-Key: {type: string}}\n", {"'config.Bad-Key'"});
  expect_error(kMinimal + "config: {a: {type: string, env: X}, b: {type: string, env: X}}\n",
               {"'config.b.env'", "two keys"});
}

TEST(Manifest, NotYamlOrNotAMap) {
  expect_error("name: [unclosed\n", {"invalid YAML", "line"});
  expect_error("- a\n- b\n", {"expected a map"});
  expect_error("", {"expected a map"});
}

TEST(Manifest, LoadFromDisk) {
  test::TempDir dir;
  test::write_file(dir.file("plugin.yaml"), kMinimal);
  Manifest m = load_manifest(dir.path());
  EXPECT_EQ(m.name, "hello");
  EXPECT_EQ(m.file, dir.file("plugin.yaml"));
  EXPECT_EQ(m.dir, dir.path());
  try {
    load_manifest(dir.file("missing"));
    ADD_FAILURE() << "no error for a missing manifest";
  } catch (const ManifestError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos);
  }
}

TEST(VersionRangeTest, Operators) {
  auto r = VersionRange::parse(">=1.0 <2.0");
  EXPECT_TRUE(r.contains({1, 0, 0}));
  EXPECT_TRUE(r.contains({1, 9, 9}));
  EXPECT_FALSE(r.contains({2, 0, 0}));
  EXPECT_FALSE(r.contains({0, 9, 0}));

  auto gt = VersionRange::parse(">1.2");
  EXPECT_FALSE(gt.contains({1, 2, 0}));
  EXPECT_TRUE(gt.contains({1, 2, 1}));
  auto le = VersionRange::parse("<=1.2");
  EXPECT_TRUE(le.contains({1, 2, 0}));
  EXPECT_FALSE(le.contains({1, 2, 1}));

  EXPECT_TRUE(VersionRange::parse("=1.2.3").contains({1, 2, 3}));
  EXPECT_FALSE(VersionRange::parse("=1.2.3").contains({1, 2, 4}));
  EXPECT_TRUE(VersionRange::parse("1.2").contains({1, 2, 0}));
  EXPECT_FALSE(VersionRange::parse("1.2").contains({1, 3, 0}));
  EXPECT_TRUE(VersionRange::parse(">= 1.0  < 2").contains({1, 5, 0}));
  EXPECT_TRUE(VersionRange::parse("*").contains({99, 0, 0}));
  EXPECT_TRUE(VersionRange::parse("").contains({0, 0, 0}));
  EXPECT_TRUE(VersionRange().contains({3, 1, 4}));
}

TEST(VersionRangeTest, Malformed) {
  for (const char* bad : {"~1.0", ">=", ">=1.0.0.0", ">=a", "1..2", "<-1", "1.0 || 2.0"}) {
    EXPECT_THROW(VersionRange::parse(bad), ManifestError) << bad;
  }
}

TEST(VersionTest, Parse) {
  EXPECT_TRUE(Version::parse_full("0.10.200").has_value());
  EXPECT_EQ(Version::parse_full("0.10.200")->str(), "0.10.200");
  EXPECT_FALSE(Version::parse_full("1.0").has_value());
  EXPECT_FALSE(Version::parse_full("1.0.0-rc1").has_value());
  EXPECT_FALSE(Version::parse_full("v1.0.0").has_value());
  EXPECT_FALSE(Version::parse_full("").has_value());
  EXPECT_TRUE(Version::parse_partial("2").has_value());
  EXPECT_LT(*Version::parse_partial("1.9"), *Version::parse_partial("1.10"));
}

}  // namespace
}  // namespace jarvis::host
