// chat/tests/agent_bundles_test.cpp — agent bundles: the strict identity.md front-matter parser
// (every accepted form, every error with its file and line), the loader over the compiled-in
// bundles and a real AGENTS_DIR on disk (override, invalid override keeps the shipped bundle,
// folder-name rules, size/UTF-8/NUL caps, missing files, non-files, hidden folders, the bundle
// cap, nothing written), grants, unknown tools and the shipped `main` bundle itself.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "agent/bundles.h"
#include "agent/shipped_bundles.h"
#include "support/support.h"

namespace fs = std::filesystem;
using chat::BundleError;
using chat::BundleSet;
using chat::parse_identity;
using chat::RiskTier;

namespace {

const std::string kMinimal =
    "---\nagent_id: coder\nrisk_tier: low\nmax_actions_per_step: 3\n---\n# Coder\n";

std::string identity(const std::string& id, const std::string& extra = "") {
  return "---\nagent_id: " + id + "\nrisk_tier: low\nmax_actions_per_step: 2\n" + extra +
         "---\nbody of " + id + "\n";
}

/// Writes a bundle folder under `dir`.
void write_bundle(const std::string& dir, const std::string& folder, const std::string& id_md,
                  const std::string& soul = "soul text\n", const std::string& tools = "") {
  fs::create_directories(dir + "/" + folder);
  jarvis::test::write_file(dir + "/" + folder + "/identity.md", id_md);
  jarvis::test::write_file(dir + "/" + folder + "/soul.md", soul);
  if (!tools.empty()) jarvis::test::write_file(dir + "/" + folder + "/tools.md", tools);
}

/// Expects parse_identity(text) to fail at `line` with a message containing `needle`.
void expect_error(const std::string& text, int line, const std::string& needle) {
  try {
    parse_identity(text);
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const BundleError& e) {
    EXPECT_EQ(e.file, "identity.md");
    EXPECT_EQ(e.line, line) << e.what() << "\nfor:\n" << text;
    EXPECT_NE(e.message.find(needle), std::string::npos) << e.what() << "\nwanted: " << needle;
  }
}

/// Every file under `dir` with its size, mtime and content.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    std::string key = e.path().string();
    std::string val = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                      std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_mode);
    if (e.is_regular_file()) {
      val += ':';
      val += jarvis::test::read_file(key);
    }
    out[key] = val;
  }
  return out;
}

}  // namespace

// --- parser -------------------------------------------------------------------------------

TEST(AgentIdentityParser, ReadsEveryAcceptedForm) {
  const std::string text =
      "\xEF\xBB\xBF---\r\n"
      "# a comment line\r\n"
      "agent_id: researcher   # trailing comment\r\n"
      "allowed_tools: [memory.search, 'web.fetch', \"bugs.create\"]\r\n"
      "risk_tier: \"high\"\r\n"
      "max_actions_per_step: 12\r\n"
      "\r\n"
      "allowed_paths:\r\n"
      "  - /srv/notes\r\n"
      "  # comment between items\r\n"
      "  - '/srv/it''s here'\r\n"
      "can_request_privileged_change: true\r\n"
      "---\r\n"
      "\r\n"
      "# Researcher\r\nFinds things.\r\n";
  chat::IdentityDocument doc = parse_identity(text);
  const chat::AgentIdentity& id = doc.identity;
  EXPECT_EQ(id.agent_id, "researcher");
  EXPECT_EQ(id.allowed_tools,
            (std::vector<std::string>{"memory.search", "web.fetch", "bugs.create"}));
  EXPECT_EQ(id.risk_tier, RiskTier::High);
  EXPECT_EQ(id.max_actions_per_step, 12);
  EXPECT_EQ(id.allowed_paths, (std::vector<std::string>{"/srv/notes", "/srv/it's here"}));
  EXPECT_TRUE(id.can_request_privileged_change);
  EXPECT_EQ(doc.body, "# Researcher\r\nFinds things.\r\n");
}

TEST(AgentIdentityParser, DefaultsAndEmptyLists) {
  auto doc = parse_identity(kMinimal);
  EXPECT_EQ(doc.identity.agent_id, "coder");
  EXPECT_EQ(doc.identity.risk_tier, RiskTier::Low);
  EXPECT_EQ(doc.identity.max_actions_per_step, 3);
  EXPECT_TRUE(doc.identity.allowed_tools.empty());
  EXPECT_TRUE(doc.identity.allowed_paths.empty());
  EXPECT_FALSE(doc.identity.can_request_privileged_change);
  EXPECT_EQ(doc.body, "# Coder\n");

  auto empty = parse_identity(
      "---\nagent_id: a\nallowed_tools: []\nallowed_paths: [ ]  # none\nrisk_tier: medium\n"
      "max_actions_per_step: 1\ncan_request_privileged_change: false\n---\n");
  EXPECT_TRUE(empty.identity.allowed_tools.empty());
  EXPECT_TRUE(empty.identity.allowed_paths.empty());
  EXPECT_EQ(empty.identity.risk_tier, RiskTier::Medium);
  EXPECT_EQ(empty.body, "");

  auto block_empty = parse_identity(
      "---\nagent_id: a\nallowed_tools:\nrisk_tier: low\nmax_actions_per_step: 100\n...\nx");
  EXPECT_TRUE(block_empty.identity.allowed_tools.empty());
  EXPECT_EQ(block_empty.identity.max_actions_per_step, 100);
  EXPECT_EQ(block_empty.body, "x");
}

TEST(AgentIdentityParser, ErrorsNameTheLine) {
  const std::string head = "---\nagent_id: a\nrisk_tier: low\nmax_actions_per_step: 1\n";
  expect_error("agent_id: a\n", 1, "must start with a '---'");
  expect_error("", 1, "must start with a '---'");
  expect_error("---\nagent_id: a\n", 1, "not closed");
  expect_error(head + "colour: red\n---\n", 5, "unknown key 'colour'");
  expect_error(head + "agent_id: b\n---\n", 5, "duplicate key 'agent_id'");
  expect_error("---\nagent_id: a\nallowed_tools:\n\t- x\nrisk_tier: low\n---\n", 4, "tabs");
  expect_error("---\nagent_id: a\nrisk_tier: extreme\nmax_actions_per_step: 1\n---\n", 3,
               "risk_tier must be low, medium or high");
  expect_error("---\nagent_id: a\nrisk_tier: Low\nmax_actions_per_step: 1\n---\n", 3,
               "risk_tier must be");
  for (const char* bad : {"0", "101", "8x", "-1", "", "99999", "1.5"}) {
    expect_error(
        std::string("---\nagent_id: a\nrisk_tier: low\nmax_actions_per_step: ") + bad + "\n---\n",
        4, std::string(bad).empty() ? "missing value" : "max_actions_per_step must be");
  }
  expect_error(head + "can_request_privileged_change: yes\n---\n", 5, "true or false");
  expect_error("---\nagent_id: a\nmax_actions_per_step: 1\n---\n", 4,
               "missing required key 'risk_tier'");
  expect_error("---\nrisk_tier: low\nmax_actions_per_step: 1\n---\n", 4,
               "missing required key 'agent_id'");
  expect_error(head + "allowed_tools: memory.search\n---\n", 5, "takes a list");
  expect_error("---\nagent_id: [a]\nrisk_tier: low\nmax_actions_per_step: 1\n---\n", 2,
               "takes a single value");
  expect_error(head + "allowed_tools: [a, b\n---\n", 5, "must close with ']'");
  expect_error(head + "allowed_tools: [a, [b]]\n---\n", 5, "nested");
  expect_error(head + "allowed_tools: [a,, b]\n---\n", 5, "empty list item");
  expect_error(head + "allowed_tools: [a] x\n---\n", 5, "after ']'");
  expect_error(head + "allowed_tools:\n  - a.b\n  - rm -rf\n---\n", 7, "not a valid tool name");
  expect_error(head + "allowed_tools:\n  - a.b\n  - a.b\n---\n", 7, "listed twice");
  expect_error(head + "allowed_tools: [a.b, a.b]\n---\n", 5, "listed twice");
  expect_error(head + "allowed_paths: [relative/dir]\n---\n", 5, "absolute path");
  expect_error(head + "allowed_paths: [/srv/../etc]\n---\n", 5, "absolute path");
  expect_error("---\nagent_id: 'a\nrisk_tier: low\n---\n", 2, "unterminated");
  expect_error("---\nagent_id: &x a\nrisk_tier: low\n---\n", 2, "unsupported YAML syntax");
  expect_error("---\nagent_id: a\n- x\n---\n", 3, "needs a list key");
  expect_error("---\nagent_id: a\n  risk_tier: low\n---\n", 3, "unexpected indented line");
  expect_error("---\nagent_id: Main!\nrisk_tier: low\nmax_actions_per_step: 1\n---\n", 2,
               "not a valid id");
  expect_error("---\nagent_id:a\n---\n", 2, "space after ':'");
  expect_error("---\njust text\n---\n", 2, "expected 'key: value'");
  expect_error("---\nagent_id: a: b\n---\n", 2, "unexpected ':'");
  expect_error("---\nagent_id: \"a\\q\"\n---\n", 2, "unsupported escape");
  expect_error("---\nagent_id: \"a\" b\n---\n", 2, "after a quoted value");
}

TEST(AgentIdentityParser, ErrorTextNamesFileAndLine) {
  try {
    parse_identity("---\nagent_id: a\nbogus: 1\n---\n", "other.md");
    FAIL();
  } catch (const BundleError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("other.md:3: unknown key 'bogus'", 0), 0u) << e.what();
  }
}

TEST(AgentIdentityParser, IdAndToolNameCharsets) {
  EXPECT_TRUE(chat::valid_agent_id("main"));
  EXPECT_TRUE(chat::valid_agent_id("a"));
  EXPECT_TRUE(chat::valid_agent_id("0-x_y"));
  EXPECT_TRUE(chat::valid_agent_id(std::string(64, 'a')));
  EXPECT_FALSE(chat::valid_agent_id(std::string(65, 'a')));
  EXPECT_FALSE(chat::valid_agent_id(""));
  EXPECT_FALSE(chat::valid_agent_id("-x"));
  EXPECT_FALSE(chat::valid_agent_id("_x"));
  EXPECT_FALSE(chat::valid_agent_id("Main"));
  EXPECT_FALSE(chat::valid_agent_id("a/b"));
  EXPECT_FALSE(chat::valid_agent_id(".."));
  EXPECT_FALSE(chat::valid_agent_id("a b"));
  EXPECT_TRUE(chat::valid_tool_name("memory.search"));
  EXPECT_TRUE(chat::valid_tool_name("Bugs_create-2"));
  EXPECT_FALSE(chat::valid_tool_name(".x"));
  EXPECT_FALSE(chat::valid_tool_name("a b"));
  EXPECT_FALSE(chat::valid_tool_name("a*"));
  EXPECT_FALSE(chat::valid_tool_name(std::string(129, 'a')));
}

// --- the shipped bundles -----------------------------------------------------------------------

TEST(AgentBundles, ShippedMainIsValidAndHonest) {
  BundleSet set = BundleSet::load({});
  EXPECT_TRUE(set.problems().empty()) << set.problems()[0].describe();
  const chat::AgentBundle* main = set.find("main");
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->origin, "shipped");
  EXPECT_EQ(main->location, "shipped:main");
  EXPECT_FALSE(main->overrides_shipped);
  EXPECT_EQ(main->principal(), "agent:main");
  EXPECT_EQ(main->identity.risk_tier, RiskTier::Medium);
  EXPECT_EQ(main->identity.max_actions_per_step, 8);
  EXPECT_FALSE(main->identity.can_request_privileged_change);
  EXPECT_TRUE(main->identity.allowed_paths.empty());
  EXPECT_EQ(main->identity.allowed_tools,
            (std::vector<std::string>{"memory.search", "memory.remember", "memory.forget"}));
  EXPECT_FALSE(main->soul.empty());
  EXPECT_FALSE(main->tools_doc.empty());
  const std::string text = main->system_text();
  // It may say it is an AI — and is told to, when asked (inventory §11 item 34).
  EXPECT_NE(text.find("You are an AI assistant"), std::string::npos);
  EXPECT_EQ(text.find("never say you are an AI"), std::string::npos);
  EXPECT_EQ(text.find("not an AI"), std::string::npos);
  // No host details: no absolute paths in the persona.
  for (const char* p : {"/home/", "/tmp", "/etc/", "/usr/", "/var/", "/opt/", "/srv/"})
    EXPECT_EQ(text.find(p), std::string::npos) << p;
  // Every shipped file is one of the three bundle files.
  for (const auto& [path, content] : chat::shipped_bundle_files()) {
    std::string name = path.substr(path.find('/') + 1);
    EXPECT_TRUE(name == "identity.md" || name == "soul.md" || name == "tools.md") << path;
    EXPECT_LE(content.size(), chat::kMaxBundleFileBytes) << path;
  }
}

TEST(AgentBundles, ShippedSetProblemsAreReportedNotFatal) {
  chat::BundleSources src;
  src.shipped = std::vector<std::pair<std::string, std::string>>{
      {"alpha/identity.md", identity("alpha")},  // no soul.md
      {"beta/identity.md", identity("beta")},   {"beta/soul.md", "beta soul"},
      {"beta/notes/deep.md", "ignored"},        {"README.md", "ignored"},
      {"Bad/identity.md", identity("bad")},     {"Bad/soul.md", "x"}};
  BundleSet set = BundleSet::load(src);
  EXPECT_EQ(set.ids(), (std::vector<std::string>{"beta"}));
  ASSERT_EQ(set.problems().size(), 2u);
  EXPECT_EQ(set.problems()[0].describe(),
            "shipped bundle 'Bad': the folder name is not a valid agent id");
  EXPECT_EQ(set.problems()[1].describe(), "shipped bundle 'alpha': soul.md: is missing");
  EXPECT_EQ(set.find("beta")->system_text(), "body of beta\n\nbeta soul");
}

// --- AGENTS_DIR --------------------------------------------------------------------------------

class AgentsDir : public ::testing::Test {
 protected:
  jarvis::test::TempDir tmp_;
  std::string dir() const { return tmp_.path(); }
  BundleSet load() { return BundleSet::load({.agents_dir = dir()}); }
};

TEST_F(AgentsDir, AddsAndOverridesBundles) {
  write_bundle(dir(), "researcher",
               identity("researcher", "allowed_tools: [memory.search, web.fetch]\n"), "curious\n",
               "use web.fetch\n");
  write_bundle(dir(), "main", identity("main"), "operator soul\n");
  BundleSet set = load();
  EXPECT_TRUE(set.problems().empty());
  EXPECT_EQ(set.ids(), (std::vector<std::string>{"main", "researcher"}));
  const auto* main = set.find("main");
  EXPECT_EQ(main->origin, "agents_dir");
  EXPECT_TRUE(main->overrides_shipped);
  EXPECT_EQ(main->soul, "operator soul\n");
  EXPECT_EQ(main->location, dir() + "/main");
  const auto* r = set.find("researcher");
  EXPECT_FALSE(r->overrides_shipped);
  EXPECT_EQ(r->tools_doc, "use web.fetch\n");
  EXPECT_EQ(r->system_text(), "body of researcher\n\ncurious\n\nuse web.fetch");
}

TEST_F(AgentsDir, AnInvalidOverrideKeepsTheShippedBundle) {
  write_bundle(dir(), "main", "---\nagent_id: main\nrisk_tier: reckless\n---\n");
  BundleSet set = load();
  const auto* main = set.find("main");
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->origin, "shipped");
  ASSERT_EQ(set.problems().size(), 1u);
  const auto& p = set.problems()[0];
  EXPECT_EQ(p.id, "main");
  EXPECT_EQ(p.origin, "agents_dir");
  EXPECT_EQ(p.file, "identity.md");
  EXPECT_EQ(p.line, 3);
  EXPECT_TRUE(p.shipped_kept);
  EXPECT_EQ(p.describe(),
            "agents_dir bundle 'main': identity.md:3: risk_tier must be low, medium or high, not "
            "'reckless' (the shipped bundle stays in effect)");
  EXPECT_EQ(set.problem("main"), &p);
}

TEST_F(AgentsDir, EveryInvalidBundleIsSkippedWithItsReason) {
  write_bundle(dir(), "mismatch",
               "---\nagent_id: other\nrisk_tier: low\nmax_actions_per_step: 1\n---\n");
  write_bundle(dir(), "Bad Name", identity("bad"));
  fs::create_directories(dir() + "/nosoul");
  jarvis::test::write_file(dir() + "/nosoul/identity.md", identity("nosoul"));
  write_bundle(dir(), "big", identity("big"), std::string(chat::kMaxBundleFileBytes + 1, 'x'));
  write_bundle(dir(), "latin1", identity("latin1"), "caf\xE9\n");
  write_bundle(dir(), "nul", identity("nul"), std::string("a\0b", 3));
  write_bundle(dir(), "dirtools", identity("dirtools"));
  fs::create_directories(dir() + "/dirtools/tools.md");
  write_bundle(dir(), "ok", identity("ok"));
  write_bundle(dir(), ".hidden", identity("hidden"));
  jarvis::test::write_file(dir() + "/README.md", "not a bundle");

  BundleSet set = load();
  EXPECT_EQ(set.ids(), (std::vector<std::string>{"main", "ok"}));
  std::map<std::string, std::string> got;
  for (const auto& p : set.problems()) got[p.id] = p.describe();
  EXPECT_EQ(got.size(), 7u);
  EXPECT_EQ(got["mismatch"],
            "agents_dir bundle 'mismatch': identity.md:2: agent_id 'other' does not match the "
            "folder name 'mismatch'");
  EXPECT_EQ(
      got["Bad Name"].rfind("agents_dir bundle 'Bad Name': the folder name is not a valid", 0), 0u)
      << got["Bad Name"];
  EXPECT_EQ(got["nosoul"], "agents_dir bundle 'nosoul': soul.md: is missing");
  EXPECT_EQ(got["big"], "agents_dir bundle 'big': soul.md: larger than 64 KiB");
  EXPECT_EQ(got["latin1"], "agents_dir bundle 'latin1': soul.md: is not valid UTF-8");
  EXPECT_EQ(got["nul"], "agents_dir bundle 'nul': soul.md: contains a NUL byte");
  EXPECT_EQ(got["dirtools"], "agents_dir bundle 'dirtools': tools.md: is not a regular file");
  for (const auto& p : set.problems()) EXPECT_FALSE(p.shipped_kept);
}

TEST_F(AgentsDir, AMissingFolderIsAProblemNotAFailure) {
  BundleSet set = BundleSet::load({.agents_dir = dir() + "/absent"});
  EXPECT_EQ(set.ids(), (std::vector<std::string>{"main"}));
  ASSERT_EQ(set.problems().size(), 1u);
  EXPECT_EQ(set.problems()[0].id, "");
  EXPECT_EQ(set.problems()[0].describe().rfind("AGENTS_DIR: AGENTS_DIR ", 0), 0u)
      << set.problems()[0].describe();
  jarvis::test::write_file(dir() + "/file", "x");
  BundleSet f = BundleSet::load({.agents_dir = dir() + "/file"});
  EXPECT_EQ(f.problems()[0].message, "AGENTS_DIR is not a directory");
}

TEST_F(AgentsDir, OnlyTheFirstHundredFoldersAreLoaded) {
  for (std::size_t i = 0; i < chat::kMaxBundles + 2; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "a%03zu", i);
    write_bundle(dir(), name, identity(name));
  }
  BundleSet set = load();
  EXPECT_EQ(set.agents().size(), chat::kMaxBundles + 1);  // + the shipped main
  EXPECT_NE(set.find("a099"), nullptr);
  EXPECT_EQ(set.find("a100"), nullptr);
  ASSERT_EQ(set.problems().size(), 1u);
  EXPECT_NE(set.problems()[0].message.find("only the first 100"), std::string::npos);
}

TEST_F(AgentsDir, LoadingWritesNothing) {
  write_bundle(dir(), "main", identity("main"), "soul\n", "tools\n");
  write_bundle(dir(), "broken", "---\n");
  auto before = snapshot(dir());
  BundleSet set = load();
  BundleSet again = load();
  EXPECT_EQ(snapshot(dir()), before);
  EXPECT_EQ(set.ids(), again.ids());
}

// --- grants and tools --------------------------------------------------------------------------

TEST_F(AgentsDir, GrantsAndUnknownTools) {
  write_bundle(dir(), "researcher",
               identity("researcher", "allowed_tools: [memory.search, web.fetch]\n"));
  write_bundle(dir(), "quiet", identity("quiet"));
  BundleSet set = load();
  auto grants = set.grants();
  ASSERT_EQ(grants.size(), 2u);  // quiet has no tools
  EXPECT_EQ(grants[0].agent_id, "main");
  EXPECT_EQ(grants[0].principal, "agent:main");
  EXPECT_EQ(grants[0].tools,
            (std::vector<std::string>{"memory.search", "memory.remember", "memory.forget"}));
  EXPECT_EQ(grants[1].principal, "agent:researcher");
  EXPECT_EQ(grants[1].tools, (std::vector<std::string>{"memory.search", "web.fetch"}));

  std::vector<jarvis::ToolInfo> registered{
      {"memory.search", "Search memory", {{"type", "object"}}, false, "memory"},
      {"memory.forget", "Forget", {{"type", "object"}}, false, "memory"},
      {"bugs.create", "File a bug", {{"type", "object"}}, false, "bugs"}};
  auto unknown = set.unknown_tools(registered);
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].agent_id, "main");
  EXPECT_EQ(unknown[0].tool, "memory.remember");
  EXPECT_EQ(unknown[1].agent_id, "researcher");
  EXPECT_EQ(unknown[1].tool, "web.fetch");

  auto defs = chat::tool_defs_for(*set.find("main"), registered);
  ASSERT_EQ(defs.size(), 2u);
  EXPECT_EQ(defs[0].name, "memory.search");
  EXPECT_EQ(defs[0].description, "Search memory");
  EXPECT_EQ(defs[1].name, "memory.forget");
  EXPECT_TRUE(chat::tool_defs_for(*set.find("quiet"), registered).empty());
}
