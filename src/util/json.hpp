// Serialising JSON whose strings came from outside: never throws on text that is not UTF-8.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace rb {

// j.dump(indent) with every invalid UTF-8 byte in its strings written as U+FFFD instead of
// throwing nlohmann's type_error 316. Use it for everything that leaves the process (output,
// journal, lock files, request bodies).
inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace rb
