// sdk/src/sql.cpp — see jarvis/sql.h.
#include "jarvis/sql.h"

#include <cctype>
#include <exception>

namespace jarvis::sql {
namespace {

void bind_all(soci::statement& st, Binds& binds) {
  for (auto& b : binds) {
    if (b.is_int) {
      st.exchange(soci::use(b.integer, b.indicator));
    } else {
      st.exchange(soci::use(b.text, b.indicator));
    }
  }
}

}  // namespace

Bind Bind::null() {
  Bind b{std::string()};
  b.indicator = soci::i_null;
  return b;
}

Json column(const soci::row& row, std::size_t i) {
  if (row.get_indicator(i) == soci::i_null) return nullptr;
  switch (row.get_properties(i).get_data_type()) {
    case soci::dt_string:
    case soci::dt_blob:
    case soci::dt_xml:
      return row.get<std::string>(i);
    case soci::dt_integer:
      return row.get<int>(i);
    case soci::dt_long_long:
      return row.get<long long>(i);
    case soci::dt_unsigned_long_long:
      return static_cast<long long>(row.get<unsigned long long>(i));
    case soci::dt_double:
      return row.get<double>(i);
    default:
      return nullptr;
  }
}

long long column_int(const soci::row& row, std::size_t i) {
  Json v = column(row, i);
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

Json row_json(const soci::row& row) {
  Json j = Json::object();
  for (std::size_t i = 0; i < row.size(); ++i) {
    std::string name = row.get_properties(i).get_name();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    j[name] = column(row, i);
  }
  return j;
}

std::size_t for_each_row(soci::session& sql, const std::string& query, Binds& binds,
                         const std::function<void(const soci::row&)>& on_row) {
  soci::row row;
  soci::statement st(sql);
  bind_all(st, binds);
  st.exchange(soci::into(row));
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  if (!st.execute(true)) return 0;
  std::size_t n = 0;
  do {
    ++n;
    on_row(row);
  } while (st.fetch());
  return n;
}

long long exec(soci::session& sql, const std::string& query, Binds binds) {
  soci::statement st(sql);
  bind_all(st, binds);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(true);
  return st.get_affected_rows();
}

Json one_row(soci::session& sql, const std::string& query, Binds binds) {
  Json out = nullptr;
  for_each_row(sql, query, binds, [&](const soci::row& r) {
    if (out.is_null()) out = row_json(r);
  });
  return out;
}

Json all_rows(soci::session& sql, const std::string& query, Binds binds) {
  Json out = Json::array();
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

}  // namespace jarvis::sql
