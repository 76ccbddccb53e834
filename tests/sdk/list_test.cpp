// Tests of the list envelope helpers (jarvis/list.h).
#include "jarvis/list.h"

#include <gtest/gtest.h>

#include "jarvis/error.h"

namespace {

using jarvis::Json;

jarvis::Request with_query(std::map<std::string, std::string> q) {
  jarvis::Request r;
  r.query = std::move(q);
  return r;
}

TEST(ListEnvelope, PageRequestDefaultsAndBounds) {
  auto p = jarvis::page_request(with_query({}));
  EXPECT_EQ(p.limit, 50);
  EXPECT_EQ(p.offset, 0);
  p = jarvis::page_request(with_query({{"limit", "7"}, {"offset", "3"}}), 10, 20);
  EXPECT_EQ(p.limit, 7);
  EXPECT_EQ(p.offset, 3);
  for (const auto& bad :
       std::vector<std::map<std::string, std::string>>{{{"limit", "0"}},
                                                       {{"limit", "21"}},
                                                       {{"limit", "x"}},
                                                       {{"offset", "-1"}},
                                                       {{"offset", "1e3"}},
                                                       {{"limit", "99999999999999999999"}}}) {
    try {
      jarvis::page_request(with_query(bad), 10, 20);
      ADD_FAILURE() << "accepted " << bad.begin()->first << "=" << bad.begin()->second;
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.code(), "invalid_query");
      EXPECT_NE(std::string(e.what()).find(bad.begin()->first), std::string::npos) << e.what();
    }
  }
}

TEST(ListEnvelope, PageHasEveryKey) {
  Json out = jarvis::list_page(Json::array({1, 2}), 5, {.limit = 2, .offset = 0});
  EXPECT_EQ(
      out,
      (Json{{"items", {1, 2}}, {"total", 5}, {"limit", 2}, {"offset", 0}, {"has_more", true}}));
  out = jarvis::list_page(Json::array({5}), 5, {.limit = 2, .offset = 4});
  EXPECT_EQ(out["has_more"], false);
  EXPECT_FALSE(out.contains("total_capped"));
  // A capped count says so and always admits more.
  out = jarvis::list_page(Json::array({1}), 1000, {.limit = 1, .offset = 999}, true);
  EXPECT_EQ(out["total_capped"], true);
  EXPECT_EQ(out["has_more"], true);
  // A total below what is shown (a racing insert) is raised to it; a non-array becomes [].
  EXPECT_EQ(jarvis::list_page(Json::array({1, 2, 3}), 1, {.limit = 5, .offset = 0})["total"], 3);
  EXPECT_EQ(jarvis::list_page(Json(nullptr), 0, {})["items"], Json::array());
}

TEST(ListEnvelope, SliceOfAnInMemoryList) {
  Json all = Json::array({0, 1, 2, 3, 4});
  Json out = jarvis::list_slice(all, {.limit = 2, .offset = 1});
  EXPECT_EQ(out["items"], Json::array({1, 2}));
  EXPECT_EQ(out["total"], 5);
  EXPECT_EQ(out["has_more"], true);
  EXPECT_EQ(jarvis::list_slice(all, {.limit = 2, .offset = 9})["items"], Json::array());
  EXPECT_EQ(jarvis::list_slice(all, {.limit = 9, .offset = 0})["has_more"], false);
}

TEST(ListEnvelope, LogPageUsesTheExtraRowOnlyForHasMore) {
  Json out = jarvis::log_page(Json::array({1, 2, 3}), {.limit = 2, .offset = 0});
  EXPECT_EQ(out, (Json{{"items", {1, 2}}, {"limit", 2}, {"offset", 0}, {"has_more", true}}));
  EXPECT_FALSE(out.contains("total"));
  EXPECT_EQ(jarvis::log_page(Json::array({1, 2}), {.limit = 2, .offset = 0})["has_more"], false);
}

}  // namespace
