// Reading calls in tokenized Python (python_lexer.hpp): the arguments of `op.drop_table("t",
// schema="s")` and the like, as the risk analysis and the fix-forward generator need them.
// Only literal strings are read as values; anything else is kept as source text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/python_lexer.hpp"

namespace rb::db::py {

// Characters of source quoted in a finding or a TODO line.
constexpr size_t kMaxDetail = 120;

struct Arg {
  std::string keyword;               // empty for a positional argument
  std::optional<std::string> value;  // a literal string (or op.f("...")), else nullopt
  std::string text;                  // the argument as written
  size_t first = 0, last = 0;        // token range [first, last) of the value
};

// `text` on one line (runs of whitespace folded), cut at kMaxDetail characters with "...".
std::string one_line(std::string_view text);

// Index of the token closing the bracket opened at `open` (the last token when unbalanced).
size_t matching_close(const std::vector<Token>& toks, size_t open);

// A string literal (adjacent ones concatenated), or op.f("...") / f("...") around one, in
// tokens [b, e); nullopt for anything else (names, f-strings, bytes).
std::optional<std::string> literal_value(const std::vector<Token>& toks, size_t b, size_t e);

// The arguments of the call whose brackets are at `open` and `close`; `src` is the text the
// tokens' offsets point into.
std::vector<Arg> parse_args(const std::vector<Token>& toks, size_t open, size_t close, std::string_view src);

// The argument at `position`, or the keyword argument `keyword`. Null after a `*args`.
const Arg* arg(const std::vector<Arg>& args, size_t position, std::string_view keyword);

std::string value_or_empty(const Arg* a);

}  // namespace rb::db::py
