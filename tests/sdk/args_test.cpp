// Tests of jarvis::Args, the command-line parser shared by host and plugin commands.
#include <gtest/gtest.h>

#include "jarvis/commands.h"

namespace {

using jarvis::Args;
using jarvis::UsageError;

/// Parses and expects a UsageError whose message contains `needle`.
void expect_usage_error(const std::vector<std::string>& args, const std::string& needle) {
  try {
    Args::parse(args, {"--json", "--force"}, {"--limit", "--name"});
    ADD_FAILURE() << "no UsageError for " << needle;
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Args, FlagsOptionsAndPositionals) {
  Args a = Args::parse({"first", "--json", "--limit", "10", "second", "--name=a=b"},
                       {"--json", "--force"}, {"--limit", "--name"});
  EXPECT_TRUE(a.flag("--json"));
  EXPECT_FALSE(a.flag("--force"));
  EXPECT_EQ(a.option("--limit"), "10");
  EXPECT_EQ(a.option("--name"), "a=b");  // only the first '=' separates
  EXPECT_TRUE(a.has_option("--limit"));
  EXPECT_FALSE(a.has_option("--other"));
  EXPECT_EQ(a.option("--other", "dflt"), "dflt");
  ASSERT_EQ(a.positionals().size(), 2u);
  EXPECT_EQ(a.positional(0, "A"), "first");
  EXPECT_EQ(a.positional(1, "B"), "second");
}

TEST(Args, DoubleDashEndsOptions) {
  Args a = Args::parse({"--json", "--", "--limit", "-", "--json"}, {"--json"}, {"--limit"});
  EXPECT_TRUE(a.flag("--json"));
  EXPECT_FALSE(a.has_option("--limit"));
  EXPECT_EQ(a.positionals(), (std::vector<std::string>{"--limit", "-", "--json"}));
}

TEST(Args, LoneDashAndEmptyStringArePositionals) {
  Args a = Args::parse({"-", ""}, {}, {});
  EXPECT_EQ(a.positionals(), (std::vector<std::string>{"-", ""}));
}

TEST(Args, OptionValueMayLookLikeAnOption) {
  Args a = Args::parse({"--name", "--json"}, {"--json"}, {"--name"});
  EXPECT_EQ(a.option("--name"), "--json");
  EXPECT_FALSE(a.flag("--json"));
}

TEST(Args, LastOptionWins) {
  Args a = Args::parse({"--limit", "1", "--limit=2"}, {}, {"--limit"});
  EXPECT_EQ(a.option("--limit"), "2");
}

TEST(Args, UsageErrors) {
  expect_usage_error({"--unknown"}, "unknown option --unknown");
  expect_usage_error({"--unknown=3"}, "unknown option --unknown");
  expect_usage_error({"-x"}, "unknown option -x");
  expect_usage_error({"--json=1"}, "flag --json takes no value");
  expect_usage_error({"--limit"}, "option --limit needs a value");
}

TEST(Args, MissingPositionalNamesWhatIsMissing) {
  Args a = Args::parse({"one"}, {}, {});
  try {
    a.positional(1, "NAME");
    ADD_FAILURE() << "no UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("NAME"), std::string::npos) << e.what();
  }
}

}  // namespace
