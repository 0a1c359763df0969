#include "db/risk.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <tuple>
#include <optional>

#include "db/python_calls.hpp"
#include "db/python_lexer.hpp"
#include "util/strings.hpp"

namespace rb::db {

using py::Statement;
using py::Token;
using py::TokenKind;
using py::Arg;
using py::arg;
using py::literal_value;
using py::matching_close;
using py::one_line;
using py::parse_args;
using py::value_or_empty;

namespace {


// --- SQL -------------------------------------------------------------------------------------

struct SqlToken {
  enum Kind { Word, Quoted, Punct } kind;
  std::string text;  // Word: uppercase; Quoted: the identifier; Punct: the character
  std::string raw;   // Word: as written
};

std::vector<SqlToken> sql_tokens(std::string_view sql) {
  std::vector<SqlToken> out;
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      auto end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else if (c == '\'') {  // a string literal: skipped
      ++i;
      while (i < sql.size()) {
        if (sql[i] == '\'' && i + 1 < sql.size() && sql[i + 1] == '\'') i += 2;
        else if (sql[i++] == '\'') break;
      }
      out.push_back({SqlToken::Punct, "'", "'"});
    } else if (c == '"' || c == '`') {
      std::string id;
      ++i;
      while (i < sql.size()) {
        if (sql[i] == c && i + 1 < sql.size() && sql[i + 1] == c) {
          id += c;
          i += 2;
        } else if (sql[i] == c) {
          ++i;
          break;
        } else {
          id += sql[i++];
        }
      }
      out.push_back({SqlToken::Quoted, id, id});
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80) {
      size_t b = i;
      while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' || sql[i] == '$' ||
                                static_cast<unsigned char>(sql[i]) >= 0x80))
        ++i;
      std::string raw(sql.substr(b, i - b));
      std::string up;
      for (char ch : raw) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      out.push_back({SqlToken::Word, up, raw});
    } else {
      out.push_back({SqlToken::Punct, std::string(1, c), std::string(1, c)});
      ++i;
    }
  }
  return out;
}

class SqlScanner {
 public:
  SqlScanner(std::vector<SqlToken> toks, int line) : t_(std::move(toks)), line_(line) {}

  std::vector<Finding> run() {
    while (i_ < t_.size()) {
      size_t before = i_;
      if (word("DROP")) {
        drop();
      } else if (word("TRUNCATE")) {
        truncate();
      } else if (word("DELETE")) {
        del();
      } else if (word("ALTER")) {
        alter();
      } else if (word("UPDATE")) {
        update();
      }
      if (i_ == before) ++i_;
    }
    return std::move(out_);
  }

 private:
  bool at_word(std::string_view w, size_t k = 0) const {
    return i_ + k < t_.size() && t_[i_ + k].kind == SqlToken::Word && t_[i_ + k].text == w;
  }
  bool word(std::string_view w) {
    if (!at_word(w)) return false;
    ++i_;
    return true;
  }
  bool punct(std::string_view p) {
    if (i_ < t_.size() && t_[i_].kind == SqlToken::Punct && t_[i_].text == p) {
      ++i_;
      return true;
    }
    return false;
  }
  void if_exists() {
    if (at_word("IF") && at_word("EXISTS", 1)) i_ += 2;
  }
  // An identifier: quoted as is, unquoted folded to lowercase.
  std::optional<std::string> ident() {
    if (i_ >= t_.size()) return std::nullopt;
    const auto& t = t_[i_];
    if (t.kind == SqlToken::Quoted) {
      ++i_;
      return t.text;
    }
    if (t.kind == SqlToken::Word) {
      ++i_;
      return to_lower(t.raw);
    }
    return std::nullopt;
  }
  // [catalog.][schema.]name
  std::optional<std::pair<std::string, std::string>> qualified() {
    auto first = ident();
    if (!first) return std::nullopt;
    std::vector<std::string> parts{*first};
    while (punct(".")) {
      auto next = ident();
      if (!next) break;
      parts.push_back(*next);
    }
    if (parts.size() == 1) return std::make_pair(std::string(), parts[0]);
    return std::make_pair(parts[parts.size() - 2], parts.back());
  }
  bool at_statement_end() const { return i_ >= t_.size() || (t_[i_].kind == SqlToken::Punct && t_[i_].text == ";"); }

  void add(FindingKind kind, Severity sev, std::string schema, std::string table, std::string column, std::string action) {
    out_.push_back(Finding{kind, sev, std::move(schema), std::move(table), std::move(column), std::move(action), {}, line_});
  }

  void drop() {
    if (word("TABLE")) {
      if_exists();
      do {
        auto name = qualified();  // unreadable (an f-string placeholder): still a finding
        add(FindingKind::RawSqlDestructive, Severity::High, name ? name->first : "", name ? name->second : "", "",
            "DROP TABLE");
        if (!name) break;
      } while (punct(","));
    } else if (word("INDEX")) {
      word("CONCURRENTLY");
      if_exists();
      auto name = qualified();
      std::string schema, table;
      if (word("ON")) {  // MySQL: DROP INDEX ix ON t
        if (auto t = qualified()) std::tie(schema, table) = *t;
      }
      add(FindingKind::DropIndex, Severity::Low, schema, table, "", "DROP INDEX" + (name ? " " + name->second : ""));
    } else if (word("SCHEMA")) {
      if_exists();
      auto name = qualified();
      add(FindingKind::RawSqlDestructive, Severity::High, name ? name->second : "", "", "", "DROP SCHEMA");
    }
  }

  void truncate() {
    word("TABLE");
    word("ONLY");
    do {
      auto name = qualified();
      add(FindingKind::RawSqlDestructive, Severity::High, name ? name->first : "", name ? name->second : "", "",
          "TRUNCATE");
      if (!name) break;
    } while (punct(","));
  }

  void del() {
    if (!word("FROM")) return;
    word("ONLY");
    auto name = qualified();
    if (!name) name = std::make_pair(std::string(), std::string());
    bool where = false;
    for (size_t k = i_; k < t_.size() && !(t_[k].kind == SqlToken::Punct && t_[k].text == ";"); ++k)
      if (t_[k].kind == SqlToken::Word && t_[k].text == "WHERE") where = true;
    add(FindingKind::RawSqlDestructive, Severity::High, name->first, name->second, "",
        where ? "DELETE ... WHERE" : "DELETE");
  }

  void update() {
    word("ONLY");
    auto name = qualified();
    bool set_follows = at_word("SET") || at_word("SET", 1) || (at_word("AS") && at_word("SET", 2));
    if (!name || !set_follows) return;
    add(FindingKind::RawSqlDestructive, Severity::Medium, name->first, name->second, "", "UPDATE");
  }

  void alter() {
    if (!word("TABLE")) return;
    if_exists();
    word("ONLY");
    auto name = qualified();
    if (!name) return;
    // One or more actions separated by commas; only the DROP ones matter.
    while (!at_statement_end()) {
      if (word("DROP")) {
        if (word("CONSTRAINT") || word("FOREIGN") || word("PRIMARY") || word("CHECK")) {
          word("KEY");
          if_exists();
          auto c = ident();
          add(FindingKind::DropConstraint, Severity::Low, name->first, name->second, "",
              "ALTER TABLE ... DROP CONSTRAINT" + (c ? " " + *c : ""));
        } else if (word("INDEX") || word("KEY")) {
          auto ix = ident();
          add(FindingKind::DropIndex, Severity::Low, name->first, name->second, "",
              "ALTER TABLE ... DROP INDEX" + (ix ? " " + *ix : ""));
        } else if (at_word("DEFAULT") || at_word("NOT") || at_word("EXPRESSION") || at_word("IDENTITY")) {
          // ALTER COLUMN ... DROP DEFAULT etc. are not reached here; harmless anyway
        } else {
          word("COLUMN");
          if_exists();
          auto col = ident();
          if (col)
            add(FindingKind::RawSqlDestructive, Severity::High, name->first, name->second, *col,
                "ALTER TABLE ... DROP COLUMN");
        }
      }
      // Skip to the next top-level comma (or the end of the statement).
      int depth = 0;
      while (!at_statement_end()) {
        const auto& t = t_[i_];
        if (t.kind == SqlToken::Punct) {
          if (t.text == "(") ++depth;
          if (t.text == ")") --depth;
          if (t.text == "," && depth == 0) {
            ++i_;
            break;
          }
        }
        ++i_;
      }
    }
  }

  std::vector<SqlToken> t_;
  int line_;
  size_t i_ = 0;
  std::vector<Finding> out_;
};

// --- Python ----------------------------------------------------------------------------------

bool is_raise(const Statement& st) { return py::is_name(st.tokens[0], "raise"); }

bool is_inert(const Statement& st) {
  const auto& t = st.tokens;
  if (t.size() == 1 && (py::is_name(t[0], "pass") || py::is_op(t[0], "...") || py::is_name(t[0], "return"))) return true;
  if (t.size() == 2 && py::is_name(t[0], "return") && py::is_name(t[1], "None")) return true;
  return std::all_of(t.begin(), t.end(), [](const Token& k) { return k.kind == TokenKind::String; });
}

void add_finding(RiskReport& r, Finding f) {
  if (static_cast<int>(f.severity) > static_cast<int>(r.severity)) r.severity = f.severity;
  r.findings.push_back(std::move(f));
}

}  // namespace

bool RiskReport::destroys_data() const {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.severity == Severity::High; });
}

bool RiskReport::irreversible() const {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.severity == Severity::Blocking; });
}

std::vector<Finding> analyze_sql(std::string_view sql, int line) { return SqlScanner(sql_tokens(sql), line).run(); }

Result<RiskReport> analyze_function_body(std::string_view body, int first_line, std::string_view name,
                                         const std::vector<std::string>& helpers) {
  RB_TRY_ASSIGN(auto statements, py::split_statements(body, name));
  RiskReport report;
  const int offset = first_line - 1;
  auto src_of = [&](const Token& from, const Token& to) {
    return one_line(body.substr(from.begin, to.end - from.begin));
  };

  int top = statements.empty() ? 0 : statements[0].indent;
  for (const auto& st : statements) top = std::min(top, st.indent);

  // batch_op aliases: `with op.batch_alter_table("t", schema="s") as batch_op:` or an assignment.
  std::map<std::string, std::pair<std::string, std::string>> batch;  // alias -> (schema, table)
  bool does_something = false;
  std::set<std::string> sql_names;  // names assigned SQL text in this body

  for (const auto& st : statements) {
    const auto& toks = st.tokens;
    if (is_inert(st)) continue;
    does_something = true;

    // `stmt = sa.text("...")` / `SQL = "..."`: executing the name later is not opaque.
    if (toks.size() > 2 && toks[0].kind == TokenKind::Name && py::is_op(toks[1], "=") &&
        std::any_of(toks.begin() + 2, toks.end(), [](const Token& t) { return t.kind == TokenKind::String; }))
      sql_names.insert(toks[0].text);

    if (is_raise(st)) {
      Finding f;
      f.kind = FindingKind::Irreversible;
      bool nested = st.indent > top;
      f.severity = nested ? Severity::Medium : Severity::Blocking;
      f.action = "raise";
      f.detail = (nested ? "raises under a condition: " : "raises: ") + src_of(toks.front(), toks.back());
      f.line = toks[0].line + offset;
      add_finding(report, std::move(f));
      continue;
    }

    for (size_t i = 0; i + 1 < toks.size(); ++i) {
      if (toks[i].kind != TokenKind::Name || !py::is_op(toks[i + 1], "(")) continue;
      const std::string& method = toks[i].text;
      std::string receiver;
      size_t expr_start = i;
      if (i >= 2 && py::is_op(toks[i - 1], ".") && toks[i - 2].kind == TokenKind::Name) {
        receiver = toks[i - 2].text;
        expr_start = i - 2;
      } else if (i >= 1 && py::is_op(toks[i - 1], ".")) {
        receiver = "?";  // a call on an expression, e.g. op.get_bind().execute(...)
      }
      size_t close = matching_close(toks, i + 1);
      auto args = parse_args(toks, i + 1, close, body);
      const int line = toks[i].line + offset;
      std::string detail = src_of(toks[expr_start], toks[close]);

      auto finding = [&](FindingKind kind, Severity sev, std::string schema, std::string table, std::string column,
                         std::string action) {
        add_finding(report, Finding{kind, sev, std::move(schema), std::move(table), std::move(column), std::move(action),
                                    detail, line});
      };

      if (receiver.empty() && (method == "globals" ||
                               (std::find(helpers.begin(), helpers.end(), method) != helpers.end() &&
                                method != "upgrade" && method != "downgrade"))) {
        finding(FindingKind::Indirect, Severity::Medium, "", "", "",
                method == "globals" ? "globals()[...]" : method + "()");
        continue;
      }

      if (method == "batch_alter_table") {
        std::string alias;
        if (close + 2 < toks.size() && py::is_name(toks[close + 1], "as") && toks[close + 2].kind == TokenKind::Name)
          alias = toks[close + 2].text;
        else if (expr_start >= 2 && py::is_op(toks[expr_start - 1], "=") && toks[expr_start - 2].kind == TokenKind::Name)
          alias = toks[expr_start - 2].text;
        if (!alias.empty())
          batch[alias] = {value_or_empty(arg(args, 1, "schema")), value_or_empty(arg(args, 0, "table_name"))};
        continue;
      }

      const bool on_op = receiver == "op";
      auto alias = batch.find(receiver);
      const bool on_batch = alias != batch.end();

      if (method == "execute" || method == "exec_driver_sql" || method == "text") {
        // Every string literal in the arguments, e.g. op.execute(sa.text("DELETE ...")).
        std::string sql;
        bool opaque = args.empty();
        for (size_t k = i + 2; k < close; ++k) {
          if (toks[k].kind == TokenKind::String) sql += toks[k].value + " ";
        }
        const Arg* first = arg(args, 0, method == "text" ? "text" : "sqltext");
        if (!first || (!first->value && first->text.find_first_of("\"'") == std::string::npos)) opaque = true;
        auto found = analyze_sql(sql, line);
        for (auto& f : found) {
          f.detail = detail;
          add_finding(report, std::move(f));
        }
        if (found.empty() && opaque && method != "text" && !(first && sql_names.count(first->text)))
          finding(FindingKind::RawSqlOpaque, Severity::Medium, "", "", "", receiver + "." + method + "(<not a literal>)");
        i = close;  // the text() inside an execute() was read with it
        continue;
      }

      if (method == "drop_table" && (on_op || on_batch || receiver.empty())) {
        finding(FindingKind::DropTable, Severity::High, value_or_empty(arg(args, 1, "schema")),
                value_or_empty(arg(args, 0, "table_name")), "", "op.drop_table");
      } else if (method == "drop_column" && on_batch) {
        finding(FindingKind::DropColumn, Severity::High, alias->second.first, alias->second.second,
                value_or_empty(arg(args, 0, "column_name")), "batch_op.drop_column");
      } else if (method == "drop_column" && (on_op || !receiver.empty())) {
        finding(FindingKind::DropColumn, Severity::High, on_op ? value_or_empty(arg(args, 2, "schema")) : "",
                on_op ? value_or_empty(arg(args, 0, "table_name")) : "",
                value_or_empty(arg(args, on_op ? 1 : 0, "column_name")), receiver + ".drop_column");
      } else if (method == "drop_index" && (on_op || on_batch)) {
        finding(FindingKind::DropIndex, Severity::Low,
                on_batch ? alias->second.first : value_or_empty(arg(args, 2, "schema")),
                on_batch ? alias->second.second : value_or_empty(arg(args, 1, "table_name")), "",
                on_op ? "op.drop_index" : "batch_op.drop_index");
      } else if (method == "drop_constraint" && (on_op || on_batch)) {
        finding(FindingKind::DropConstraint, Severity::Low,
                on_batch ? alias->second.first : value_or_empty(arg(args, 3, "schema")),
                on_batch ? alias->second.second : value_or_empty(arg(args, 1, "table_name")), "",
                on_op ? "op.drop_constraint" : "batch_op.drop_constraint");
      }
    }
  }

  if (!does_something) {
    Finding f;
    f.kind = FindingKind::Noop;
    f.severity = Severity::None;
    f.action = "pass";
    f.detail = "the downgrade does nothing: the version row moves, the schema and data stay";
    f.line = statements.empty() ? first_line : statements[0].first_line + offset;
    add_finding(report, std::move(f));
  }
  return report;
}

Result<RiskReport> analyze_downgrade(const MigrationScript& script) {
  if (!script.downgrade.found) {
    RiskReport r;
    Finding f;
    f.kind = FindingKind::Irreversible;
    f.severity = Severity::Blocking;
    f.action = "no downgrade()";
    f.detail = "the script has no module-level downgrade(): Alembic fails on it";
    add_finding(r, std::move(f));
    return r;
  }
  return analyze_function_body(script.downgrade.body, script.downgrade.body_line, script.path.string(), script.functions);
}

const char* to_string(FindingKind kind) {
  switch (kind) {
    case FindingKind::DropTable: return "drop_table";
    case FindingKind::DropColumn: return "drop_column";
    case FindingKind::DropIndex: return "drop_index";
    case FindingKind::DropConstraint: return "drop_constraint";
    case FindingKind::RawSqlDestructive: return "raw_sql_destructive";
    case FindingKind::RawSqlOpaque: return "raw_sql_opaque";
    case FindingKind::Irreversible: return "irreversible";
    case FindingKind::Indirect: return "indirect";
    case FindingKind::Noop: return "noop";
  }
  return "?";
}

const char* to_string(Severity severity) {
  switch (severity) {
    case Severity::None: return "none";
    case Severity::Low: return "low";
    case Severity::Medium: return "medium";
    case Severity::High: return "high";
    case Severity::Blocking: return "blocking";
  }
  return "?";
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string quote_table(std::string_view schema, std::string_view table) {
  return schema.empty() ? quote_identifier(table) : quote_identifier(schema) + "." + quote_identifier(table);
}

std::vector<DataCheck> data_checks(const std::vector<Finding>& findings) {
  std::vector<DataCheck> out;
  auto push = [&](DataCheck c) {
    for (const auto& o : out)
      if (o.sql == c.sql) return;
    out.push_back(std::move(c));
  };
  for (const auto& f : findings) {
    if (f.table.empty()) continue;
    std::string display = f.schema.empty() ? f.table : f.schema + "." + f.table;
    const bool column_drop = (f.kind == FindingKind::DropColumn ||
                              (f.kind == FindingKind::RawSqlDestructive && f.action == "ALTER TABLE ... DROP COLUMN"));
    const bool rows_drop = f.kind == FindingKind::DropTable ||
                           (f.kind == FindingKind::RawSqlDestructive &&
                            (f.action == "DROP TABLE" || f.action == "TRUNCATE" || f.action == "DELETE" ||
                             f.action == "DELETE ... WHERE"));
    if (column_drop && !f.column.empty()) {
      DataCheck c{f.schema, f.table, f.column,
                  fmt::format("SELECT count(*) FROM {} WHERE {} IS NOT NULL", quote_table(f.schema, f.table),
                              quote_identifier(f.column)),
                  fmt::format("non-NULL values of {}.{}", display, f.column), false};
      push(std::move(c));
    } else if (rows_drop) {
      DataCheck c{f.schema, f.table, "", fmt::format("SELECT count(*) FROM {}", quote_table(f.schema, f.table)),
                  fmt::format("rows in {}", display), f.action == "DELETE ... WHERE"};
      push(std::move(c));
    }
  }
  return out;
}

}  // namespace rb::db
