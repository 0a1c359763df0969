#include "infra/json_doc.hpp"

#include <fmt/format.h>

#include <cstring>
#include <vector>

namespace rb::infra {

namespace {

// Longest excerpt of the offending line shown in a parse error.
constexpr size_t kMaxExcerpt = 80;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}

// `i` at an opening quote; returns the index just past the closing quote.
size_t scan_string(std::string_view s, size_t i) {
  ++i;
  while (i < s.size()) {
    if (s[i] == '\\') {
      i += 2;
    } else if (s[i] == '"') {
      return i + 1;
    } else {
      ++i;
    }
  }
  return s.size();
}

// A number or a literal (true, false, null).
size_t scan_scalar(std::string_view s, size_t i) {
  while (i < s.size() && !is_ws(s[i]) && std::strchr(",]}:", s[i]) == nullptr) ++i;
  return i;
}

// Index just past the value starting at `i`.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return scan_string(s, i);
  if (s[i] != '{' && s[i] != '[') return scan_scalar(s, i);
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      i = scan_string(s, i);
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
    ++i;
  }
  return i;
}

std::string line_excerpt(std::string_view text, size_t offset) {
  if (offset > text.size()) offset = text.size();
  size_t begin = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  begin = (begin == std::string_view::npos || offset == 0) ? 0 : begin + 1;
  size_t end = text.find('\n', offset);
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(begin, end - begin);
  while (!line.empty() && is_ws(line.front())) line.remove_prefix(1);
  while (!line.empty() && is_ws(line.back())) line.remove_suffix(1);
  if (line.size() > kMaxExcerpt) return std::string(line.substr(0, kMaxExcerpt)) + "...";
  return std::string(line);
}

}  // namespace

TextPosition position_of(std::string_view text, size_t offset) {
  if (offset > text.size()) offset = text.size();
  TextPosition pos;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

Result<nlohmann::json> parse_json_document(std::string_view text, std::string_view what) {
  auto invalid = [&](const std::string& why) {
    Error err = failure(fmt::format("{} is not valid JSON: {}", what, why),
                        "check that the file is complete and was not edited by hand");
    err.tag = "invalid_json";
    return err;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the characters read, the offending one included.
    size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    TextPosition pos = position_of(text, offset);
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line L, column C: why".
    std::string why = e.what();
    if (auto colon = why.find(": "); colon != std::string::npos) why = why.substr(colon + 2);
    std::string excerpt = line_excerpt(text, offset);
    return invalid(fmt::format("line {}, column {}: {}{}", pos.line, pos.column, why,
                               excerpt.empty() ? std::string() : fmt::format(" (near `{}`)", excerpt)));
  } catch (const nlohmann::json::exception& e) {
    // A number beyond a double (`1e999`) is out_of_range (406), not a parse_error: found by fuzzing.
    std::string why = e.what();
    if (auto bracket = why.find("] "); bracket != std::string::npos) why = why.substr(bracket + 2);
    return invalid(why);
  }
}

std::string reindent_like_terraform(std::string_view s, const std::map<std::string, std::string>& replace_top_level) {
  std::string out;
  out.reserve(s.size() + s.size() / 4 + 1);
  std::vector<char> stack;  // open containers
  bool expect_key = false;  // the next string is an object key
  const std::string* replacement = nullptr;

  auto newline = [&] {
    out += '\n';
    out.append(2 * stack.size(), ' ');
  };

  size_t i = skip_ws(s, 0);
  while (i < s.size()) {
    char c = s[i];
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      size_t j = skip_ws(s, i + 1);
      if (j < s.size() && s[j] == close) {
        out += c;
        out += close;
        i = skip_ws(s, j + 1);
        continue;
      }
      out += c;
      stack.push_back(c);
      newline();
      expect_key = c == '{';
      i = j;
      continue;
    }
    if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      newline();
      out += c;
      i = skip_ws(s, i + 1);
      continue;
    }
    if (c == ',') {
      out += ',';
      newline();
      expect_key = !stack.empty() && stack.back() == '{';
      i = skip_ws(s, i + 1);
      continue;
    }
    if (c == ':') {
      out += ": ";
      i = skip_ws(s, i + 1);
      if (replacement != nullptr) {
        out += *replacement;
        replacement = nullptr;
        i = skip_ws(s, skip_value(s, i));
      }
      continue;
    }
    size_t j = c == '"' ? scan_string(s, i) : scan_scalar(s, i);
    std::string_view token = s.substr(i, j - i);
    out += token;
    if (expect_key) {
      expect_key = false;
      if (stack.size() == 1 && !replace_top_level.empty()) {
        auto key = nlohmann::json::parse(token, nullptr, false);
        if (key.is_string()) {
          auto it = replace_top_level.find(key.get<std::string>());
          if (it != replace_top_level.end()) replacement = &it->second;
        }
      }
    }
    i = skip_ws(s, j);
  }
  out += '\n';
  return out;
}

}  // namespace rb::infra
