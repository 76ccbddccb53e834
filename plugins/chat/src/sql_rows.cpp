// chat/src/sql_rows.cpp — see sql_rows.h.
#include "sql_rows.h"

#include <cctype>

namespace chat {

jarvis::Json column(const soci::row& r, std::size_t i) {
  if (r.get_indicator(i) == soci::i_null) return nullptr;
  switch (r.get_properties(i).get_data_type()) {
    case soci::dt_string:
      return r.get<std::string>(i);
    case soci::dt_integer:
      return r.get<int>(i);
    case soci::dt_long_long:
      return r.get<long long>(i);
    case soci::dt_unsigned_long_long:
      return static_cast<long long>(r.get<unsigned long long>(i));
    case soci::dt_double:
      return r.get<double>(i);
    default:
      return nullptr;
  }
}

jarvis::Json row_json(const soci::row& r) {
  jarvis::Json j = jarvis::Json::object();
  for (std::size_t i = 0; i < r.size(); ++i) {
    std::string name = r.get_properties(i).get_name();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    j[name] = column(r, i);
  }
  return j;
}

long long column_int(const soci::row& r, std::size_t i) {
  jarvis::Json v = column(r, i);
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_number()) return static_cast<long long>(v.get<double>());
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

std::size_t for_each_row(soci::session& sql, const std::string& query, Binds& binds,
                         const std::function<void(const soci::row&)>& on_row) {
  soci::row row;
  soci::statement st(sql);
  for (auto& b : binds) {
    if (b.is_int) {
      st.exchange(soci::use(b.integer));
    } else {
      st.exchange(soci::use(b.text));
    }
  }
  st.exchange(soci::into(row));
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  std::size_t n = 0;
  if (!st.execute(true)) return 0;
  do {
    ++n;
    on_row(row);
  } while (st.fetch());
  return n;
}

long long exec(soci::session& sql, const std::string& query, Binds binds) {
  soci::statement st(sql);
  for (auto& b : binds) {
    if (b.is_int) {
      st.exchange(soci::use(b.integer));
    } else {
      st.exchange(soci::use(b.text));
    }
  }
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(true);
  return st.get_affected_rows();
}

jarvis::Json one_row(soci::session& sql, const std::string& query, Binds binds) {
  jarvis::Json out = nullptr;
  for_each_row(sql, query, binds, [&](const soci::row& r) {
    if (out.is_null()) out = row_json(r);
  });
  return out;
}

jarvis::Json all_rows(soci::session& sql, const std::string& query, Binds binds) {
  jarvis::Json out = jarvis::Json::array();
  for_each_row(sql, query, binds, [&](const soci::row& r) { out.push_back(row_json(r)); });
  return out;
}

long long scalar_int(soci::session& sql, const std::string& query, Binds binds) {
  long long out = 0;
  bool first = true;
  for_each_row(sql, query, binds, [&](const soci::row& r) {
    if (first) out = column_int(r, 0);
    first = false;
  });
  return out;
}

}  // namespace chat
