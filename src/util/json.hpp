// Serialising JSON whose strings came from outside: never throws on text that is not UTF-8.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rb {

// j.dump(indent) with every invalid UTF-8 byte in its strings written as U+FFFD instead of
// throwing nlohmann's type_error 316. Use it for everything that leaves the process (output,
// journal, lock files, request bodies).
inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Reading fields of JSON that came from outside (a lock file, a journal entry, a response)
// without nlohmann's type_error when a field has another type than expected: the fallback
// then, as when the field is missing or `j` is not an object.
inline std::string json_string(const nlohmann::json& j, std::string_view key, std::string fallback = {}) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline long long json_integer(const nlohmann::json& j, std::string_view key, long long fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_number_unsigned() && it->get<unsigned long long>() <= 9'223'372'036'854'775'807ULL)
    return static_cast<long long>(it->get<unsigned long long>());
  return fallback;
}

// A number field (AWS's JSON timestamps are seconds as a number): the fallback when missing,
// of another type, or when `j` is not an object.
inline double json_number(const nlohmann::json& j, std::string_view key, double fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

}  // namespace rb
