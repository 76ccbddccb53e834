// host/src/plugins/plugin_host.cpp — the per-plugin Host view and its registry adapters (see
// plugin_host.h). Each adapter forwards to the host implementation with the plugin's Owner.
#include "plugins/plugin_host.h"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "auth/thread_owners.h"
#include "db/sql_database.h"
#include "db/transaction.h"
#include "http/router.h"
#include "observability/metrics.h"
#include "plugins/in_flight.h"
#include "plugins/plugin_config.h"
#include "registry/command_table.h"
#include "registry/event_bus.h"
#include "registry/tool_registry.h"
#include "tasks/task_service.h"

namespace jarvis::host {

namespace {

template <class T>
T& require(T* service, const Owner& owner, const char* what) {
  if (!service) {
    throw std::logic_error("plugin '" + owner.name + "': the " + what +
                           " is not available in this process");
  }
  return *service;
}

// The stream a plugin's start callback receives: the host's stream, with every on_close callback
// counted as an in-flight call of the plugin (shutdown waits for it like for a handler; one stuck
// past the drain time is named by the shutdown watchdog).
class CountedStream final : public jarvis::ResponseStream {
 public:
  CountedStream(std::shared_ptr<jarvis::ResponseStream> inner, std::shared_ptr<InFlight> calls)
      : inner_(std::move(inner)), calls_(std::move(calls)) {}
  bool write(std::string_view bytes) override { return inner_->write(bytes); }
  void end() override { inner_->end(); }
  bool closed() const override { return inner_->closed(); }
  jarvis::CancelToken cancelled() const override { return inner_->cancelled(); }
  void on_close(std::function<void()> callback) override {
    inner_->on_close(counted(calls_, std::move(callback)));
  }
  std::size_t buffered_bytes() const override { return inner_->buffered_bytes(); }

 private:
  std::shared_ptr<jarvis::ResponseStream> inner_;
  std::shared_ptr<InFlight> calls_;
};

class RouteAdapter : public jarvis::RouteRegistry {
 public:
  RouteAdapter(const Owner& o, Router* r, const std::shared_ptr<InFlight>& c)
      : owner_(o), impl_(r), calls_(c) {}
  void add(jarvis::RouteSpec spec) override {
    spec.handler = counted(calls_, std::move(spec.handler));
    if (calls_ && spec.handler) {
      // A streamed response's start callback is plugin code that runs after the handler
      // returned (often for the whole stream): it counts as an in-flight call too, and so do
      // the stream's on_close callbacks.
      spec.handler = [calls = calls_, inner = std::move(spec.handler)](jarvis::Request& req) {
        jarvis::Response res = inner(req);
        if (res.is_stream()) {
          res.stream_start = [calls, start = std::move(res.stream_start)](
                                 std::shared_ptr<jarvis::ResponseStream> s) {
            InFlight::Call call(*calls);
            if (s) s = std::make_shared<CountedStream>(std::move(s), calls);
            start(std::move(s));
          };
        }
        return res;
      };
    }
    require(impl_, owner_, "route registry").add(owner_, std::move(spec));
  }

 private:
  const Owner& owner_;
  Router* impl_;
  std::shared_ptr<InFlight> calls_;
};

class ToolAdapter : public jarvis::ToolRegistry {
 public:
  ToolAdapter(const Owner& o, ToolRegistryImpl* r, const std::shared_ptr<InFlight>& c)
      : owner_(o), impl_(r), calls_(c) {}
  void add(jarvis::ToolSpec spec) override {
    spec.handler = counted(calls_, std::move(spec.handler));
    require(impl_, owner_, "tool registry").add(owner_, std::move(spec));
  }
  std::vector<jarvis::ToolInfo> list() const override {
    return require(impl_, owner_, "tool registry").list();
  }
  jarvis::ToolResult invoke(const jarvis::ToolCall& call) override {
    return require(impl_, owner_, "tool registry").invoke(call);
  }
  void grant_agent_tools(const std::string& agent_id,
                         const std::vector<std::string>& tools) override {
    require(impl_, owner_, "tool registry").grant_agent_tools(owner_, agent_id, tools);
  }

 private:
  const Owner& owner_;
  ToolRegistryImpl* impl_;
  std::shared_ptr<InFlight> calls_;
};

class PolicyAdapter : public jarvis::PolicyRegistry {
 public:
  PolicyAdapter(const Owner& o, PolicyRegistryImpl* r, const std::shared_ptr<InFlight>& c)
      : owner_(o), impl_(r), calls_(c) {}
  void add(std::string name, jarvis::Policy policy) override {
    require(impl_, owner_, "policy registry")
        .add(owner_, std::move(name), counted(calls_, std::move(policy)));
  }

 private:
  const Owner& owner_;
  PolicyRegistryImpl* impl_;
  std::shared_ptr<InFlight> calls_;
};

class TaskAdapter : public jarvis::TaskRegistry {
 public:
  TaskAdapter(const Owner& o, TaskService* r, const std::shared_ptr<InFlight>& c)
      : owner_(o), impl_(r), calls_(c) {}
  void add(jarvis::TaskSpec spec) override {
    spec.handler = counted(calls_, std::move(spec.handler));
    require(impl_, owner_, "task registry").add(owner_, std::move(spec));
  }
  void add(jarvis::TaskSpec spec, jarvis::TaskAccess access) override {
    spec.handler = counted(calls_, std::move(spec.handler));
    require(impl_, owner_, "task registry").add(owner_, std::move(spec), access);
  }
  bool may_start(const std::string& name, const jarvis::Principal& who) const override {
    return require(impl_, owner_, "task registry").may_start(name, who);
  }
  bool has(const std::string& name) const override {
    return require(impl_, owner_, "task registry").has(name);
  }
  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options) override {
    return require(impl_, owner_, "task registry").enqueue(name, std::move(options));
  }
  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options,
                      jarvis::Transaction& tx) override {
    return require(impl_, owner_, "task registry")
        .enqueue(name, std::move(options), HostTransaction::from(tx));
  }
  jarvis::Json call(const std::string& name, const jarvis::Json& payload) override {
    return require(impl_, owner_, "task registry").call(name, payload);
  }
  void add_periodic(jarvis::PeriodicJob job) override {
    require(impl_, owner_, "task registry").add_periodic(owner_, std::move(job));
  }

 private:
  const Owner& owner_;
  TaskService* impl_;
  std::shared_ptr<InFlight> calls_;
};

class CommandAdapter : public jarvis::CommandRegistry {
 public:
  CommandAdapter(const Owner& o, CommandTable* r, const std::shared_ptr<InFlight>& c)
      : owner_(o), impl_(r), calls_(c) {}
  void add(jarvis::CommandSpec spec) override {
    spec.handler = counted(calls_, std::move(spec.handler));
    require(impl_, owner_, "command registry").add(owner_, std::move(spec));
  }

 private:
  const Owner& owner_;
  CommandTable* impl_;
  std::shared_ptr<InFlight> calls_;
};

class EventAdapter : public jarvis::EventBus {
 public:
  EventAdapter(const Owner& o, EventBusImpl* r, const std::shared_ptr<InFlight>& c)
      : owner_(o), impl_(r), calls_(c) {}
  std::string emit(jarvis::Event event) override {
    return require(impl_, owner_, "event bus").emit(owner_, std::move(event));
  }
  void subscribe(std::string type_prefix, jarvis::EventHandler handler) override {
    require(impl_, owner_, "event bus")
        .subscribe(owner_, std::move(type_prefix), counted(calls_, std::move(handler)));
  }
  std::string emit(jarvis::Event event, jarvis::Transaction& tx) override {
    return require(impl_, owner_, "event bus")
        .emit(owner_, std::move(event), HostTransaction::from(tx));
  }
  void subscribe_durable(std::string type_prefix, std::string task_name) override {
    require(impl_, owner_, "event bus")
        .subscribe_durable(owner_, std::move(type_prefix), std::move(task_name));
  }
  jarvis::TraceEvents trace(const jarvis::Principal& who, const std::string& trace_id,
                            std::size_t limit) override {
    return require(impl_, owner_, "event bus").trace(who, trace_id, limit);
  }
  void subscribe(jarvis::SubscriptionSpec spec) override {
    spec.handler = counted(calls_, std::move(spec.handler));
    require(impl_, owner_, "event bus").subscribe(owner_, std::move(spec));
  }
  void subscribe_durable(jarvis::DurableSubscriptionSpec spec) override {
    require(impl_, owner_, "event bus").subscribe_durable(owner_, std::move(spec));
  }

 private:
  const Owner& owner_;
  EventBusImpl* impl_;
  std::shared_ptr<InFlight> calls_;
};

class DatabaseAdapter : public jarvis::Database {
 public:
  DatabaseAdapter(const Owner& o, SqlDatabase* r) : owner_(o), impl_(r) {}
  jarvis::DbSession session() override { return require(impl_, owner_, "database").session(); }
  jarvis::DbSession session(std::chrono::milliseconds timeout) override {
    return require(impl_, owner_, "database").session(timeout);
  }
  jarvis::DbTransaction transaction() override {
    return require(impl_, owner_, "database").transaction();
  }
  jarvis::Dialect dialect() const override { return require(impl_, owner_, "database").dialect(); }

 private:
  const Owner& owner_;
  SqlDatabase* impl_;
};

class HttpClientAdapter : public jarvis::HttpClient {
 public:
  HttpClientAdapter(const Owner& o, jarvis::HttpClient* r) : owner_(o), impl_(r) {}
  jarvis::OutboundResponse send(const jarvis::OutboundRequest& request) override {
    return require(impl_, owner_, "outbound HTTP client").send(request);
  }

 private:
  const Owner& owner_;
  jarvis::HttpClient* impl_;
};

class ThreadAdapter : public jarvis::ThreadRegistry {
 public:
  ThreadAdapter(const Owner& o, ThreadOwners* impl, const std::shared_ptr<InFlight>& c)
      : owner_(o), impl_(impl), calls_(c) {}
  void claim(const std::string& thread_id, const std::string& user_id) override {
    require(impl_, owner_, "thread registry").claim(thread_id, user_id, owner_.name);
  }
  std::optional<std::string> owner(const std::string& thread_id) override {
    return require(impl_, owner_, "thread registry").owner_of(thread_id);
  }
  bool may_access(const jarvis::Principal& who, const std::string& thread_id) override {
    return require(impl_, owner_, "thread registry").may_access(who, thread_id);
  }
  bool release(const std::string& thread_id) override {
    return require(impl_, owner_, "thread registry").release(thread_id);
  }
  void publish(const std::string& thread_id, const jarvis::Json& message) override {
    require(impl_, owner_, "thread registry").live().publish(owner_, thread_id, message);
  }
  std::unique_ptr<jarvis::LiveSubscription> listen(const std::string& thread_id,
                                                   jarvis::LiveHandler handler) override {
    return require(impl_, owner_, "thread registry")
        .live()
        .listen(owner_, thread_id, counted(calls_, std::move(handler)));
  }

 private:
  const Owner& owner_;
  ThreadOwners* impl_;
  std::shared_ptr<InFlight> calls_;
};

}  // namespace

struct PluginHost::Adapters {
  Adapters(const Owner& o, const HostServices& s, const std::shared_ptr<InFlight>& calls)
      : routes(o, s.routes, calls),
        tools(o, s.tools, calls),
        policies(o, s.policies, calls),
        tasks(o, s.tasks, calls),
        commands(o, s.commands, calls),
        events(o, s.events, calls),
        db(o, s.db),
        http(o, s.http),
        threads(o, s.threads, calls) {
    if (s.metrics) metrics = std::make_unique<PluginMetrics>(*s.metrics, o.name);
  }
  RouteAdapter routes;
  ToolAdapter tools;
  PolicyAdapter policies;
  TaskAdapter tasks;
  CommandAdapter commands;
  EventAdapter events;
  DatabaseAdapter db;
  HttpClientAdapter http;
  ThreadAdapter threads;
  std::unique_ptr<PluginMetrics> metrics;
};

std::shared_ptr<spdlog::logger> plugin_logger(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  auto base = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(name, base->sinks().begin(), base->sinks().end());
  logger->set_level(base->level());
  logger->flush_on(base->flush_level());
  try {
    spdlog::register_logger(logger);
  } catch (const spdlog::spdlog_ex&) {
    // Another thread registered the same name first: use that one.
    if (auto existing = spdlog::get(name)) return existing;
  }
  return logger;
}

PluginHost::PluginHost(Owner owner, const HostServices& services, const PluginConfigImpl& config,
                       std::function<bool(const std::string&)> available,
                       std::shared_ptr<InFlight> calls)
    : owner_(std::move(owner)),
      services_(services),
      config_(config),
      available_(std::move(available)),
      logger_(plugin_logger(owner_.name)),
      adapters_(std::make_unique<Adapters>(owner_, services_, calls)) {}

PluginHost::~PluginHost() = default;

const jarvis::PluginConfig& PluginHost::config() const { return config_; }
jarvis::RouteRegistry& PluginHost::routes() { return adapters_->routes; }
jarvis::ToolRegistry& PluginHost::tools() { return adapters_->tools; }
jarvis::PolicyRegistry& PluginHost::policies() { return adapters_->policies; }
jarvis::TaskRegistry& PluginHost::tasks() { return adapters_->tasks; }
jarvis::CommandRegistry& PluginHost::commands() { return adapters_->commands; }
jarvis::EventBus& PluginHost::events() { return adapters_->events; }
jarvis::Database& PluginHost::db() { return adapters_->db; }
jarvis::HttpClient& PluginHost::http() { return adapters_->http; }

jarvis::Metrics& PluginHost::metrics() {
  if (!adapters_->metrics) {
    throw std::logic_error("plugin '" + owner_.name +
                           "': the metrics registry is not available in this process");
  }
  return *adapters_->metrics;
}

jarvis::SystemControl& PluginHost::system() {
  return require(services_.system, owner_, "system control");
}

jarvis::ThreadRegistry& PluginHost::threads() { return adapters_->threads; }

bool PluginHost::plugin_available(const std::string& name) const {
  return available_ ? available_(name) : false;
}

}  // namespace jarvis::host
