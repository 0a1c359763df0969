// A tokenizer for the part of Python that Alembic migration scripts are written in, so that
// scripts can be read without running Python: strings (every prefix, triple quotes, escapes),
// comments, brackets and backslashes joining physical lines, and indentation. It does not
// parse expressions; callers look at token sequences.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rb::db::py {

enum class TokenKind { Name, Number, String, Op };

struct Token {
  TokenKind kind = TokenKind::Op;
  std::string text;    // as written; for a String the whole literal with prefix and quotes
  std::string value;   // String only: the decoded contents (raw strings are left as written)
  std::string prefix;  // String only: the prefix in lowercase ("", "r", "b", "f", "rb", ...)
  int line = 0;        // 1-based line of the first character
  int col = 0;         // 0-based column of the first character
  size_t begin = 0;    // byte offsets into the source: [begin, end)
  size_t end = 0;
};

// One simple statement: what Python calls a logical line, also split at ';'.
struct Statement {
  std::vector<Token> tokens;  // never empty
  // Indentation width of the physical line the statement starts on (a tab advances to the
  // next multiple of 8, as in Python). A statement that follows a compound header on the
  // same line ("def f(): a; b", "with x as y: z") counts as one column deeper than its line.
  int indent = 0;
  bool first_on_line = true;  // false for the statements after a ';'
  int first_line = 0;
  int last_line = 0;
  size_t begin = 0;  // byte offsets of the first token's start and the last token's end
  size_t end = 0;
};

// Splits `source` into statements; comments and blank lines vanish. `name` (a file name)
// prefixes error messages: "<name>:<line>: unterminated string" and the like.
Result<std::vector<Statement>> split_statements(std::string_view source, std::string_view name);

inline bool is_name(const Token& t, std::string_view text) { return t.kind == TokenKind::Name && t.text == text; }
inline bool is_op(const Token& t, std::string_view text) { return t.kind == TokenKind::Op && t.text == text; }

// Python keywords that open a compound statement ("def", "with", "if", ...).
bool is_compound_keyword(std::string_view word);

}  // namespace rb::db::py
