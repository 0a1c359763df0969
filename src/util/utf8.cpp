#include "util/utf8.hpp"

#include <fmt/format.h>

namespace rb {

namespace {

// Length of the well-formed UTF-8 sequence starting at text[i] (1..4), or 0 when the byte
// there does not start one. Follows the table of well-formed byte sequences in the Unicode
// Standard, chapter 3 (Table 3-7), so overlong forms and surrogates are rejected.
size_t sequence_length(std::string_view text, size_t i, char32_t& code_point) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  size_t left = text.size() - i;
  if (b0 < 0x80) {
    code_point = b0;
    return 1;
  }
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < text.size() && byte(k) >= lo && byte(k) <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !cont(i + 1)) return 0;
    code_point = (char32_t(b0 & 0x1F) << 6) | (byte(i + 1) & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
    if (left < 3 || !cont(i + 1, lo, hi) || !cont(i + 2)) return 0;
    code_point = (char32_t(b0 & 0x0F) << 12) | (char32_t(byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (left < 4 || !cont(i + 1, lo, hi) || !cont(i + 2) || !cont(i + 3)) return 0;
    code_point = (char32_t(b0 & 0x07) << 18) | (char32_t(byte(i + 1) & 0x3F) << 12) |
                 (char32_t(byte(i + 2) & 0x3F) << 6) | (byte(i + 3) & 0x3F);
    return 4;
  }
  return 0;
}

bool is_bidi_control(char32_t c) { return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069); }

}  // namespace

bool is_valid_utf8(std::string_view text) {
  char32_t cp = 0;
  for (size_t i = 0; i < text.size();) {
    size_t n = sequence_length(text, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string to_valid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  char32_t cp = 0;
  for (size_t i = 0; i < text.size();) {
    size_t n = sequence_length(text, i, cp);
    if (n == 0) {
      out += kReplacementCharacter;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  char32_t cp = 0;
  for (size_t i = 0; i < text.size();) {
    size_t n = sequence_length(text, i, cp);
    if (n == 0) {
      out += kReplacementCharacter;
      ++i;
      continue;
    }
    if (cp == '\n' && keep_newlines) out += '\n';
    else if (cp == '\n') out += "\\n";
    else if (cp == '\t') out += '\t';
    else if (cp == '\r') out += "\\r";
    else if (cp < 0x20 || cp == 0x7F) out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
    else if ((cp >= 0x80 && cp <= 0x9F) || is_bidi_control(cp)) out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    else out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace rb
