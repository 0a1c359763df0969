#include "db/fix_forward.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "db/python_calls.hpp"
#include "db/python_lexer.hpp"
#include "git/revert.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace {

using py::Arg;
using py::arg;
using py::matching_close;
using py::parse_args;
using py::Statement;
using py::Token;
using py::TokenKind;
using py::value_or_empty;

// Alembic's revision ids: `uuid.uuid4().hex[-12:]`, 6 random bytes in hex.
constexpr size_t kRevisionBytes = 6;
// The longest slug in a file name: Alembic's default `truncate_slug_length` is 40.
constexpr size_t kMaxSlug = 40;

// Text safe inside a Python comment or docstring: one line, no control characters, no quotes
// or backslashes that could close or escape the docstring.
std::string comment_text(std::string_view text) {
  std::string out = py::one_line(text);
  for (auto& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
    else if (c == '"') c = '\'';
    else if (c == '\\') c = '/';
  }
  return out;
}

bool is_inert(const Statement& st) {
  const auto& t = st.tokens;
  if (t.size() == 1 && (py::is_name(t[0], "pass") || t[0].kind == TokenKind::String)) return true;
  return t.size() == 1 && py::is_op(t[0], "...");
}

// ", schema=\"s\"" or nothing.
std::string schema_kw(const std::string& schema, const char* name = "schema") {
  return schema.empty() ? std::string() : fmt::format(", {}={}", name, python_string(schema));
}

// The name of the column in `sa.Column("c", ...)` / `Column("c", ...)` within tokens [b, e).
std::optional<std::string> column_name(const std::vector<Token>& toks, size_t b, size_t e, std::string_view src) {
  for (size_t k = b; k + 1 < e; ++k) {
    if (py::is_name(toks[k], "Column") && py::is_op(toks[k + 1], "(")) {
      size_t close = matching_close(toks, k + 1);
      auto inner = parse_args(toks, k + 1, close, src);
      const Arg* a = arg(inner, 0, "name");
      if (a && a->value) return *a->value;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

const char* constraint_type(const std::string& method) {
  if (method == "create_unique_constraint") return "unique";
  if (method == "create_check_constraint") return "check";
  if (method == "create_foreign_key") return "foreignkey";
  if (method == "create_primary_key") return "primary";
  return nullptr;
}

// Keyword arguments of alter_column that change something other than the name.
bool alter_changes_more_than_the_name(const std::vector<Arg>& args, bool on_batch) {
  size_t positional = 0;
  for (const auto& a : args) {
    if (a.keyword.empty()) {
      ++positional;
      continue;
    }
    if (a.keyword == "new_column_name" || a.keyword == "schema" || a.keyword == "table_name" ||
        a.keyword == "column_name" || a.keyword.starts_with("existing_"))
      continue;
    return true;
  }
  return positional > (on_batch ? 1u : 2u);  // nullable etc. given by position
}

}  // namespace

std::string python_string(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out + "\"";
}

std::string new_revision_id() { return random_hex(kRevisionBytes); }

Result<ReversedUpgrade> reverse_upgrade(const MigrationScript& script) {
  ReversedUpgrade out;
  if (!script.upgrade.found) {
    out.todos.push_back({script.revision, script.revision_line, "(no upgrade())", "the script has no upgrade() to reverse"});
    return out;
  }
  const std::string_view body = script.upgrade.body;
  RB_TRY_ASSIGN(auto statements, py::split_statements(body, script.path.filename().string() + ": upgrade()"));
  const int offset = script.upgrade.body_line - 1;
  auto src_of = [&](const Token& from, const Token& to) {
    return comment_text(body.substr(from.begin, to.end - from.begin));
  };
  std::map<std::string, std::pair<std::string, std::string>> batch;  // alias -> (schema, table)
  std::vector<ReverseOp> ops;

  for (const auto& st : statements) {
    const auto& toks = st.tokens;
    if (is_inert(st)) continue;
    const int st_line = toks[0].line + offset;
    const std::string st_text = src_of(toks.front(), toks.back());
    auto todo = [&](int line, std::string original, std::string why) {
      out.todos.push_back({script.revision, line, std::move(original), std::move(why)});
    };

    // The first call on `op` or a batch alias in the statement.
    bool handled = false;
    for (size_t i = 2; i + 1 < toks.size() && !handled; ++i) {
      if (toks[i].kind != TokenKind::Name || !py::is_op(toks[i + 1], "(") || !py::is_op(toks[i - 1], ".") ||
          toks[i - 2].kind != TokenKind::Name)
        continue;
      const std::string& receiver = toks[i - 2].text;
      auto alias = batch.find(receiver);
      const bool on_batch = alias != batch.end();
      if (receiver != "op" && !on_batch) continue;
      handled = true;
      const std::string& method = toks[i].text;
      const size_t close = matching_close(toks, i + 1);
      const auto args = parse_args(toks, i + 1, close, body);
      const int line = toks[i].line + offset;
      const std::string original = src_of(toks[i - 2], toks[close]);
      const std::string b_schema = on_batch ? alias->second.first : "";
      const std::string b_table = on_batch ? alias->second.second : "";

      if (method == "batch_alter_table") {
        std::string name;
        if (close + 2 < toks.size() && py::is_name(toks[close + 1], "as") && toks[close + 2].kind == TokenKind::Name)
          name = toks[close + 2].text;
        else if (i >= 4 && py::is_op(toks[i - 3], "=") && toks[i - 4].kind == TokenKind::Name)
          name = toks[i - 4].text;
        const std::string table = value_or_empty(arg(args, 0, "table_name"));
        if (name.empty() || table.empty()) todo(line, original, "a batch_alter_table whose table or alias is not a literal");
        else batch[name] = {value_or_empty(arg(args, 1, "schema")), table};
        continue;
      }

      ReverseOp op;
      op.revision = script.revision;
      op.line = line;
      op.original = original;
      // A statement run inside `with op.batch_alter_table(...)`, so SQLite works too.
      auto batch_code = [&](const std::string& call) {
        return std::vector<std::string>{
            fmt::format("with op.batch_alter_table({}{}) as batch_op:", python_string(b_table), schema_kw(b_schema)),
            "    batch_op." + call};
      };
      auto need = [&](const Arg* a, const char* what) -> std::optional<std::string> {
        if (a && a->value && !a->value->empty()) return *a->value;
        todo(line, original, fmt::format("{} is not a literal string: write the reverse by hand", what));
        return std::nullopt;
      };

      if (method == "create_table" && !on_batch) {
        auto table = need(arg(args, 0, "table_name"), "the table name");
        if (!table) continue;
        op.schema = value_or_empty(arg(args, 999, "schema"));
        op.table = *table;
        op.code = {fmt::format("op.drop_table({}{})", python_string(*table), schema_kw(op.schema))};
        op.what = "drops table " + *table + " (created by the upgrade), with its rows";
        op.destroys_data = true;
      } else if (method == "add_column") {
        const Arg* col = arg(args, on_batch ? 0 : 1, "column");
        std::optional<std::string> name = col ? column_name(toks, col->first, col->last, body) : std::nullopt;
        if (!name) {
          todo(line, original, "the added column's name is not a literal sa.Column(\"name\", ...): write the reverse by hand");
          continue;
        }
        if (on_batch) {
          op.schema = b_schema;
          op.table = b_table;
          op.code = batch_code(fmt::format("drop_column({})", python_string(*name)));
        } else {
          auto table = need(arg(args, 0, "table_name"), "the table name");
          if (!table) continue;
          op.schema = value_or_empty(arg(args, 2, "schema"));
          op.table = *table;
          op.code = {fmt::format("op.drop_column({}, {}{})", python_string(*table), python_string(*name),
                                 schema_kw(op.schema))};
        }
        op.column = *name;
        op.what = fmt::format("drops column {}.{} (added by the upgrade), with its values", op.table, *name);
        op.destroys_data = true;
      } else if (method == "rename_table" && !on_batch) {
        auto from = need(arg(args, 0, "old_table_name"), "the old table name");
        auto to = need(arg(args, 1, "new_table_name"), "the new table name");
        if (!from || !to) continue;
        op.schema = value_or_empty(arg(args, 2, "schema"));
        op.table = *to;
        op.code = {fmt::format("op.rename_table({}, {}{})", python_string(*to), python_string(*from), schema_kw(op.schema))};
        op.what = fmt::format("renames table {} back to {}", *to, *from);
      } else if (method == "alter_column") {
        const Arg* renamed = arg(args, 999, "new_column_name");
        const bool more = alter_changes_more_than_the_name(args, on_batch);
        if (more)
          todo(line, original, "alter_column changes the type, nullability, default or comment: set the old ones back "
                               "by hand (they are in the migration's downgrade())");
        if (!renamed) continue;
        auto column = need(arg(args, on_batch ? 0 : 1, "column_name"), "the column name");
        auto new_name = need(renamed, "new_column_name");
        if (!column || !new_name) continue;
        if (on_batch) {
          op.schema = b_schema;
          op.table = b_table;
          op.code = batch_code(fmt::format("alter_column({}, new_column_name={})", python_string(*new_name),
                                           python_string(*column)));
        } else {
          auto table = need(arg(args, 0, "table_name"), "the table name");
          if (!table) continue;
          op.schema = value_or_empty(arg(args, 999, "schema"));
          op.table = *table;
          op.code = {fmt::format("op.alter_column({}, {}, new_column_name={}{})", python_string(*table),
                                 python_string(*new_name), python_string(*column), schema_kw(op.schema))};
        }
        op.column = *new_name;
        op.what = fmt::format("renames column {}.{} back to {}", op.table, *new_name, *column);
      } else if (method == "create_index") {
        auto index = need(arg(args, 0, "index_name"), "the index name");
        if (!index) continue;
        if (on_batch) {
          op.schema = b_schema;
          op.table = b_table;
          op.code = batch_code(fmt::format("drop_index({})", python_string(*index)));
        } else {
          auto table = need(arg(args, 1, "table_name"), "the table name");
          if (!table) continue;
          op.schema = value_or_empty(arg(args, 999, "schema"));
          op.table = *table;
          op.code = {fmt::format("op.drop_index({}, table_name={}{})", python_string(*index), python_string(*table),
                                 schema_kw(op.schema))};
        }
        op.what = fmt::format("drops index {} on {}", *index, op.table);
      } else if (const char* type = constraint_type(method)) {
        auto name = need(arg(args, 0, "constraint_name"), "the constraint name (an unnamed constraint cannot be dropped by name)");
        if (!name) continue;
        if (on_batch) {
          op.schema = b_schema;
          op.table = b_table;
          op.code = batch_code(fmt::format("drop_constraint({}, type_=\"{}\")", python_string(*name), type));
        } else {
          const bool fk = method == "create_foreign_key";
          auto table = need(arg(args, 1, fk ? "source_table" : "table_name"), "the table name");
          if (!table) continue;
          op.schema = value_or_empty(arg(args, 999, fk ? "source_schema" : "schema"));
          op.table = *table;
          op.code = {fmt::format("op.drop_constraint({}, {}, type_=\"{}\"{})", python_string(*name),
                                 python_string(*table), type, schema_kw(op.schema))};
        }
        op.what = fmt::format("drops {} constraint {} on {}", type, *name, op.table);
      } else if (method == "execute") {
        todo(line, original, "raw SQL: what it changed (schema or data) cannot be reversed statically");
        continue;
      } else if (method == "bulk_insert") {
        todo(line, original, "inserted rows: delete them by hand if they must go");
        continue;
      } else if (method.starts_with("drop_")) {
        todo(line, original, "re-creating what the upgrade dropped needs its definition: copy it from the migration's "
                             "downgrade()");
        continue;
      } else {
        todo(line, original, fmt::format("{}.{}() is not reversed by rollback: write the reverse by hand",
                                         on_batch ? "batch_op" : "op", method));
        continue;
      }
      ops.push_back(std::move(op));
    }
    if (!handled) {
      // `with` headers of other context managers, loops, assignments of op.get_bind()...
      const bool header = py::is_compound_keyword(toks[0].text) && py::is_op(toks.back(), ":");
      if (!(header && py::is_name(toks[0], "with")))
        todo(st_line, st_text, "not an op.* call: what it does is not reversed");
    }
  }
  std::reverse(ops.begin(), ops.end());
  out.ops = std::move(ops);
  return out;
}

bool FixForward::destroys_data() const {
  return std::any_of(ops.begin(), ops.end(), [](const ReverseOp& o) { return o.destroys_data; });
}

Result<FixForward> make_fix_forward(const std::vector<const MigrationScript*>& scripts,
                                    const std::vector<std::string>& heads, const std::string& revision,
                                    const std::string& created) {
  FixForward ff;
  ff.revision = revision;
  ff.down_revisions = heads;
  for (const auto* s : scripts) {
    ff.reversed.push_back(s->revision);
    RB_TRY_ASSIGN(auto r, reverse_upgrade(*s));
    for (auto& o : r.ops) ff.ops.push_back(std::move(o));
    for (auto& t : r.todos) ff.todos.push_back(std::move(t));
  }

  std::string slug = "fix_forward_" + (ff.reversed.empty() ? std::string("nothing") : ff.reversed.front());
  for (auto& c : slug)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  if (slug.size() > kMaxSlug) slug.resize(kMaxSlug);
  ff.filename = revision + "_" + slug + ".py";

  std::string s;
  s += fmt::format("\"\"\"fix forward: reverse {}\n\n", comment_text(join(ff.reversed, ", ")));
  s += fmt::format("Revision ID: {}\nRevises: {}\nCreate Date: {}\n\n", revision, comment_text(join(heads, ", ")),
                   comment_text(created));
  s += "Generated by `rollback db --fix-forward` from the upgrade() of the migrations below, newest first.\n"
       "Review it like any migration before it is merged and deployed.\n";
  for (const auto* sc : scripts) s += fmt::format("  {}  {}\n", comment_text(sc->revision), comment_text(sc->doc));
  if (!ff.todos.empty())
    s += fmt::format("\n{} step(s) could not be derived: see the TODO comments in upgrade().\n", ff.todos.size());
  s += "\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa  # noqa: F401\n\n\n";
  s += "# revision identifiers, used by Alembic.\n";
  s += fmt::format("revision = {}\n", python_string(revision));
  if (heads.empty()) s += "down_revision = None\n";
  else if (heads.size() == 1) s += fmt::format("down_revision = {}\n", python_string(heads[0]));
  else {
    std::vector<std::string> quoted;
    for (const auto& h : heads) quoted.push_back(python_string(h));
    s += fmt::format("down_revision = ({})\n", join(quoted, ", "));
  }
  s += "branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n";
  bool any = false;
  for (const auto& o : ff.ops) {
    s += fmt::format("    # reverses {} line {}: {}\n", comment_text(o.revision), o.line, o.original);
    if (o.destroys_data) s += fmt::format("    # DESTROYS DATA: {}; back it up before this runs\n", comment_text(o.what));
    for (const auto& l : o.code) s += "    " + l + "\n";
    any = true;
  }
  for (const auto& t : ff.todos) {
    s += fmt::format("    # TODO {} line {}: {}\n    #   {}\n", comment_text(t.revision), t.line, t.original,
                     comment_text(t.why));
  }
  if (!any) s += "    pass\n";
  s += "\n\ndef downgrade():\n";
  s += "    # Going back means applying the upgrade() of the migrations above again, oldest first.\n";
  s += "    raise NotImplementedError(\"write the downgrade of this fix forward, or keep it irreversible\")\n";
  ff.source = std::move(s);
  return ff;
}

Result<FixForwardCommit> commit_fix_forward(git::Git& git, const std::filesystem::path& versions_dir,
                                            const FixForward& ff) {
  namespace fs = std::filesystem;
  auto inside = git.try_run({"rev-parse", "--is-inside-work-tree"});
  if (!inside || !inside->ok())
    return refusal(fmt::format("{} is not a git checkout: the fix forward is written on a new branch for review",
                               git.repo().string()),
                   "run it from the application's git checkout (migrations.path in rollback.yaml), or use --dry-run "
                   "to print the file");
  RB_TRY_ASSIGN(auto top_out, git.run({"rev-parse", "--show-toplevel"}));
  std::error_code ec;
  const fs::path top = fs::weakly_canonical(trim(top_out), ec);
  const fs::path versions = fs::weakly_canonical(versions_dir, ec);
  const fs::path rel = versions.lexically_relative(top);
  if (rel.empty() || *rel.begin() == "..")
    return refusal(fmt::format("the versions folder {} is not inside the git repository {}", versions_dir.string(),
                               top.string()),
                   "point migrations.versions in rollback.yaml at the repository's folder");
  FixForwardCommit out;
  out.path = rel / ff.filename;
  RB_TRY_ASSIGN(out.base_sha, git.resolve_commit("HEAD"));
  git::ScratchWorktree wt(git);
  RB_TRY(wt.add(out.base_sha));
  const fs::path file = wt.path() / out.path;
  if (!fs::is_directory(file.parent_path()))
    return refusal(fmt::format("{} is not committed at HEAD ({}): the fix forward is made on HEAD", rel.string(),
                               out.base_sha.substr(0, 12)),
                   "commit the migrations folder first");
  RB_TRY(write_private_file(file, ff.source));
  git::Git wgit = wt.git();
  RB_TRY(wgit.run({"add", "--", out.path.string()}));
  std::string message = fmt::format("fix forward: reverse {}\n\nGenerated by `rollback db --fix-forward`: {} step(s) "
                                    "derived from the upgrade() of {}, {} TODO(s) to write by hand. Review it like "
                                    "any migration.\n",
                                    join(ff.reversed, ", "), ff.ops.size(), join(ff.reversed, ", "), ff.todos.size());
  RB_TRY(wgit.run({"commit", "--no-verify", "-q", "-F", "-"}, git::RunOptions::with_stdin(message)));
  RB_TRY_ASSIGN(out.sha, wgit.resolve_commit("HEAD"));
  RB_TRY_ASSIGN(out.branch, git::create_local_branch(git, "fix-forward-" + ff.revision, out.sha));
  return out;
}

nlohmann::json FixForward::to_json() const {
  nlohmann::json ops_j = nlohmann::json::array(), todos_j = nlohmann::json::array();
  for (const auto& o : ops)
    ops_j.push_back({{"revision", o.revision}, {"line", o.line}, {"original", o.original}, {"code", o.code},
                     {"what", o.what}, {"destroys_data", o.destroys_data}});
  for (const auto& t : todos)
    todos_j.push_back({{"revision", t.revision}, {"line", t.line}, {"original", t.original}, {"why", t.why}});
  return {{"revision", revision}, {"down_revisions", down_revisions}, {"reverses", reversed},
          {"filename", filename}, {"steps", ops_j}, {"todos", todos_j}, {"destroys_data", destroys_data()}};
}

}  // namespace rb::db
