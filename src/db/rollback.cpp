#include "db/rollback.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <deque>
#include <set>

#include "db/script_reader.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace fs = std::filesystem;

namespace {

std::string display(const std::string& schema, const std::string& table) {
  return schema.empty() ? table : schema + "." + table;
}

bool is_table_drop(const Finding& f) {
  return f.kind == FindingKind::DropTable || (f.kind == FindingKind::RawSqlDestructive && f.action == "DROP TABLE");
}

bool is_table_emptying(const Finding& f) {
  return f.kind == FindingKind::RawSqlDestructive &&
         (f.action == "TRUNCATE" || f.action == "DELETE" || f.action == "DELETE ... WHERE");
}

bool is_column_drop(const Finding& f) {
  return f.kind == FindingKind::DropColumn ||
         (f.kind == FindingKind::RawSqlDestructive && f.action == "ALTER TABLE ... DROP COLUMN");
}

template <class T>
void add_unique(std::vector<T>& v, T item, auto same) {
  for (const auto& x : v)
    if (same(x, item)) return;
  v.push_back(std::move(item));
}

// One line for a finding: "HIGH  op.drop_table audit_log: op.drop_table("audit_log")  (line 24)".
std::string finding_line(const Finding& f) {
  std::string what = f.action;
  std::string object = f.table.empty() ? "" : display(f.schema, f.table);
  if (!f.column.empty()) object += (object.empty() ? "" : ".") + f.column;
  if (!object.empty()) what += " " + object;
  std::string text = fmt::format("{:<8} {}", severity_label(f.severity), what);
  if (!f.detail.empty() && f.detail != f.action) text += ": " + f.detail;
  if (f.line > 0) text += fmt::format("  (line {})", f.line);
  return text;
}

// Whether a table name from table_names() ("t" or "schema.t") is this table.
bool names_table(const std::string& name, const TableRef& t) {
  if (name == display(t.schema, t.table)) return true;
  if (t.schema.empty()) return false;
  // table_names() leaves tables of the default schema unqualified.
  return name == t.table && (t.schema == "public" || t.schema == "main");
}

}  // namespace

bool ddl_is_transactional(const std::string& dialect) {
  return !(dialect == "sqlite" || dialect == "mysql" || dialect == "mariadb" || dialect == "oracle");
}

std::string severity_label(Severity s) {
  std::string text = to_string(s);
  if (s >= Severity::High)
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

Result<MigrationsSetup> resolve_setup(const fs::path& repo, const MigrationsConfig& config) {
  MigrationsSetup s;
  s.alembic_dir = (repo / config.path).lexically_normal();
  s.versions_dir = (repo / config.versions).lexically_normal();
  s.version_table = config.version_table.empty() ? kDefaultVersionTable : config.version_table;
  if (!config.version_table_schema.empty()) s.version_table_schema = config.version_table_schema;
  s.command = config.command.empty() ? std::vector<std::string>{"alembic"} : config.command;
  s.url_env = config.url_env.empty() ? "DATABASE_URL" : config.url_env;
  if (const char* v = std::getenv(s.url_env.c_str()); v && *v) {
    s.url_text = v;
    s.url_source = "$" + s.url_env;
  } else if (!config.url.empty()) {
    s.url_text = config.url;
    s.url_source = "rollback.yaml (migrations.url)";
  }
  if (!s.url_text.empty()) {
    auto url = DatabaseUrl::parse(s.url_text);
    if (!url) {
      Error e = url.take_error();
      e.message = fmt::format("{} (from {})", e.message, s.url_source);
      return e;
    }
    s.url = std::move(*url);
  }
  return s;
}

Result<RevisionGraph> load_graph(const MigrationsSetup& setup) {
  std::error_code ec;
  if (!fs::is_directory(setup.versions_dir, ec))
    return usage_error(fmt::format("the migrations folder {} does not exist", setup.versions_dir.string()),
                       "set migrations.versions (relative to the repository) in rollback.yaml, e.g. alembic/versions, "
                       "and run rollback from a checkout of the deployed code");
  auto scripts = read_migration_scripts({setup.versions_dir});
  if (!scripts) {
    Error e = scripts.take_error();
    e.message = fmt::format("reading the migrations in {}: {}", setup.versions_dir.string(), e.message);
    return e;
  }
  if (scripts->empty())
    return usage_error(fmt::format("no migration scripts in {}", setup.versions_dir.string()),
                       "check migrations.versions in rollback.yaml");
  auto graph = RevisionGraph::build(std::move(*scripts));
  if (!graph) {
    Error e = graph.take_error();
    e.message = fmt::format("the migrations in {} do not form a valid history: {}", setup.versions_dir.string(),
                            e.message);
    return e;
  }
  return graph;
}

Result<AnalyzedPlan> analyze_plan(const RevisionGraph& graph, DowngradePlan plan, const std::string& dialect) {
  AnalyzedPlan a;
  for (const auto& step : plan.steps) {
    const MigrationScript* script = step.script ? step.script : graph.find(step.revision);
    if (!script) return failure(fmt::format("revision {} of the plan has no script", step.revision));
    RB_TRY_ASSIGN(auto risk, analyze_downgrade(*script));
    for (const auto& f : risk.findings) {
      if (f.severity == Severity::Blocking)
        a.blocking.push_back(fmt::format("{} ({}): {}", step.revision, script->path.filename().string(),
                                         f.detail.empty() ? f.action : f.detail));
      if (f.severity >= Severity::High && f.table.empty() && f.severity != Severity::Blocking) a.unknown_targets = true;
      if (f.table.empty()) continue;
      TableRef t{f.schema, f.table};
      auto same_table = [](const TableRef& x, const TableRef& y) { return x.schema == y.schema && x.table == y.table; };
      if (is_table_drop(f)) add_unique(a.dropped_tables, t, same_table);
      else if (is_table_emptying(f)) add_unique(a.emptied_tables, t, same_table);
      else if (is_column_drop(f) && !f.column.empty())
        add_unique(a.dropped_columns, ColumnRef{f.schema, f.table, f.column},
                   [](const ColumnRef& x, const ColumnRef& y) {
                     return x.schema == y.schema && x.table == y.table && x.column == y.column;
                   });
      else if (is_column_drop(f)) a.unknown_targets = true;
    }
    for (const auto& f : risk.findings) {
      if (f.kind == FindingKind::RawSqlOpaque)
        a.warnings.push_back(fmt::format("{} runs SQL the analysis cannot read ({}, line {}): check it by hand",
                                         step.revision, f.action, f.line));
      else if (f.kind == FindingKind::Indirect)
        a.warnings.push_back(fmt::format("{} calls code the analysis does not follow ({}, line {}): check it by hand",
                                         step.revision, f.action, f.line));
    }
    a.severity = std::max(a.severity, risk.severity);
    if (risk.destroys_data()) a.destroys_data = true;
    a.steps.push_back({step, std::move(risk)});
  }
  // A table dropped whole also loses its columns: no separate column backup needed.
  std::erase_if(a.dropped_columns, [&](const ColumnRef& c) {
    return std::any_of(a.dropped_tables.begin(), a.dropped_tables.end(),
                       [&](const TableRef& t) { return t.schema == c.schema && t.table == c.table; });
  });
  std::erase_if(a.emptied_tables, [&](const TableRef& e) {
    return std::any_of(a.dropped_tables.begin(), a.dropped_tables.end(),
                       [&](const TableRef& t) { return t.schema == e.schema && t.table == e.table; });
  });
  std::vector<Finding> all;
  for (const auto& s : a.steps) all.insert(all.end(), s.risk.findings.begin(), s.risk.findings.end());
  a.checks = data_checks(all);
  if (!dialect.empty() && !ddl_is_transactional(dialect) && !a.steps.empty())
    a.warnings.push_back(fmt::format(
        "{} commits DDL as it goes: if a step fails, the steps before it stay done while the version table "
        "still names the old revision (PostgreSQL would roll the whole run back)",
        dialect == "sqlite" ? "SQLite" : dialect));
  if (a.unknown_targets)
    a.warnings.push_back("a destructive statement names no table the analysis can read: the backup covers the "
                         "whole database");
  a.plan = std::move(plan);
  return a;
}

void count_data(MigrationDatabase& db, AnalyzedPlan& plan) {
  plan.counts.clear();
  for (const auto& c : plan.checks) {
    DataCount dc{c, std::nullopt, {}};
    auto exists = db.table_exists(c.table, c.schema.empty() ? std::nullopt : std::optional<std::string>(c.schema));
    if (!exists) {
      dc.note = "could not check: " + exists.error().message;
    } else if (!*exists) {
      dc.note = "the table does not exist now (an earlier step of the plan creates it, or it is already gone)";
    } else if (auto n = db.scalar_count(c.sql); n) {
      dc.count = *n;
    } else {
      dc.note = "could not count: " + n.error().message;
    }
    plan.counts.push_back(std::move(dc));
  }
}

void print_plan(Output& out, const AnalyzedPlan& a) {
  const DowngradePlan& p = a.plan;
  out.line(fmt::format("Plan: alembic downgrade {}  ({} migration{}, undone in this order)", p.alembic_argument,
                       a.steps.size(), a.steps.size() == 1 ? "" : "s"));
  int n = 0;
  for (const auto& s : a.steps) {
    const MigrationScript* script = s.step.script;
    out.line(fmt::format("  {}. {}  {}   [risk: {}]", ++n, s.step.revision, script ? script->doc : "",
                         severity_label(s.risk.severity)));
    out.line(fmt::format("       {} -> {}{}", s.step.revision,
                         s.step.to_revisions.empty() ? "base" : join(s.step.to_revisions, ", "),
                         script ? "   (" + script->path.filename().string() + ")" : ""));
    if (s.risk.findings.empty()) out.line("       - its downgrade() only creates or alters: nothing is destroyed");
    for (const auto& f : s.risk.findings) out.line("       - " + finding_line(f));
  }
  if (!a.counts.empty() || !a.checks.empty()) {
    out.line("Data at stake (counted now):");
    if (a.counts.empty()) {
      for (const auto& c : a.checks) out.line(fmt::format("  {}: not counted (the database was not read)", c.description));
    }
    for (const auto& c : a.counts) {
      if (c.count)
        out.line(fmt::format("  {}: {}{}", c.check.description, *c.count,
                             c.check.upper_bound ? " (at most: the WHERE may keep some)" : ""));
      else
        out.line(fmt::format("  {}: {}", c.check.description, c.note));
    }
  }
  out.line(fmt::format("Afterwards the version table holds: {}",
                       p.expected_rows.empty() ? "no rows (base)" : join(p.expected_rows, ", ")));
  out.line(fmt::format("Overall risk: {}{}", severity_label(a.severity),
                       a.destroys_data ? " (data is destroyed: a backup is taken first unless --no-backup)" : ""));
  for (const auto& note : p.notes) out.line("note: " + note);
  for (const auto& w : a.warnings) out.warn(w);
  for (const auto& b : a.blocking) out.warn("irreversible: " + b);
}

nlohmann::json AnalyzedPlan::to_json() const {
  nlohmann::json steps_j = nlohmann::json::array();
  for (const auto& s : steps) {
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : s.risk.findings) {
      nlohmann::json jf = {{"kind", to_string(f.kind)}, {"severity", to_string(f.severity)}, {"action", f.action},
                           {"detail", f.detail}, {"line", f.line}};
      if (!f.table.empty()) jf["table"] = display(f.schema, f.table);
      if (!f.column.empty()) jf["column"] = f.column;
      findings.push_back(jf);
    }
    steps_j.push_back({{"revision", s.step.revision},
                       {"to", s.step.to_revisions},
                       {"doc", s.step.script ? s.step.script->doc : ""},
                       {"file", s.step.script ? s.step.script->path.filename().string() : ""},
                       {"severity", to_string(s.risk.severity)},
                       {"findings", findings}});
  }
  nlohmann::json counts_j = nlohmann::json::array();
  for (const auto& c : counts) {
    nlohmann::json jc = {{"description", c.check.description}, {"table", display(c.check.schema, c.check.table)},
                         {"sql", c.check.sql}, {"upper_bound", c.check.upper_bound}};
    if (!c.check.column.empty()) jc["column"] = c.check.column;
    if (c.count) jc["count"] = *c.count;
    else jc["note"] = c.note;
    counts_j.push_back(jc);
  }
  nlohmann::json dropped = nlohmann::json::array(), emptied = nlohmann::json::array(), columns = nlohmann::json::array();
  for (const auto& t : dropped_tables) dropped.push_back(display(t.schema, t.table));
  for (const auto& t : emptied_tables) emptied.push_back(display(t.schema, t.table));
  for (const auto& c : dropped_columns) columns.push_back(display(c.schema, c.table) + "." + c.column);
  return {{"current_rows", plan.current_rows},
          {"current_heads", plan.current_heads},
          {"target", plan.target ? nlohmann::json(*plan.target) : nlohmann::json("base")},
          {"alembic_argument", plan.alembic_argument},
          {"expected_rows", plan.expected_rows},
          {"steps", steps_j},
          {"severity", to_string(severity)},
          {"destroys_data", destroys_data},
          {"irreversible", blocking},
          {"dropped_tables", dropped},
          {"emptied_tables", emptied},
          {"dropped_columns", columns},
          {"data", counts_j},
          {"notes", plan.notes},
          {"warnings", warnings}};
}

std::vector<std::string> downgrade_argv(const std::vector<std::string>& command, const std::string& argument) {
  std::vector<std::string> argv = command;
  argv.push_back("downgrade");
  argv.push_back(argument);
  return argv;
}

BackupOptions backup_options(const AnalyzedPlan& plan, bool whole, const fs::path& folder, const std::string& name,
                             const fs::path& base_dir) {
  BackupOptions o;
  o.folder = folder;
  o.name = name;
  o.base_dir = base_dir;
  o.whole_database = whole || plan.unknown_targets;
  if (!o.whole_database) {
    o.dropped_tables = plan.dropped_tables;
    o.dropped_tables.insert(o.dropped_tables.end(), plan.emptied_tables.begin(), plan.emptied_tables.end());
    o.dropped_columns = plan.dropped_columns;
  }
  return o;
}

void keep_existing_tables(MigrationDatabase& db, BackupOptions& options) {
  auto exists = [&](const std::string& schema, const std::string& table) {
    auto r = db.table_exists(table, schema.empty() ? std::nullopt : std::optional<std::string>(schema));
    return !r || *r;  // when unsure, keep it: pg_dump will say
  };
  std::erase_if(options.dropped_tables, [&](const TableRef& t) { return !exists(t.schema, t.table); });
  std::erase_if(options.dropped_columns, [&](const ColumnRef& c) { return !exists(c.schema, c.table); });
}

Result<AlembicRun> run_alembic(CommandRunner& runner, const MigrationsSetup& setup, const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout,
                               const std::function<void(const std::string& line)>& on_line) {
  AlembicRun run;
  std::deque<std::string> tail;
  ProcessOptions o;
  o.cwd = setup.alembic_dir;
  if (!setup.url_text.empty()) o.env_set[setup.url_env] = setup.url_text;
  o.timeout = timeout;
  o.forward_signals = false;  // Ctrl-C lets a started downgrade finish (docs/DATABASE.md)
  o.on_line = [&](std::string_view line, bool) {
    std::string l(line);
    tail.push_back(l);
    if (tail.size() > kAlembicTailLines) tail.pop_front();
    if (on_line) on_line(l);
  };
  log_debug("running {} in {}", format_argv(argv), setup.alembic_dir.string());
  auto r = runner.run(argv, o);
  if (!r) {
    Error e = r.take_error();
    e.message = fmt::format("cannot run {}: {}", format_argv(argv), e.message);
    e.hint = "set migrations.command in rollback.yaml to the command that runs Alembic where the application's "
             "env.py can be imported, e.g. [alembic] or [python3, -m, alembic]";
    return e;
  }
  run.result = std::move(*r);
  // Output that arrived without a final newline is not passed to on_line; keep it in the tail.
  if (tail.empty()) {
    for (const auto& text : {run.result.out, run.result.err})
      for (const auto& l : split(trim(text), '\n'))
        if (!trim(l).empty()) tail.push_back(l);
    while (tail.size() > kAlembicTailLines) tail.pop_front();
  }
  run.tail.assign(tail.begin(), tail.end());
  return run;
}

nlohmann::json Verification::to_json() const {
  return {{"ok", ok}, {"rows", rows}, {"checks", checks}, {"problems", problems}, {"warnings", warnings}};
}

Result<Verification> verify_downgrade(MigrationDatabase& db, const MigrationsSetup& setup, const AnalyzedPlan& plan,
                                      const std::vector<std::string>& tables_before) {
  Verification v;
  auto rows = db.version_rows(setup.version_table, setup.version_table_schema);
  if (!rows) {
    Error e = rows.take_error();
    e.message = "reading the version table after the downgrade: " + e.message;
    return e;
  }
  v.rows = *rows;
  std::vector<std::string> sorted = v.rows;
  std::sort(sorted.begin(), sorted.end());
  if (sorted == plan.plan.expected_rows) {
    v.checks.push_back(fmt::format("the version table holds {}",
                                   sorted.empty() ? "no rows (base)" : join(sorted, ", ")));
  } else {
    v.ok = false;
    v.problems.push_back(fmt::format("the version table holds {}, expected {}",
                                     sorted.empty() ? "no rows" : join(sorted, ", "),
                                     plan.plan.expected_rows.empty() ? "no rows (base)" : join(plan.plan.expected_rows, ", ")));
  }

  RB_TRY_ASSIGN(auto tables_after, db.table_names());
  auto present_after = [&](const std::string& name) {
    return std::find(tables_after.begin(), tables_after.end(), name) != tables_after.end();
  };
  std::set<std::string> expected_gone;
  for (const auto& t : plan.dropped_tables) {
    for (const auto& name : tables_before) {
      if (!names_table(name, t)) continue;
      expected_gone.insert(name);
      if (present_after(name)) {
        v.ok = false;
        v.problems.push_back(fmt::format("table {} should be gone (the downgrade drops it) but is still there", name));
      } else {
        v.checks.push_back(fmt::format("table {} is gone, as planned", name));
      }
    }
  }
  std::vector<std::string> missing;
  for (const auto& name : tables_before)
    if (!expected_gone.count(name) && !present_after(name)) missing.push_back(name);
  if (missing.empty()) {
    v.checks.push_back(fmt::format("the other {} tables are still there", tables_before.size() - expected_gone.size()));
  } else {
    v.warnings.push_back(fmt::format("table(s) {} disappeared though the analysis did not expect it (a rename, or SQL "
                                     "it could not read); they were not in a table-only backup",
                                     join(missing, ", ")));
  }
  return v;
}

std::string after_failure_state(const DatabaseUrl& url, const std::vector<std::string>& rows_before,
                                const std::optional<std::vector<std::string>>& rows_after) {
  if (!rows_after) return "the version table could not be read afterwards: check it before doing anything else";
  auto before = rows_before, after = *rows_after;
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  std::string holds = after.empty() ? "no rows" : join(after, ", ");
  if (before == after) {
    if (ddl_is_transactional(url.dialect))
      return fmt::format("the version table still holds {}: PostgreSQL ran the downgrade in one transaction, so "
                         "nothing changed",
                         holds);
    return fmt::format("the version table still holds {}, but {} commits DDL as it goes: the schema may be half "
                       "reverted; compare it with the migrations before running anything else",
                       holds, url.dialect);
  }
  return fmt::format("the version table now holds {} (it held {}): part of the plan ran; the steps below that "
                     "revision did not",
                     holds, before.empty() ? "no rows" : join(before, ", "));
}

}  // namespace rb::db
