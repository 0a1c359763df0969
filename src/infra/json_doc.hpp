// JSON documents as Terraform writes them: parsing with a position on errors, and laying a
// document out the way Terraform lays out state files, without touching any value.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb::infra {

// 1-based line and column of a byte offset (columns count bytes, like nlohmann and Go).
struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};
TextPosition position_of(std::string_view text, size_t offset);

// Parses one whole JSON document. On a syntax error (including trailing data) the Error names
// `what` was being read, the line and column, the parser's complaint and the offending line;
// tag "invalid_json", code Failed.
Result<nlohmann::json> parse_json_document(std::string_view text, std::string_view what);

// Lays `text` out like Go's json.MarshalIndent(v, "", "  ") plus a trailing newline, which is how
// Terraform writes state files (and `terraform state pull` prints them): two spaces per level,
// `"key": value`, empty objects and arrays as {} and []. Member order, strings and numbers are
// copied byte for byte (no re-escaping, no float re-rounding), so a file Terraform wrote comes back
// identical. The value of each top-level member named in `replace_top_level` is replaced by the
// given JSON text. Precondition: `text` is valid JSON (parse it first).
std::string reindent_like_terraform(std::string_view text,
                                    const std::map<std::string, std::string>& replace_top_level = {});

}  // namespace rb::infra
