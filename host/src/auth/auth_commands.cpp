// host/src/auth/auth_commands.cpp — `jarvis users …` and `jarvis tokens …` (operator CLI).
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <istream>
#include <iterator>
#include <sstream>

#include "auth/auth_service.h"
#include "jarvis/commands.h"
#include "jarvis/error.h"
#include "jarvis/list.h"
#include "registry/command_table.h"

namespace jarvis::host {
namespace {

/// Reads the password from standard input: everything up to the first newline.
std::string password_from_stdin(std::istream& in) {
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

/// Prompts on the controlling terminal with echo off; throws jarvis::Error when there is none.
std::string prompt_tty(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    throw jarvis::Error(400, "no_terminal",
                        "no terminal to prompt for the password: use --password-stdin");
  }
  termios old{};
  bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string out;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') out.push_back(c);
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  ::close(fd);
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

/// The new password of a command: from stdin with --password-stdin, else prompted twice.
std::string new_password(const jarvis::Args& a, std::istream& in) {
  if (a.flag("--password-stdin")) return password_from_stdin(in);
  std::string first = prompt_tty("New password: ");
  std::string again = prompt_tty("Repeat password: ");
  if (first != again) throw jarvis::Error(400, "password_mismatch", "the passwords do not match");
  return first;
}

jarvis::Role parse_role(const std::string& s) {
  if (s == "admin") return jarvis::Role::Admin;
  if (s == "user") return jarvis::Role::User;
  throw jarvis::UsageError("role must be 'user' or 'admin', not '" + s + "'");
}

/// Runs `body`, turning a jarvis::Error into "error: message (code)" and exit code 1.
int guarded(jarvis::CommandContext& c, const std::function<int()>& body) {
  try {
    return body();
  } catch (const jarvis::UsageError&) {
    throw;
  } catch (const jarvis::Error& e) {
    c.err << "error: " << e.what() << " (" << e.code() << ")\n";
    return 1;
  }
}

jarvis::Json user_json(const UserRecord& u) {
  return {{"id", u.id},
          {"username", u.username},
          {"role", jarvis::to_string(u.role)},
          {"disabled", u.disabled},
          {"created_at", u.created_at},
          {"updated_at", u.updated_at}};
}

jarvis::Json token_json(const TokenRecord& t) {
  auto opt = [](const std::string& s) {
    return s.empty() ? jarvis::Json(nullptr) : jarvis::Json(s);
  };
  return {{"id", t.id},
          {"user_id", t.user_id},
          {"username", t.username},
          {"kind", t.kind},
          {"label", t.label},
          {"created_at", t.created_at},
          {"expires_at", t.expires_at},
          {"last_used_at", opt(t.last_used_at)},
          {"revoked_at", opt(t.revoked_at)}};
}

int parse_hours(const std::string& text) {
  try {
    std::size_t used = 0;
    int v = std::stoi(text, &used);
    if (used != text.size() || v < 1 || v > 87600) throw std::invalid_argument("range");
    return v;
  } catch (const std::exception&) {
    throw jarvis::UsageError("--ttl must be a number of hours between 1 and 87600");
  }
}

}  // namespace

void register_auth_commands(CommandTable& commands, AuthService& auth) {
  auto add = [&](std::string group, std::string name, std::string summary, std::string usage,
                 std::function<int(jarvis::CommandContext&)> fn) {
    commands.add(Owner{}, jarvis::CommandSpec{std::move(group), std::move(name), std::move(summary),
                                              std::move(usage), std::move(fn)});
  };

  add("users", "add", "Create a user (the first admin with --admin)",
      "jarvis users add NAME [--admin] [--password-stdin]", [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {"--admin", "--password-stdin"}, {});
        const std::string& name = a.positional(0, "NAME");
        return guarded(c, [&] {
          std::string normalized = AuthService::normalize_username(name);
          if (auth.store().find_by_name(normalized)) {
            throw jarvis::Error(409, "user_exists", "user '" + normalized + "' already exists");
          }
          std::string pw = new_password(a, c.in);
          auto u =
              auth.add_user(name, pw, a.flag("--admin") ? jarvis::Role::Admin : jarvis::Role::User);
          c.out << "created user " << u.username << " (" << u.id << ", role "
                << jarvis::to_string(u.role) << ")\n";
          return 0;
        });
      });

  add("users", "list", "List users", "jarvis users list [--json]",
      [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {"--json"}, {});
        auto users = auth.store().list();
        if (a.flag("--json")) {
          jarvis::Json items = jarvis::Json::array();
          for (const auto& u : users) items.push_back(user_json(u));
          c.out << jarvis::list_slice(items, {.limit = 1000000, .offset = 0}).dump() << "\n";
          return 0;
        }
        c.out << std::left << std::setw(38) << "ID" << std::setw(24) << "USERNAME" << std::setw(7)
              << "ROLE" << std::setw(10) << "DISABLED"
              << "CREATED\n";
        for (const auto& u : users) {
          c.out << std::setw(38) << u.id << std::setw(24) << u.username << std::setw(7)
                << jarvis::to_string(u.role) << std::setw(10) << (u.disabled ? "yes" : "no")
                << u.created_at << "\n";
        }
        return 0;
      });

  add("users", "set-role", "Make a user an admin or a plain user",
      "jarvis users set-role NAME user|admin", [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {}, {});
        const std::string& name = a.positional(0, "NAME");
        jarvis::Role role = parse_role(a.positional(1, "ROLE"));
        return guarded(c, [&] {
          auto u = auth.set_role(name, role);
          c.out << u.username << " is now " << jarvis::to_string(u.role) << "\n";
          return 0;
        });
      });

  add("users", "passwd", "Set a user's password (revokes their login sessions)",
      "jarvis users passwd NAME [--password-stdin]", [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {"--password-stdin"}, {});
        const std::string& name = a.positional(0, "NAME");
        return guarded(c, [&] {
          // Check the name before prompting for a password.
          if (!auth.store().find_by_name(AuthService::normalize_username(name))) {
            throw jarvis::Error(404, "user_not_found", "no user named '" + name + "'");
          }
          auto u = auth.set_password(name, new_password(a, c.in));
          c.out << "password changed for " << u.username << "\n";
          return 0;
        });
      });

  add("users", "disable", "Disable a user (their tokens stop working)", "jarvis users disable NAME",
      [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {}, {});
        const std::string& name = a.positional(0, "NAME");
        return guarded(c, [&] {
          auto u = auth.set_disabled(name, true);
          c.out << u.username << " is disabled\n";
          return 0;
        });
      });

  add("users", "enable", "Re-enable a disabled user", "jarvis users enable NAME",
      [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {}, {});
        const std::string& name = a.positional(0, "NAME");
        return guarded(c, [&] {
          auto u = auth.set_disabled(name, false);
          c.out << u.username << " is enabled\n";
          return 0;
        });
      });

  add("tokens", "create", "Issue an API token for automation (printed once)",
      "jarvis tokens create --user NAME [--ttl HOURS] [--label TEXT] [--json]",
      [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {"--json"}, {"--user", "--ttl", "--label"});
        if (!a.has_option("--user")) throw jarvis::UsageError("--user NAME is required");
        int ttl = a.has_option("--ttl") ? parse_hours(a.option("--ttl")) : 0;
        return guarded(c, [&] {
          auto t = auth.create_api_token(a.option("--user"), ttl, a.option("--label"));
          if (a.flag("--json")) {
            jarvis::Json j = token_json(t.record);
            j["token"] = t.token;
            c.out << j.dump() << "\n";
          } else {
            c.out << t.token << "\n";
            c.err << "token " << t.record.id << " for " << t.record.username << ", expires "
                  << t.record.expires_at << " (shown once: store it now)\n";
          }
          return 0;
        });
      });

  add("tokens", "list", "List session and API tokens (never the secrets)",
      "jarvis tokens list [--user NAME] [--json]", [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {"--json"}, {"--user"});
        return guarded(c, [&] {
          std::string user_id;
          if (a.has_option("--user")) {
            auto u = auth.store().find_by_name(
                AuthService::normalize_username(a.option("--user"), "user"));
            if (!u)
              throw jarvis::Error(404, "user_not_found",
                                  "no user named '" + a.option("--user") + "'");
            user_id = u->id;
          }
          auto tokens = auth.store().list_tokens(user_id);
          if (a.flag("--json")) {
            jarvis::Json items = jarvis::Json::array();
            for (const auto& t : tokens) items.push_back(token_json(t));
            c.out << jarvis::Json{{"tokens", items}}.dump() << "\n";
            return 0;
          }
          c.out << std::left << std::setw(38) << "ID" << std::setw(20) << "USER" << std::setw(9)
                << "KIND" << std::setw(26) << "EXPIRES"
                << "STATE\n";
          std::string now = jarvis::now_iso();
          for (const auto& t : tokens) {
            std::string state = !t.revoked_at.empty() ? "revoked"
                                : t.expires_at <= now ? "expired"
                                                      : "active";
            c.out << std::setw(38) << t.id << std::setw(20) << t.username << std::setw(9) << t.kind
                  << std::setw(26) << t.expires_at << state << "\n";
          }
          return 0;
        });
      });

  add("tokens", "revoke", "Revoke a token by id", "jarvis tokens revoke TOKEN_ID",
      [&auth](jarvis::CommandContext& c) {
        auto a = jarvis::Args::parse(c.args, {}, {});
        const std::string& id = a.positional(0, "TOKEN_ID");
        return guarded(c, [&] {
          if (!auth.revoke_token(id)) {
            throw jarvis::Error(404, "token_not_found", "no active token with id '" + id + "'");
          }
          c.out << "revoked " << id << "\n";
          return 0;
        });
      });
}

}  // namespace jarvis::host
