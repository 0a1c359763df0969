#include "db/script_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <system_error>

#include "db/python_lexer.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace fs = std::filesystem;
using py::Statement;
using py::Token;
using py::TokenKind;

namespace {

constexpr size_t kMaxReportedScriptErrors = 20;  // enough to see a pattern, short enough to read

const char* const kSyntaxHint = "the script is not valid Python; fix it (python3 -m py_compile <file> shows the error)";

// A literal that a revision variable may hold.
struct Literal {
  bool is_none = false;
  bool is_sequence = false;  // a tuple, list or set (as opposed to a single string)
  std::vector<std::string> strings;
};

std::string snippet(std::string_view source, const Statement& st, size_t from_token) {
  if (from_token >= st.tokens.size()) return {};
  std::string text(source.substr(st.tokens[from_token].begin, st.end - st.tokens[from_token].begin));
  // One line, short enough for an error message.
  for (auto& c : text)
    if (c == '\n') c = ' ';
  constexpr size_t kMaxSnippet = 60;
  if (text.size() > kMaxSnippet) text = text.substr(0, kMaxSnippet) + "...";
  return text;
}

// Adjacent string literals concatenate, as in Python. Bytes and f-strings are refused.
std::optional<std::string> read_strings(const std::vector<Token>& toks, size_t& i, size_t end, std::string& why) {
  if (i >= end || toks[i].kind != TokenKind::String) return std::nullopt;
  std::string value;
  while (i < end && toks[i].kind == TokenKind::String) {
    if (toks[i].prefix.find('b') != std::string::npos) {
      why = "a bytes literal";
      return std::nullopt;
    }
    if (toks[i].prefix.find('f') != std::string::npos) {
      why = "an f-string";
      return std::nullopt;
    }
    value += toks[i].value;
    ++i;
  }
  return value;
}

// Parses tokens [begin, end) as None, strings, or a tuple/list/set of strings (bracketed or
// bare, trailing comma allowed). On failure, `why` says what was found.
std::optional<Literal> parse_literal(const std::vector<Token>& toks, size_t begin, size_t end, std::string& why) {
  Literal lit;
  if (begin >= end) {
    why = "nothing";
    return std::nullopt;
  }
  if (end - begin == 1 && py::is_name(toks[begin], "None")) {
    lit.is_none = true;
    return lit;
  }
  size_t i = begin;
  size_t stop = end;
  bool bracketed = false;
  if (py::is_op(toks[i], "(") || py::is_op(toks[i], "[") || py::is_op(toks[i], "{")) {
    std::string close = py::is_op(toks[i], "(") ? ")" : py::is_op(toks[i], "[") ? "]" : "}";
    if (!py::is_op(toks[end - 1], close)) {
      why = "an expression";
      return std::nullopt;
    }
    bracketed = true;
    lit.is_sequence = close != ")";  // "(x)" is just x; "(x,)" and "()" are tuples
    ++i;
    --stop;
    if (i == stop) {  // (), [], {}
      lit.is_sequence = true;
      return lit;
    }
  }
  size_t items = 0;
  bool trailing_comma = false;
  while (i < stop) {
    std::string item_why;
    auto value = read_strings(toks, i, stop, item_why);
    if (!value) {
      why = item_why.empty() ? "an expression" : item_why;
      return std::nullopt;
    }
    lit.strings.push_back(std::move(*value));
    ++items;
    trailing_comma = false;
    if (i == stop) break;
    if (!py::is_op(toks[i], ",")) {
      why = "an expression";
      return std::nullopt;
    }
    trailing_comma = true;
    ++i;
  }
  if (items > 1 || trailing_comma) lit.is_sequence = true;
  if (!bracketed && items == 0) {
    why = "an expression";
    return std::nullopt;
  }
  return lit;
}

// Index of the first top-level token equal to op at bracket depth 0, or npos.
size_t find_top_level(const std::vector<Token>& toks, size_t from, std::string_view op) {
  int depth = 0;
  for (size_t i = from; i < toks.size(); ++i) {
    const auto& t = toks[i];
    if (t.kind == TokenKind::Op) {
      if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
      else if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
      else if (depth == 0 && t.text == op) return i;
    }
  }
  return std::string::npos;
}

std::string alembic_doc(const std::string& docstring) {
  std::string doc = trim(docstring);
  auto blank = doc.find("\n\n");
  if (blank != std::string::npos) doc = doc.substr(0, blank);
  return doc;
}

bool is_revision_variable(std::string_view name) {
  return name == "revision" || name == "down_revision" || name == "branch_labels" || name == "depends_on";
}

}  // namespace

bool is_migration_filename(std::string_view filename) {
  if (filename.size() < 3 || filename.substr(filename.size() - 3) != ".py") return false;
  if (filename.starts_with("__init__") || filename.starts_with(".#")) return false;
  return true;
}

Result<MigrationScript> parse_migration_script(std::string_view source, const fs::path& path) {
  const std::string name = path.string();
  RB_TRY_ASSIGN(auto statements, py::split_statements(source, name));

  MigrationScript script;
  script.path = path;
  bool have_revision = false, have_down = false;

  // The module docstring: a first statement made of string literals only.
  if (!statements.empty() && statements[0].indent == 0 &&
      std::all_of(statements[0].tokens.begin(), statements[0].tokens.end(),
                  [](const Token& t) { return t.kind == TokenKind::String; })) {
    size_t i = 0;
    std::string why;
    if (auto doc = read_strings(statements[0].tokens, i, statements[0].tokens.size(), why)) script.doc = alembic_doc(*doc);
  }

  for (size_t s = 0; s < statements.size(); ++s) {
    const Statement& st = statements[s];
    if (st.indent != 0) continue;  // inside a function, class or block
    const auto& toks = st.tokens;

    // def upgrade() / def downgrade(): the body is what follows, more indented.
    size_t def_at = py::is_name(toks[0], "async") && toks.size() > 1 ? 1 : 0;
    if (py::is_name(toks[def_at], "def") && toks.size() > def_at + 1 && toks[def_at + 1].kind == TokenKind::Name &&
        std::find(script.functions.begin(), script.functions.end(), toks[def_at + 1].text) == script.functions.end())
      script.functions.push_back(toks[def_at + 1].text);
    if (py::is_name(toks[def_at], "def") && toks.size() > def_at + 1 &&
        (toks[def_at + 1].text == "upgrade" || toks[def_at + 1].text == "downgrade")) {
      size_t colon = find_top_level(toks, def_at + 2, ":");
      if (colon == std::string::npos)
        return failure(fmt::format("{}:{}: cannot find the ':' that ends `def {}(...)`", name, st.first_line,
                                   toks[def_at + 1].text),
                       kSyntaxHint);
      FunctionSource fn;
      fn.found = true;
      fn.def_line = st.first_line;
      fn.body_line = toks[colon].line;
      size_t body_end = st.end;
      size_t next = s + 1;
      while (next < statements.size() && statements[next].indent > 0) body_end = statements[next++].end;
      if (colon + 1 == toks.size() && next == s + 1)
        return failure(fmt::format("{}:{}: `def {}()` has no body", name, st.first_line, toks[def_at + 1].text),
                       kSyntaxHint);
      fn.body = std::string(source.substr(toks[colon].end, body_end - toks[colon].end));
      (toks[def_at + 1].text == "upgrade" ? script.upgrade : script.downgrade) = std::move(fn);
      continue;
    }

    // NAME [: annotation] = value
    if (toks[0].kind != TokenKind::Name || !is_revision_variable(toks[0].text) || toks.size() < 2) continue;
    size_t eq;
    if (py::is_op(toks[1], "=")) {
      eq = 1;
    } else if (py::is_op(toks[1], ":")) {
      eq = find_top_level(toks, 2, "=");
      if (eq == std::string::npos) continue;  // a bare annotation assigns nothing
    } else {
      continue;  // augmented assignment, comparison, attribute access...
    }
    // `a = b = value`: the value is after the last '='.
    for (size_t more; (more = find_top_level(toks, eq + 1, "=")) != std::string::npos;) eq = more;

    const std::string& var = toks[0].text;
    std::string why;
    auto lit = parse_literal(toks, eq + 1, toks.size(), why);
    if (!lit)
      return failure(fmt::format("{}:{}: {} is {} (`{}`), not a literal string, None, tuple or list", name,
                                 st.first_line, var, why, snippet(source, st, eq + 1)),
                     "rollback reads migration scripts without running them; write the revision identifiers as "
                     "literals, as `alembic revision` generates them");
    if (var == "revision") {
      if (lit->is_none || lit->is_sequence || lit->strings.size() != 1)
        return failure(fmt::format("{}:{}: revision must be one string, found `{}`", name, st.first_line,
                                   snippet(source, st, eq + 1)),
                       "set it to the script's revision id, e.g. revision = \"1975ea83b712\"");
      script.revision = lit->strings[0];
      script.revision_line = st.first_line;
      have_revision = true;
    } else if (var == "down_revision") {
      script.down_revisions = lit->strings;
      script.down_revision_line = st.first_line;
      have_down = true;
    } else if (var == "branch_labels") {
      script.branch_labels = lit->strings;
    } else {
      script.depends_on = lit->strings;
    }
  }

  if (!have_revision)
    return failure(fmt::format("{}: no module-level `revision = \"...\"` assignment", name),
                   "every Alembic migration script names its revision id at module level; if this file is not a "
                   "migration, move it out of the versions folder");
  if (script.revision.empty())
    return failure(fmt::format("{}:{}: revision is an empty string", name, script.revision_line),
                   "set it to the script's revision id");
  if (!have_down)
    return failure(fmt::format("{}: no module-level `down_revision = ...` assignment", name),
                   "set down_revision to the parent revision id, or to None for the first migration");
  for (const auto& d : script.down_revisions)
    if (d.empty())
      return failure(fmt::format("{}:{}: down_revision contains an empty string", name, script.down_revision_line),
                     "use None for the first migration");
  return script;
}

namespace {
// The largest migration script read. Alembic scripts are a few KB; even a data migration with
// inline SQL stays far below 4 MiB, and a misplaced dump in the versions folder is refused.
constexpr size_t kMaxMigrationScript = size_t{4} << 20;
}  // namespace

Result<std::vector<MigrationScript>> read_migration_scripts(const std::vector<fs::path>& folders,
                                                            const ReadOptions& options) {
  std::vector<MigrationScript> scripts;
  std::vector<std::string> errors;
  std::string first_hint;

  auto read_one = [&](const fs::path& file) {
    auto text = read_file(file, kMaxMigrationScript);
    if (!text) {
      errors.push_back(text.error().message);
      return;
    }
    auto script = parse_migration_script(*text, file);
    if (!script) {
      errors.push_back(script.error().message);
      if (first_hint.empty()) first_hint = script.error().hint;
      return;
    }
    scripts.push_back(std::move(*script));
  };

  for (const auto& folder : folders) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
      return failure(fmt::format("cannot read migration scripts: {} is not a folder", folder.string()),
                     "check script_location (and version_locations) in alembic.ini");
    std::vector<fs::path> subfolders{folder};
    for (size_t k = 0; k < subfolders.size(); ++k) {
      fs::directory_iterator it(subfolders[k], ec);
      if (ec)
        return failure(fmt::format("cannot list {}: {}", subfolders[k].string(), ec.message()),
                       "check the folder's permissions");
      for (; it != fs::directory_iterator(); it.increment(ec)) {
        const auto& entry = *it;
        std::string filename = entry.path().filename().string();
        std::error_code type_ec;
        if (entry.is_directory(type_ec)) {
          if (options.recursive && filename != "__pycache__") subfolders.push_back(entry.path());
          continue;
        }
        if (!is_migration_filename(filename) || !entry.is_regular_file(type_ec)) continue;
        read_one(entry.path());
      }
      if (ec)
        return failure(fmt::format("cannot list {}: {}", subfolders[k].string(), ec.message()),
                       "check the folder's permissions");
    }
  }

  if (!errors.empty()) {
    std::string message = errors.size() == 1 ? errors[0] : fmt::format("{} migration scripts cannot be read:", errors.size());
    if (errors.size() > 1) {
      for (size_t i = 0; i < errors.size() && i < kMaxReportedScriptErrors; ++i) message += "\n  " + errors[i];
      if (errors.size() > kMaxReportedScriptErrors)
        message += fmt::format("\n  ... and {} more", errors.size() - kMaxReportedScriptErrors);
    }
    return failure(std::move(message), first_hint);
  }
  return scripts;
}

}  // namespace rb::db
