// host/src/auth/auth_routes.cpp — POST /api/v1/auth/login, GET /api/v1/auth/me,
// POST /api/v1/auth/logout.
#include "auth/auth_service.h"
#include "http/router.h"
#include "jarvis/error.h"

namespace jarvis::host {
namespace {

/// The string field `name` of `body`; 400 `invalid_field` naming it when missing or not a string.
std::string string_field(const jarvis::Json& body, const std::string& name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    throw jarvis::Error(400, "invalid_field", "field '" + name + "': required");
  }
  if (!it->is_string())
    throw jarvis::Error(400, "invalid_field", "field '" + name + "': must be a string");
  return it->get<std::string>();
}

jarvis::Json principal_json(const jarvis::Principal& p) {
  return {{"user_id", p.user_id}, {"username", p.username}, {"role", jarvis::to_string(p.role)}};
}

}  // namespace

void register_auth_routes(Router& router, AuthService& auth) {
  router.add(
      Owner{},
      jarvis::RouteSpec{
          .method = "POST",
          .path = "/api/v1/auth/login",
          .auth = jarvis::Auth::Public,
          .summary = "Log in with {username, password}: returns {token, user_id, username, role, "
                     "expires_at} and sets the jarvis_session cookie",
          .handler =
              [&auth](jarvis::Request& req) {
                auth.check_login_request(req);
                jarvis::Json body = req.json_body();
                std::string username = string_field(body, "username");
                std::string password = string_field(body, "password");
                LoginResult r;
                try {
                  r = auth.login(username, password, req.remote_address);
                } catch (const RateLimited& e) {
                  auto res = jarvis::Response::json(429, {{"error",
                                                           {{"code", e.code()},
                                                            {"message", e.what()},
                                                            {"request_id", req.request_id}}}});
                  res.headers.set("Retry-After", std::to_string(e.retry_after().count()));
                  return res;
                }
                auto res = jarvis::Response::json(200, {{"token", r.session.token},
                                                        {"user_id", r.user.id},
                                                        {"username", r.user.username},
                                                        {"role", jarvis::to_string(r.user.role)},
                                                        {"expires_at", r.session.record.expires_at},
                                                        {"bootstrap", r.bootstrapped}});
                res.headers.add("Set-Cookie", auth.session_cookie(req, r.session.token));
                res.headers.set("Cache-Control", "no-store");
                return res;
              },
          .max_body_bytes = 16 * 1024});

  router.add(Owner{}, jarvis::RouteSpec{.method = "GET",
                                        .path = "/api/v1/auth/me",
                                        .auth = jarvis::Auth::User,
                                        .summary = "The caller: {user_id, username, role}",
                                        .handler = [](jarvis::Request& req) {
                                          return jarvis::Response::json(
                                              200, principal_json(req.principal));
                                        }});

  router.add(Owner{},
             jarvis::RouteSpec{
                 .method = "POST",
                 .path = "/api/v1/auth/logout",
                 .auth = jarvis::Auth::User,
                 .summary = "Revokes the presented token and clears the session cookie",
                 .handler =
                     [&auth](jarvis::Request& req) {
                       Credential c = AuthService::credential(req);
                       bool revoked = auth.logout(c.token);
                       auto res = jarvis::Response::json(200, {{"ok", true}, {"revoked", revoked}});
                       res.headers.add("Set-Cookie", auth.clear_cookie(req));
                       return res;
                     },
                 .max_body_bytes = 16 * 1024});
}

}  // namespace jarvis::host
