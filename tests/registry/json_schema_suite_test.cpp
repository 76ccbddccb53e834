// tests/registry/json_schema_suite_test.cpp — jarvis::validate_json against the official JSON
// Schema test suite (Debian package `json-schema-test-suite`, installed by
// scripts/install-deps.sh). Every case of the draft 7 files of the supported keywords is run; the
// few groups whose schemas use an unsupported keyword are listed below with the reason, and the
// test checks that check_json_schema() really refuses them (so nothing is skipped silently). The
// test fails when the suite is missing.
//
// Why draft 7: Debian 12's package (2.0.0) ships drafts 3, 4, 6 and 7 only. Draft 7 is the newest;
// its semantics of the supported keywords equal draft 2020-12's, except the array form of `items`,
// which 2020-12 calls `prefixItems` (both are supported).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "jarvis/json_schema.h"

namespace {

namespace fs = std::filesystem;

fs::path suite_dir() {
  if (const char* d = std::getenv("JSON_SCHEMA_TEST_SUITE_DIR")) return d;
  return "/usr/share/json-schema-test-suite/tests/draft7";  // Debian's fixed path
}

// The suite files of the supported keywords (optional/zeroTerminatedFloats: 1.0 is an integer).
const std::vector<std::string> kFiles = {"type",
                                         "enum",
                                         "minimum",
                                         "maximum",
                                         "exclusiveMinimum",
                                         "exclusiveMaximum",
                                         "minLength",
                                         "maxLength",
                                         "items",
                                         "minItems",
                                         "maxItems",
                                         "properties",
                                         "required",
                                         "additionalProperties",
                                         "optional/zeroTerminatedFloats"};

// Groups (file, description) not run, with the reason. Each must exist in its file and its schema
// must be refused by check_json_schema() with the keyword named.
struct Excluded {
  std::string reason;
  std::string keyword;  // the unsupported keyword the refusal names
};
const std::map<std::pair<std::string, std::string>, Excluded> kExcluded = {
    {{"properties", "properties, patternProperties, additionalProperties interaction"},
     {"patternProperties is not supported", "patternProperties"}},
    {{"additionalProperties", "additionalProperties being false does not allow other properties"},
     {"patternProperties is not supported", "patternProperties"}},
    {{"additionalProperties", "non-ASCII pattern with additionalProperties"},
     {"patternProperties is not supported", "patternProperties"}},
};

jarvis::Json load(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  return jarvis::Json::parse(in);
}

class JsonSchemaSuite : public testing::TestWithParam<std::string> {};

TEST(JsonSchemaSuiteInstalled, SuiteDirectoryExists) {
  ASSERT_TRUE(fs::is_directory(suite_dir()))
      << suite_dir() << " is missing: install the Debian package json-schema-test-suite "
      << "(scripts/install-deps.sh)";
}

TEST_P(JsonSchemaSuite, EveryCasePasses) {
  const std::string file = GetParam();
  fs::path path = suite_dir() / (file + ".json");
  ASSERT_TRUE(fs::exists(path)) << path << " is missing (package json-schema-test-suite)";
  jarvis::Json groups = load(path);
  ASSERT_TRUE(groups.is_array()) << path;
  std::set<std::string> excluded_seen;
  int run = 0;
  for (const auto& g : groups) {
    std::string desc = g["description"];
    const jarvis::Json& schema = g["schema"];
    auto ex = kExcluded.find({file, desc});
    if (ex != kExcluded.end()) {
      excluded_seen.insert(desc);
      auto refused = jarvis::check_json_schema(schema);
      ASSERT_TRUE(refused) << file << " / " << desc << ": listed as unsupported but accepted";
      EXPECT_TRUE(refused->in_schema);
      EXPECT_NE(refused->message.find(ex->second.keyword), std::string::npos)
          << file << " / " << desc << ": " << jarvis::to_string(*refused);
      continue;
    }
    auto bad_schema = jarvis::check_json_schema(schema);
    ASSERT_FALSE(bad_schema) << file << " / " << desc
                             << ": schema refused: " << jarvis::to_string(*bad_schema);
    for (const auto& t : g["tests"]) {
      bool valid = t["valid"];
      auto err = jarvis::validate_json(schema, t["data"]);
      EXPECT_EQ(!err, valid) << file << " / " << desc << " / "
                             << t["description"].get<std::string>() << "\n  schema "
                             << schema.dump() << "\n  data " << t["data"].dump()
                             << (err ? "\n  error " + jarvis::to_string(*err) : std::string());
      if (err) {
        EXPECT_FALSE(err->in_schema) << file << " / " << desc;
      }
      ++run;
    }
  }
  for (const auto& [key, why] : kExcluded) {
    if (key.first == file) {
      EXPECT_TRUE(excluded_seen.count(key.second))
          << "exclusion '" << key.second << "' (" << why.reason << ") no longer in " << file;
    }
  }
  EXPECT_GT(run, 0) << file;
  std::cout << "[ suite    ] " << file << ": " << run << " cases\n";
}

INSTANTIATE_TEST_SUITE_P(Draft7, JsonSchemaSuite, testing::ValuesIn(kFiles),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '/') c = '_';
                           }
                           return n;
                         });

}  // namespace
