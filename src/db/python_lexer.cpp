#include "db/python_lexer.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace rb::db::py {

namespace {

constexpr int kTabWidth = 8;  // Python's tokenizer advances a tab to the next multiple of 8

bool is_ident_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool is_ident_char(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

bool is_string_prefix(std::string_view word) {
  if (word.empty() || word.size() > 2) return false;
  std::string lower;
  for (char c : word) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::array<std::string_view, 8> kPrefixes{"r", "u", "b", "f", "br", "rb", "fr", "rf"};
  for (auto p : kPrefixes)
    if (lower == p) return true;
  return false;
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes the escapes of a non-raw string body. Unknown escapes stay as written, like Python.
std::string decode_escapes(std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    auto hex = [&](size_t digits) -> bool {
      if (i + digits >= body.size()) return false;
      unsigned long cp = 0;
      for (size_t k = 1; k <= digits; ++k) {
        char h = body[i + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
        cp = cp * 16 + static_cast<unsigned long>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      append_utf8(out, cp);
      i += digits;
      return true;
    };
    switch (e) {
      case '\n': break;  // line continuation inside the string
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'x':
        if (!hex(2)) out += "\\x";
        break;
      case 'u':
        if (!hex(4)) out += "\\u";
        break;
      case 'U':
        if (!hex(8)) out += "\\U";
        break;
      default:
        out += '\\';
        out += e;
    }
  }
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view src, std::string_view name) : src_(src), name_(name) {}

  Result<std::vector<Statement>> run() {
    while (pos_ < src_.size()) {
      if (at_line_start_) {
        // Measure the indentation; blank and comment-only lines do not start statements.
        int width = 0;
        size_t p = pos_;
        while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\f')) {
          width = src_[p] == '\t' ? (width / kTabWidth + 1) * kTabWidth : src_[p] == '\f' ? 0 : width + 1;
          ++p;
        }
        pos_ = p;
        if (p >= src_.size()) break;
        if (src_[p] == '\n' || src_[p] == '#' || (src_[p] == '\r')) {
          skip_to_line_end();
          continue;
        }
        line_indent_ = width;
        at_line_start_ = false;
        line_first_statement_compound_ = false;
        line_statement_count_ = 0;
      }
      char c = src_[pos_];
      if (c == '\n') {
        newline();
        if (depth_ == 0) {
          end_statement();
          at_line_start_ = true;
        }
        continue;
      }
      if (c == '\\' && pos_ + 1 < src_.size() && (src_[pos_ + 1] == '\n' || src_[pos_ + 1] == '\r')) {
        ++pos_;
        if (src_[pos_] == '\r') ++pos_;
        if (pos_ < src_.size() && src_[pos_] == '\n') newline();
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
        ++pos_;
        continue;
      }
      if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
        continue;
      }
      if (is_ident_start(static_cast<unsigned char>(c))) {
        size_t start = pos_;
        while (pos_ < src_.size() && is_ident_char(static_cast<unsigned char>(src_[pos_]))) ++pos_;
        std::string_view word = src_.substr(start, pos_ - start);
        if (pos_ < src_.size() && (src_[pos_] == '\'' || src_[pos_] == '"') && is_string_prefix(word)) {
          RB_TRY(read_string(start, pos_));
        } else {
          push(TokenKind::Name, start, pos_);
        }
        continue;
      }
      if (c == '\'' || c == '"') {
        RB_TRY(read_string(pos_, pos_));
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c)) ||
          (c == '.' && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
        size_t start = pos_;
        while (pos_ < src_.size()) {
          char d = src_[pos_];
          if (std::isalnum(static_cast<unsigned char>(d)) || d == '_' || d == '.') {
            ++pos_;
          } else if ((d == '+' || d == '-') && (src_[pos_ - 1] == 'e' || src_[pos_ - 1] == 'E') &&
                     !(src_.substr(start, 2) == "0x" || src_.substr(start, 2) == "0X")) {
            ++pos_;
          } else {
            break;
          }
        }
        push(TokenKind::Number, start, pos_);
        continue;
      }
      RB_TRY(read_operator());
    }
    if (depth_ > 0)
      return failure(fmt::format("{}:{}: '{}' is never closed", name_, open_lines_.back().second, open_lines_.back().first),
                     "the script is not valid Python; fix it (python3 -m py_compile <file> shows the error)");
    end_statement();
    return std::move(statements_);
  }

 private:
  void newline() {
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }

  void skip_to_line_end() {
    while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
    if (pos_ < src_.size()) newline();
  }

  void push(TokenKind kind, size_t begin, size_t end) {
    Token t;
    t.kind = kind;
    t.text = std::string(src_.substr(begin, end - begin));
    t.begin = begin;
    t.end = end;
    t.line = line_;  // only strings span lines, and they are pushed by read_string
    t.col = static_cast<int>(begin - line_start_);
    add(std::move(t));
  }

  void add(Token t) {
    if (current_.tokens.empty()) {
      current_.first_line = t.line;
      current_.begin = t.begin;
      current_.first_on_line = line_statement_count_ == 0;
      current_.indent = line_indent_;
      if (line_statement_count_ > 0 && line_first_statement_compound_) current_.indent = line_indent_ + 1;
      if (line_statement_count_ == 0 && t.kind == TokenKind::Name && is_compound_keyword(t.text))
        line_first_statement_compound_ = true;
    }
    current_.last_line = line_;
    current_.end = t.end;
    current_.tokens.push_back(std::move(t));
  }

  void end_statement() {
    if (current_.tokens.empty()) return;
    statements_.push_back(std::move(current_));
    current_ = Statement{};
    ++line_statement_count_;
  }

  Status read_string(size_t literal_start, size_t quote_pos) {
    int start_line = line_;
    size_t start_line_start = line_start_;
    std::string prefix;
    for (size_t i = literal_start; i < quote_pos; ++i)
      prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(src_[i])));
    bool raw = prefix.find('r') != std::string::npos;
    char q = src_[quote_pos];
    bool triple = quote_pos + 2 < src_.size() && src_[quote_pos + 1] == q && src_[quote_pos + 2] == q;
    size_t body_start = quote_pos + (triple ? 3 : 1);
    size_t p = body_start;
    for (;;) {
      if (p >= src_.size())
        return failure(fmt::format("{}:{}: unterminated {}string", name_, start_line, triple ? "triple-quoted " : ""),
                       "the script is not valid Python; fix it (python3 -m py_compile <file> shows the error)");
      char c = src_[p];
      if (c == '\\' && p + 1 < src_.size()) {
        if (src_[p + 1] == '\n') {
          ++line_;
          line_start_ = p + 2;
        }
        p += 2;
        continue;
      }
      if (c == '\n') {
        if (!triple)
          return failure(fmt::format("{}:{}: unterminated string", name_, start_line),
                         "the script is not valid Python; fix it (python3 -m py_compile <file> shows the error)");
        ++line_;
        line_start_ = p + 1;
        ++p;
        continue;
      }
      if (c == q) {
        if (!triple) break;
        if (p + 2 < src_.size() && src_[p + 1] == q && src_[p + 2] == q) break;
      }
      ++p;
    }
    size_t body_end = p;
    pos_ = p + (triple ? 3 : 1);
    Token t;
    t.kind = TokenKind::String;
    t.text = std::string(src_.substr(literal_start, pos_ - literal_start));
    t.prefix = prefix;
    std::string_view body = src_.substr(body_start, body_end - body_start);
    t.value = raw ? std::string(body) : decode_escapes(body);
    t.begin = literal_start;
    t.end = pos_;
    t.line = start_line;
    t.col = static_cast<int>(literal_start - start_line_start);
    add(std::move(t));
    return {};
  }

  Status read_operator() {
    static constexpr std::array<std::string_view, 5> kThree{"**=", "//=", "...", ">>=", "<<="};
    static constexpr std::array<std::string_view, 20> kTwo{"->", "**", "//", "==", "!=", "<=", ">=",
                                                           ":=", "+=", "-=", "*=", "/=", "%=", "&=",
                                                           "|=", "^=", "@=", "<<", ">>", "<>"};
    size_t len = 1;
    for (auto op : kThree)
      if (src_.substr(pos_, 3) == op) len = 3;
    if (len == 1)
      for (auto op : kTwo)
        if (src_.substr(pos_, 2) == op) len = 2;
    char c = src_[pos_];
    if (c == '(' || c == '[' || c == '{') {
      ++depth_;
      open_lines_.emplace_back(c, line_);
    } else if (c == ')' || c == ']' || c == '}') {
      if (depth_ == 0)
        return failure(fmt::format("{}:{}: unmatched '{}'", name_, line_, c),
                       "the script is not valid Python; fix it (python3 -m py_compile <file> shows the error)");
      --depth_;
      open_lines_.pop_back();
    }
    if (c == ';' && depth_ == 0) {
      ++pos_;
      end_statement();
      return {};
    }
    push(TokenKind::Op, pos_, pos_ + len);
    pos_ += len;
    return {};
  }

  std::string_view src_;
  std::string_view name_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  int depth_ = 0;
  std::vector<std::pair<char, int>> open_lines_;
  bool at_line_start_ = true;
  int line_indent_ = 0;
  bool line_first_statement_compound_ = false;
  int line_statement_count_ = 0;
  Statement current_;
  std::vector<Statement> statements_;
};

}  // namespace

bool is_compound_keyword(std::string_view word) {
  static constexpr std::array<std::string_view, 12> kWords{"def",   "class", "if",   "elif",    "else",  "for",
                                                           "while", "with",  "try",  "except",  "finally", "async"};
  for (auto w : kWords)
    if (w == word) return true;
  return false;
}

Result<std::vector<Statement>> split_statements(std::string_view source, std::string_view name) {
  return Lexer(source, name).run();
}

}  // namespace rb::db::py
