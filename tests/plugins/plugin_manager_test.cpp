// tests/plugins/plugin_manager_test.cpp — the plugin manager against real fixture plugins
// (tests/fixtures/plugins/): every refusal and failure with its exact state, code and reason,
// lifecycle order, registrations removed, required/disabled handling, and unload without crashes.
//
// Several fixtures abort() in a static constructor: if the manager ever mapped them, this test
// process would die — so "refused and nothing ran" is proven by the test finishing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "plugin_fixture_env.h"
#include "plugins/elf_exports.h"
#include "plugins/plugin_manager.h"

namespace jarvis::host {
namespace plugin_manager_test {
namespace {

namespace fs = std::filesystem;
using testing::FixtureDir;
using testing::Registries;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

/// Discovers and loads `dirs` with `options`; returns the manager (already loaded).
struct Loaded {
  Registries reg;
  std::unique_ptr<PluginManager> pm;
  PluginOutcome outcome;

  explicit Loaded(std::vector<std::string> dirs, PluginManagerOptions options = {},
                  std::function<void(ConfigStore&)> configure = {}) {
    if (configure) configure(reg.config);
    options.plugin_dirs = std::move(dirs);
    pm = std::make_unique<PluginManager>(reg.services(), options);
    pm->discover();
    outcome = pm->load_all();
  }
  PluginInfo info(const std::string& name) {
    auto i = pm->info(name);
    EXPECT_TRUE(i.has_value()) << name << " not listed";
    return i.value_or(PluginInfo{});
  }
  double state_gauge(const std::string& plugin, PluginState s) {
    return reg.metrics.value(PluginManager::kStateMetric,
                             {{"plugin", plugin}, {"state", to_string(s)}});
  }
  double errors(const std::string& plugin) {
    return reg.metrics.value(PluginManager::kErrorsMetric, {{"plugin", plugin}});
  }
};

/// Loads exactly one fixture and returns its record.
PluginInfo load_one(const std::string& fixture, PluginOutcome* outcome = nullptr) {
  FixtureDir dir({fixture});
  Loaded l({dir.path()});
  if (outcome) *outcome = l.outcome;
  return l.info(fixture);
}

std::string fixture_lib(const std::string& name) {
  return std::string(JARVIS_TEST_PLUGIN_DIR) + "/" + name + "/lib" + name + ".so";
}

jarvis::Response call_route(Router& routes, const std::string& method, const std::string& path) {
  auto m = routes.match(method, path);
  EXPECT_EQ(m.kind, RouteMatch::Kind::Found) << path;
  if (m.kind != RouteMatch::Kind::Found) return {};
  jarvis::Request req;
  req.method = method;
  req.path = path;
  return m.route->spec.handler(req);
}

TEST(PluginManager, GoodPluginFullLifecycle) {
  FixtureDir dir({"good"});
  test::TempDir tmp;
  const std::string trace = tmp.file("trace");
  Loaded l({dir.path()}, {}, [&](ConfigStore& c) {
    c.set("GOOD_TRACE_FILE", trace, ConfigSource::Environment, "environment");
    c.set("GOOD_GREETING", "howdy", ConfigSource::DotEnv, "/srv/.env");
    c.set("GOOD_API_KEY", "top-secret", ConfigSource::Environment, "environment");
  });
  ASSERT_FALSE(l.outcome.fatal);
  EXPECT_TRUE(l.outcome.errors.empty());
  PluginInfo i = l.info("good");
  EXPECT_EQ(i.state, PluginState::Loaded) << i.reason;
  EXPECT_EQ(i.version, "1.2.3");
  EXPECT_EQ(i.sdk_range, ">=1.0 <2.0");
  EXPECT_EQ(i.dir, dir.file("good"));
  EXPECT_EQ(i.library, dir.file("good") + "/libgood.so");
  EXPECT_TRUE(contains(i.description, "well-behaved"));
  ASSERT_EQ(i.config.size(), 7u);
  EXPECT_EQ(i.config[1].key, "greeting");
  EXPECT_EQ(i.config[1].value, "howdy");
  EXPECT_EQ(i.config[6].key, "api_key");
  EXPECT_EQ(i.config[6].value, "[REDACTED]");
  EXPECT_TRUE(l.pm->available("good"));
  EXPECT_FALSE(l.pm->available("does_not_exist"));

  // Everything good registered is owned by it.
  EXPECT_EQ(l.reg.owned("good"),
            (std::vector<std::string>{"route GET /api/v1/good/ping", "tool good.echo",
                                      "task good.work", "command good ping"}));
  auto res = call_route(l.reg.routes, "GET", "/api/v1/good/ping");
  EXPECT_EQ(res.status, 200);
  auto body = jarvis::Json::parse(res.body);
  EXPECT_EQ(body["calls"], 1);
  EXPECT_EQ(body["greeting"], "howdy");  // config reached the plugin
  {
    auto cmd = l.reg.commands.find("good", "ping");
    ASSERT_TRUE(cmd);
    std::ostringstream out, err;
    std::istringstream in;
    jarvis::CommandContext ctx{{}, out, err, in};
    EXPECT_EQ(cmd->spec.handler(ctx), 0);
    EXPECT_EQ(out.str(), "pong 2\n");
  }

  EXPECT_TRUE(l.pm->migration_sources().empty());  // good has no migrations folder
  l.pm->mark_all_migrated();
  EXPECT_EQ(l.info("good").state, PluginState::Migrated);
  auto started = l.pm->start_all();
  EXPECT_FALSE(started.fatal);
  EXPECT_EQ(l.info("good").state, PluginState::Started);
  EXPECT_EQ(l.state_gauge("good", PluginState::Started), 1);
  EXPECT_EQ(l.state_gauge("good", PluginState::Loaded), 0);

  auto health = l.pm->health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0].health.status, jarvis::Health::Status::Healthy);
  EXPECT_EQ(health[0].health.detail, "calls=2");

  l.pm->stop_all();
  EXPECT_EQ(l.info("good").state, PluginState::Stopped);
  EXPECT_EQ(l.state_gauge("good", PluginState::Stopped), 1);
  EXPECT_TRUE(l.reg.owned("good").empty());
  EXPECT_FALSE(l.pm->available("good"));
  EXPECT_EQ(test::read_file(trace), "setup\nstart\nstop\ndestroy\n");
  l.pm->stop_all();  // idempotent
  EXPECT_EQ(test::read_file(trace), "setup\nstart\nstop\ndestroy\n");
  EXPECT_EQ(l.errors("good"), 0);
}

TEST(PluginManager, DestructorStopsAndUnloads) {
  FixtureDir dir({"good"});
  test::TempDir tmp;
  const std::string trace = tmp.file("trace");
  Registries reg;
  reg.config.set("GOOD_TRACE_FILE", trace, ConfigSource::Environment, "environment");
  {
    PluginManager pm(reg.services(), {.plugin_dirs = {dir.path()}});
    pm.discover();
    ASSERT_FALSE(pm.load_all().fatal);
    pm.mark_all_migrated();
    pm.start_all();
  }
  EXPECT_EQ(test::read_file(trace), "setup\nstart\nstop\ndestroy\n");
  EXPECT_TRUE(reg.owned("good").empty());
}

TEST(PluginManager, LoadedButNotStartedIsDestroyedWithoutStop) {
  // A CLI process loads plugins (setup) but never starts them; stop() pairs with start().
  FixtureDir dir({"good"});
  test::TempDir tmp;
  const std::string trace = tmp.file("trace");
  Loaded l({dir.path()}, {}, [&](ConfigStore& c) {
    c.set("GOOD_TRACE_FILE", trace, ConfigSource::Environment, "environment");
  });
  l.pm->stop_all();
  EXPECT_EQ(test::read_file(trace), "setup\ndestroy\n");
  EXPECT_EQ(l.info("good").state, PluginState::Stopped);
}

TEST(PluginManager, ReloadAfterUnload) {
  // With -fno-gnu-unique the library is really unmapped; loading it again must work.
  FixtureDir dir({"good"});
  for (int round = 0; round < 2; ++round) {
    Loaded l({dir.path()});
    EXPECT_EQ(l.info("good").state, PluginState::Loaded);
    auto res = call_route(l.reg.routes, "GET", "/api/v1/good/ping");
    EXPECT_EQ(jarvis::Json::parse(res.body)["calls"], 1);  // fresh static state each time
  }
}

TEST(PluginManager, BadAbiRefusedBeforeAnyCodeRuns) {
  PluginInfo i = load_one("bad_abi");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "abi_incompatible");
  EXPECT_TRUE(contains(i.reason, "plugin 'bad_abi'")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "libbad_abi.so")) << i.reason;
  EXPECT_TRUE(contains(i.reason, std::string("expected ") + JARVIS_ABI_TAG)) << i.reason;
  EXPECT_TRUE(contains(i.reason, "found itanium_libcxx")) << i.reason;
  EXPECT_EQ(i.reason.find('\n'), std::string::npos);  // one line
}

TEST(PluginManager, NewerSdkMinorRefused) {
  PluginInfo i = load_one("newer_sdk");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "sdk_incompatible");
  EXPECT_TRUE(contains(i.reason, "built against SDK 1.9")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "host's SDK 1.1")) << i.reason;
}

TEST(PluginManager, SdkMinorOlderThanTheFloorRefused) {
  PluginInfo i = load_one("sdk_1_0");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "sdk_incompatible");
  EXPECT_TRUE(contains(i.reason, "built against SDK 1.0")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "older than the oldest SDK 1.1")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "rebuild")) << i.reason;
}

TEST(PluginManager, OldSdkRangeRefused) {
  PluginInfo i = load_one("old_sdk");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "sdk_incompatible");
  EXPECT_TRUE(contains(i.reason, "requires SDK \">=2.0 <3.0\"")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "host provides SDK 1.1")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "old_sdk/plugin.yaml")) << i.reason;
}

TEST(PluginManager, NoEntryPointRefused) {
  PluginInfo i = load_one("no_entry");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "entry_missing");
  EXPECT_TRUE(contains(i.reason, "jarvis_plugin_create")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "libno_entry.so")) << i.reason;
}

TEST(PluginManager, NoMarkerRefused) {
  PluginInfo i = load_one("no_marker");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "abi_marker_missing");
  EXPECT_TRUE(
      contains(i.reason, std::string("expected jarvis_abi__") + JARVIS_ABI_TAG + "__sdk_1_1"))
      << i.reason;
  EXPECT_TRUE(contains(i.reason, "found none")) << i.reason;
}

TEST(PluginManager, CorruptLibraryRefused) {
  PluginInfo i = load_one("corrupt");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "library_corrupt");
  EXPECT_TRUE(contains(i.reason, "libcorrupt.so")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "not an ELF file")) << i.reason;
}

TEST(PluginManager, MalformedManifestRefused) {
  PluginInfo i = load_one("malformed");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "manifest_invalid");
  EXPECT_TRUE(contains(i.reason, "malformed/plugin.yaml")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "'descripton'")) << i.reason;
  EXPECT_TRUE(contains(i.reason, "unknown field")) << i.reason;
}

TEST(PluginManager, MissingLibraryRefused) {
  test::TempDir dir;
  fs::create_directory(dir.file("ghost"));
  test::write_file(dir.file("ghost/plugin.yaml"), "name: ghost\nversion: 1.0.0\nsdk: \">=1.0\"\n");
  Loaded l({dir.path()});
  PluginInfo i = l.info("ghost");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "library_missing");
  EXPECT_TRUE(contains(i.reason, dir.file("ghost/libghost.so"))) << i.reason;
}

TEST(PluginManager, MissingRequirementRefused) {
  PluginInfo i = load_one("needs_missing");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "dependency_missing");
  EXPECT_TRUE(contains(i.reason, "requires 'does_not_exist' >=1.0, which is not installed"))
      << i.reason;
}

TEST(PluginManager, CycleRefusesEveryMember) {
  FixtureDir dir({"cycle_a", "cycle_b", "good"});
  Loaded l({dir.path()});
  PluginInfo a = l.info("cycle_a");
  PluginInfo b = l.info("cycle_b");
  EXPECT_EQ(a.state, PluginState::Refused);
  EXPECT_EQ(a.reason_code, "dependency_cycle");
  EXPECT_TRUE(contains(a.reason, "cycle_a -> cycle_b -> cycle_a")) << a.reason;
  EXPECT_EQ(b.state, PluginState::Refused);
  EXPECT_EQ(b.reason_code, "dependency_cycle");
  EXPECT_TRUE(contains(b.reason, "cycle_b -> cycle_a -> cycle_b")) << b.reason;
  EXPECT_EQ(l.info("good").state, PluginState::Loaded);  // the others are unaffected
  EXPECT_FALSE(l.outcome.fatal);
}

/// A plugin folder `name` whose manifest is `yaml` and whose library is the `trivial` fixture's.
void add_trivial_plugin(const std::string& base, const std::string& name,
                        const std::string& extra) {
  fs::create_directory(base + "/" + name);
  test::write_file(
      base + "/" + name + "/plugin.yaml",
      "name: " + name + "\nversion: 1.0.0\nsdk: \">=1.0 <2.0\"\nlibrary: libtrivial.so\n" + extra);
  fs::create_symlink(fixture_lib("trivial"), base + "/" + name + "/libtrivial.so");
}

TEST(PluginManager, RequirementVersionAndDisabledAndCascade) {
  FixtureDir dir({"good"});
  add_trivial_plugin(dir.path(), "wants_good_two", "requires: {good: \">=2.0\"}\n");
  add_trivial_plugin(dir.path(), "wants_good_one", "requires: {good: \">=1.2 <2.0\"}\n");
  add_trivial_plugin(dir.path(), "wants_wants", "requires: [wants_good_two]\n");
  Loaded l({dir.path()});
  PluginInfo two = l.info("wants_good_two");
  EXPECT_EQ(two.state, PluginState::Refused);
  EXPECT_EQ(two.reason_code, "dependency_version");
  EXPECT_TRUE(contains(two.reason, "requires 'good' >=2.0, found version 1.2.3")) << two.reason;
  PluginInfo cascade = l.info("wants_wants");
  EXPECT_EQ(cascade.state, PluginState::Refused);
  EXPECT_EQ(cascade.reason_code, "dependency_unavailable");
  EXPECT_TRUE(contains(cascade.reason, "which was refused (dependency_version)")) << cascade.reason;
  EXPECT_EQ(l.info("wants_good_one").state, PluginState::Loaded);
  // Dependencies load first, whatever the folder order.
  auto order = l.pm->load_order();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], "good");
  EXPECT_EQ(order[1], "wants_good_one");

  Loaded off({dir.path()}, {.disabled = {"good"}});
  EXPECT_EQ(off.info("good").state, PluginState::Disabled);
  PluginInfo one = off.info("wants_good_one");
  EXPECT_EQ(one.state, PluginState::Refused);
  EXPECT_EQ(one.reason_code, "dependency_unavailable");
  EXPECT_TRUE(contains(one.reason, "which is disabled")) << one.reason;
}

TEST(PluginManager, FactoryThrowsFails) {
  FixtureDir dir({"factory_throws"});
  Loaded l({dir.path()});
  PluginInfo i = l.info("factory_throws");
  EXPECT_EQ(i.state, PluginState::Failed);
  EXPECT_EQ(i.reason_code, "factory_failed");
  EXPECT_TRUE(contains(i.reason, "factory threw: factory_throws: constructor refuses to run"))
      << i.reason;
  EXPECT_EQ(l.errors("factory_throws"), 1);
  EXPECT_FALSE(l.outcome.fatal);
}

TEST(PluginManager, SetupThrowsFailsAndItsRegistrationsAreRemoved) {
  FixtureDir dir({"setup_throws", "good"});
  Loaded l({dir.path()});
  PluginInfo i = l.info("setup_throws");
  EXPECT_EQ(i.state, PluginState::Failed);
  EXPECT_EQ(i.reason_code, "setup_failed");
  EXPECT_TRUE(contains(i.reason, "setup failed: setup_throws: deliberately broken setup"))
      << i.reason;
  EXPECT_TRUE(l.reg.owned("setup_throws").empty());
  EXPECT_EQ(l.reg.routes.match("GET", "/api/v1/setup_throws").kind, RouteMatch::Kind::NotFound);
  EXPECT_EQ(l.errors("setup_throws"), 1);
  EXPECT_EQ(l.state_gauge("setup_throws", PluginState::Failed), 1);
  // The subscription is gone too: emitting reaches no setup_throws handler (and must not crash
  // now that its library is unloaded).
  l.reg.events.emit(Owner{}, jarvis::Event{.type = "test.after_unload"});
  EXPECT_EQ(l.info("good").state, PluginState::Loaded);
  EXPECT_FALSE(l.pm->available("setup_throws"));
}

TEST(PluginManager, DuplicateRouteFailsTheLaterPluginOnly) {
  FixtureDir dir({"dup_route", "good"});
  Loaded l({dir.path()});
  EXPECT_EQ(l.info("good").state, PluginState::Loaded);
  PluginInfo dup = l.info("dup_route");
  EXPECT_EQ(dup.state, PluginState::Failed);
  EXPECT_EQ(dup.reason_code, "setup_failed");
  EXPECT_TRUE(contains(dup.reason, "duplicate_route")) << dup.reason;
  EXPECT_TRUE(contains(dup.reason, "good")) << dup.reason;
  EXPECT_TRUE(l.reg.owned("dup_route").empty());
  EXPECT_EQ(l.reg.owned("good").size(), 4u);
  auto res = call_route(l.reg.routes, "GET", "/api/v1/good/ping");
  EXPECT_EQ(res.status, 200);
}

TEST(PluginManager, StartThrowsFailsAndRouteRemoved) {
  FixtureDir dir({"start_throws"});
  Loaded l({dir.path()});
  EXPECT_EQ(l.info("start_throws").state, PluginState::Loaded);
  EXPECT_EQ(l.reg.owned("start_throws").size(), 1u);
  l.pm->mark_all_migrated();
  auto out = l.pm->start_all();
  EXPECT_FALSE(out.fatal);
  PluginInfo i = l.info("start_throws");
  EXPECT_EQ(i.state, PluginState::Failed);
  EXPECT_EQ(i.reason_code, "start_failed");
  EXPECT_TRUE(contains(i.reason, "start failed: backend_down: start_throws: backend is down"))
      << i.reason;
  EXPECT_TRUE(l.reg.owned("start_throws").empty());
  EXPECT_EQ(l.errors("start_throws"), 1);
}

TEST(PluginManager, HandlerThrowsIsLoadedAndItsExceptionReachesTheCaller) {
  FixtureDir dir({"handler_throws"});
  Loaded l({dir.path()});
  EXPECT_EQ(l.info("handler_throws").state, PluginState::Loaded);
  auto m = l.reg.routes.match("GET", "/api/v1/handler_throws");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  EXPECT_EQ(m.route->owner.name, "handler_throws");  // the HTTP layer counts errors against it
  jarvis::Request req;
  EXPECT_THROW(m.route->spec.handler(req), std::runtime_error);
}

TEST(PluginManager, DisabledPluginRunsNothing) {
  FixtureDir dir({"good"});
  test::TempDir tmp;
  Loaded l({dir.path()}, {.disabled = {"good"}}, [&](ConfigStore& c) {
    c.set("GOOD_TRACE_FILE", tmp.file("trace"), ConfigSource::Environment, "environment");
  });
  PluginInfo i = l.info("good");
  EXPECT_EQ(i.state, PluginState::Disabled);
  EXPECT_EQ(i.reason_code, "disabled");
  EXPECT_FALSE(fs::exists(tmp.file("trace")));
  EXPECT_TRUE(l.reg.owned("good").empty());
  EXPECT_FALSE(l.outcome.fatal);
  EXPECT_EQ(l.state_gauge("good", PluginState::Disabled), 1);
}

TEST(PluginManager, RequiredPluginFailureIsFatal) {
  PluginOutcome out;
  {
    FixtureDir dir({"factory_throws", "good"});
    Loaded l({dir.path()}, {.required = {"factory_throws"}});
    out = l.outcome;
  }
  ASSERT_TRUE(out.fatal);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_TRUE(contains(out.errors[0], "required plugin 'factory_throws' is failed"))
      << out.errors[0];

  FixtureDir dir({"good"});
  Loaded missing({dir.path()}, {.required = {"nowhere"}});
  ASSERT_TRUE(missing.outcome.fatal);
  EXPECT_TRUE(contains(missing.outcome.errors.at(0),
                       "required plugin 'nowhere' was not found in " + dir.path()));

  Loaded disabled({dir.path()}, {.disabled = {"good"}, .required = {"good"}});
  EXPECT_TRUE(disabled.outcome.fatal);

  Loaded fine({dir.path()}, {.required = {"good"}});
  EXPECT_FALSE(fine.outcome.fatal);
  fine.pm->mark_all_migrated();
  EXPECT_FALSE(fine.pm->start_all().fatal);
}

TEST(PluginManager, RequiredPluginStartFailureIsFatal) {
  FixtureDir dir({"start_throws"});
  Loaded l({dir.path()}, {.required = {"start_throws"}});
  ASSERT_FALSE(l.outcome.fatal);
  l.pm->mark_all_migrated();
  auto out = l.pm->start_all();
  ASSERT_TRUE(out.fatal);
  EXPECT_TRUE(contains(out.errors.at(0), "required plugin 'start_throws' is failed"))
      << out.errors[0];
}

TEST(PluginManager, MigrationFailureMarksFailed) {
  FixtureDir dir({"good"});
  Loaded l({dir.path()}, {.required = {"good"}});
  auto out = l.pm->mark_failed("good", "migration 001_init.sql failed: syntax error");
  EXPECT_TRUE(out.fatal);
  PluginInfo i = l.info("good");
  EXPECT_EQ(i.state, PluginState::Failed);
  EXPECT_EQ(i.reason_code, "migration_failed");
  EXPECT_TRUE(l.reg.owned("good").empty());
}

TEST(PluginManager, MigrationSourcesInDependencyOrder) {
  test::TempDir base;
  add_trivial_plugin(base.path(), "aa_needs_zz", "requires: [zz_base]\n");
  add_trivial_plugin(base.path(), "zz_base", "migrations: sql\n");
  add_trivial_plugin(base.path(), "no_migrations", "");
  fs::create_directory(base.file("aa_needs_zz/migrations"));
  fs::create_directory(base.file("zz_base/sql"));
  Loaded l({base.path()});
  auto sources = l.pm->migration_sources();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].component, "zz_base");
  EXPECT_EQ(sources[0].dir, base.file("zz_base/sql"));
  EXPECT_EQ(sources[1].component, "aa_needs_zz");
  EXPECT_EQ(sources[1].dir, base.file("aa_needs_zz/migrations"));
  l.pm->mark_migrated("zz_base");
  EXPECT_EQ(l.info("zz_base").state, PluginState::Migrated);
  EXPECT_EQ(l.info("aa_needs_zz").state, PluginState::Loaded);
  l.pm->mark_all_migrated();
  EXPECT_EQ(l.info("no_migrations").state, PluginState::Migrated);
  EXPECT_FALSE(l.pm->start_all().fatal);
  EXPECT_EQ(l.info("aa_needs_zz").state, PluginState::Started);
}

TEST(PluginManager, InvalidConfigRefusesBeforeCodeRunsAndIsFatal) {
  FixtureDir dir({"good"});
  test::TempDir tmp;
  Loaded l({dir.path()}, {}, [&](ConfigStore& c) {
    c.set("GOOD_TRACE_FILE", tmp.file("trace"), ConfigSource::Environment, "environment");
    c.set("GOOD_MAX_ITEMS", "lots", ConfigSource::DotEnv, "/srv/jarvis/.env");
    c.set("GOOD_API_KEY", "whatever", ConfigSource::Environment, "environment");
  });
  EXPECT_TRUE(l.outcome.fatal);
  ASSERT_EQ(l.outcome.errors.size(), 1u);
  EXPECT_TRUE(contains(l.outcome.errors[0], "config key 'max_items' (env GOOD_MAX_ITEMS)"));
  EXPECT_TRUE(contains(l.outcome.errors[0], ".env file /srv/jarvis/.env"));
  EXPECT_TRUE(contains(l.outcome.errors[0], "expected int"));
  PluginInfo i = l.info("good");
  EXPECT_EQ(i.state, PluginState::Refused);
  EXPECT_EQ(i.reason_code, "config_invalid");
  EXPECT_FALSE(fs::exists(tmp.file("trace")));  // setup never ran
}

TEST(PluginManager, DuplicateNameFirstDirWins) {
  FixtureDir first({"good"});
  FixtureDir second({"good"});
  Loaded l({first.path(), second.path()});
  auto all = l.pm->list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].dir, first.file("good"));
  EXPECT_EQ(all[0].state, PluginState::Loaded);
  EXPECT_EQ(all[1].dir, second.file("good"));
  EXPECT_EQ(all[1].state, PluginState::Refused);
  EXPECT_EQ(all[1].reason_code, "duplicate_name");
  EXPECT_TRUE(contains(all[1].reason, first.file("good"))) << all[1].reason;
  EXPECT_TRUE(contains(all[1].reason, second.file("good"))) << all[1].reason;
  EXPECT_TRUE(l.pm->available("good"));
}

TEST(PluginManager, MissingPluginDirIsSkipped) {
  FixtureDir dir({"good"});
  Loaded l({"/nonexistent/jarvis/plugins", dir.path()});
  EXPECT_EQ(l.pm->list().size(), 1u);
  EXPECT_EQ(l.info("good").state, PluginState::Loaded);
}

/// Copies a fixture folder (not a symlink) so the test can alter its library.
std::string copy_fixture(const test::TempDir& base, const std::string& name) {
  fs::copy(std::string(JARVIS_TEST_PLUGIN_DIR) + "/" + name, base.file(name),
           fs::copy_options::recursive);
  return base.file(name) + "/lib" + name + ".so";
}

TEST(PluginManager, StrippedLibraryStillLoads) {
  // Installed plugins are often stripped (no .symtab); the check reads .dynsym.
  test::TempDir base;
  const std::string lib = copy_fixture(base, "good");
  ASSERT_EQ(std::system(("strip --strip-all '" + lib + "'").c_str()), 0);
  Loaded l({base.path()});
  EXPECT_EQ(l.info("good").state, PluginState::Loaded) << l.info("good").reason;
}

TEST(PluginManager, TruncatedAndForeignArchitectureLibrariesRefused) {
  test::TempDir base;
  const std::string lib = copy_fixture(base, "trivial");
  fs::resize_file(lib, 300);
  Loaded truncated({base.path()});
  PluginInfo t = truncated.info("trivial");
  EXPECT_EQ(t.state, PluginState::Refused);
  EXPECT_EQ(t.reason_code, "library_corrupt");
  EXPECT_TRUE(contains(t.reason, "truncated")) << t.reason;

  test::TempDir base2;
  const std::string lib2 = copy_fixture(base2, "trivial");
  {
    // e_machine (offset 18, 16-bit little endian): pretend the library is for another CPU.
    const bool host_is_x86 = host_elf_machine() == "x86_64";
    const unsigned char other[2] = {static_cast<unsigned char>(host_is_x86 ? 183 : 62), 0};
    std::fstream f(lib2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(18);
    f.write(reinterpret_cast<const char*>(other), 2);
  }
  Loaded foreign({base2.path()});
  PluginInfo fi = foreign.info("trivial");
  EXPECT_EQ(fi.state, PluginState::Refused);
  EXPECT_EQ(fi.reason_code, "library_corrupt");
  EXPECT_TRUE(contains(fi.reason, "host is " + host_elf_machine())) << fi.reason;
}

TEST(ElfExports, ListsOnlyExportedDefinitions) {
  ElfExports e = read_elf_exports(fixture_lib("good"));
  EXPECT_EQ(e.machine, host_elf_machine());
  auto has = [&](const std::string& s) {
    return std::find(e.symbols.begin(), e.symbols.end(), s) != e.symbols.end();
  };
  EXPECT_TRUE(has("jarvis_plugin_create"));
  EXPECT_TRUE(has(std::string("jarvis_abi__") + JARVIS_ABI_TAG + "__sdk_1_1"));
  // Undefined imports (from libjarvis_sdk / libstdc++) are not exports.
  EXPECT_FALSE(has("_ZN6jarvis6PluginD2Ev"));
  EXPECT_THROW(read_elf_exports("/nonexistent.so"), ElfError);
  EXPECT_THROW(read_elf_exports(std::string(JARVIS_TEST_PLUGIN_DIR) + "/corrupt/libcorrupt.so"),
               ElfError);
}

TEST(PluginManager, AllFixturesTogetherThenStopWithoutCrash) {
  // The whole fixture dir at once: good ones run, every bad one is isolated.
  Loaded l({JARVIS_TEST_PLUGIN_DIR});
  EXPECT_FALSE(l.outcome.fatal);
  std::map<std::string, PluginState> want = {
      {"good", PluginState::Loaded},           {"trivial", PluginState::Loaded},
      {"handler_throws", PluginState::Loaded}, {"start_throws", PluginState::Loaded},
      {"bad_abi", PluginState::Refused},       {"newer_sdk", PluginState::Refused},
      {"sdk_1_0", PluginState::Refused},       {"no_entry", PluginState::Refused},
      {"no_marker", PluginState::Refused},     {"corrupt", PluginState::Refused},
      {"malformed", PluginState::Refused},     {"old_sdk", PluginState::Refused},
      {"needs_missing", PluginState::Refused}, {"cycle_a", PluginState::Refused},
      {"cycle_b", PluginState::Refused},       {"factory_throws", PluginState::Failed},
      {"setup_throws", PluginState::Failed},   {"dup_route", PluginState::Failed}};
  for (const auto& [name, state] : want) {
    PluginInfo i = l.info(name);
    EXPECT_EQ(to_string(i.state), std::string(to_string(state))) << name << ": " << i.reason;
  }
  l.pm->mark_all_migrated();
  l.pm->start_all();
  EXPECT_EQ(l.info("good").state, PluginState::Started);
  EXPECT_EQ(l.info("start_throws").state, PluginState::Failed);
  for (const auto& h : l.pm->health()) {
    if (h.name == "good") {
      EXPECT_EQ(h.health.status, jarvis::Health::Status::Healthy);
    }
    if (h.name == "bad_abi") {
      EXPECT_EQ(h.health.status, jarvis::Health::Status::Failed);
    }
  }
  l.pm->stop_all();
  for (const auto& i : l.pm->list()) {
    EXPECT_NE(i.state, PluginState::Started) << i.name;
    EXPECT_TRUE(l.reg.owned(i.name).empty()) << i.name;
  }
}

}  // namespace

}  // namespace plugin_manager_test
}  // namespace jarvis::host
