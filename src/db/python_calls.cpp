#include "db/python_calls.hpp"

#include <cctype>

namespace rb::db::py {

std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > kMaxDetail) out = out.substr(0, kMaxDetail) + "...";
  return out;
}

// Index of the token closing the bracket opened at `open`.
size_t matching_close(const std::vector<Token>& toks, size_t open) {
  int depth = 0;
  for (size_t i = open; i < toks.size(); ++i) {
    if (toks[i].kind != TokenKind::Op) continue;
    const auto& t = toks[i].text;
    if (t == "(" || t == "[" || t == "{") ++depth;
    if (t == ")" || t == "]" || t == "}") {
      if (--depth == 0) return i;
    }
  }
  return toks.size() - 1;
}

// A string literal (adjacent ones concatenated), or op.f("...") / f("...") around one.
std::optional<std::string> literal_value(const std::vector<Token>& toks, size_t b, size_t e) {
  if (b >= e) return std::nullopt;
  if (e - b >= 4 && toks[e - 1].text == ")" && toks[b].kind == TokenKind::Name) {
    // op.f("name") / sa.text("...") style wrappers that keep a name as is
    size_t open = b + 1;
    if (is_op(toks[b + 1], ".") && b + 3 < e) open = b + 3;
    const std::string& fn = toks[open - 1].text;
    if ((fn == "f" || fn == "quoted_name" || fn == "conv") && is_op(toks[open], "(")) {
      size_t close = matching_close(toks, open);
      if (close == e - 1) {
        size_t inner_end = close;
        for (size_t k = open + 1; k < close; ++k)
          if (is_op(toks[k], ",")) {
            inner_end = k;
            break;
          }
        return literal_value(toks, open + 1, inner_end);
      }
    }
  }
  std::string out;
  for (size_t i = b; i < e; ++i) {
    if (toks[i].kind != TokenKind::String || toks[i].prefix.find('f') != std::string::npos ||
        toks[i].prefix.find('b') != std::string::npos)
      return std::nullopt;
    out += toks[i].value;
  }
  return out;
}

std::vector<Arg> parse_args(const std::vector<Token>& toks, size_t open, size_t close, std::string_view src) {
  std::vector<Arg> args;
  size_t start = open + 1;
  int depth = 0;
  auto finish = [&](size_t end) {
    if (start >= end) return;
    Arg a;
    size_t vb = start;
    if (end - start >= 2 && toks[start].kind == TokenKind::Name && is_op(toks[start + 1], "=")) {
      a.keyword = toks[start].text;
      vb = start + 2;
    }
    a.value = literal_value(toks, vb, end);
    a.first = vb;
    a.last = end;
    if (vb < end) a.text = std::string(src.substr(toks[vb].begin, toks[end - 1].end - toks[vb].begin));
    args.push_back(std::move(a));
  };
  for (size_t i = open + 1; i < close; ++i) {
    const auto& t = toks[i];
    if (t.kind == TokenKind::Op) {
      if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
      else if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
      else if (t.text == "," && depth == 0) {
        finish(i);
        start = i + 1;
      }
    }
  }
  finish(close);
  return args;
}

// The argument at `position`, or the keyword argument `keyword`.
const Arg* arg(const std::vector<Arg>& args, size_t position, std::string_view keyword) {
  for (const auto& a : args)
    if (a.keyword == keyword) return &a;
  size_t n = 0;
  for (const auto& a : args) {
    if (!a.keyword.empty()) continue;
    if (a.text.starts_with("*")) return nullptr;
    if (n++ == position) return &a;
  }
  return nullptr;
}

std::string value_or_empty(const Arg* a) { return a && a->value ? *a->value : std::string(); }

}  // namespace rb::db::py
