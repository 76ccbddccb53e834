// jarvis::Args — the small argument parser shared by host and plugin commands.
#include "jarvis/commands.h"

namespace jarvis {

Args Args::parse(const std::vector<std::string>& args, const std::set<std::string>& flags,
                 const std::set<std::string>& options) {
  Args out;
  bool only_positionals = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positionals || a.size() < 2 || a[0] != '-' || a == "-") {
      out.positionals_.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    auto eq = a.find('=');
    std::string name = a.substr(0, eq);
    if (flags.count(name)) {
      if (eq != std::string::npos) throw UsageError("flag " + name + " takes no value");
      out.flags_.insert(name);
    } else if (options.count(name)) {
      if (eq != std::string::npos) {
        out.options_[name] = a.substr(eq + 1);
      } else {
        if (i + 1 >= args.size()) throw UsageError("option " + name + " needs a value");
        out.options_[name] = args[++i];
      }
    } else {
      throw UsageError("unknown option " + name);
    }
  }
  return out;
}

std::string Args::option(const std::string& name, const std::string& fallback) const {
  auto it = options_.find(name);
  return it == options_.end() ? fallback : it->second;
}

const std::string& Args::positional(std::size_t i, const std::string& what) const {
  if (i >= positionals_.size()) throw UsageError("missing argument " + what);
  return positionals_[i];
}

}  // namespace jarvis
