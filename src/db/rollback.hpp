// The database rollback: a downgrade plan with the risk of every step and the data at stake,
// what to back up, running the configured `alembic downgrade`, and checking the database
// afterwards. The command line (src/cli/commands/db.cpp) strings these together.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/output.hpp"
#include "db/backup.hpp"
#include "db/database.hpp"
#include "db/database_url.hpp"
#include "db/graph.hpp"
#include "db/planner.hpp"
#include "db/risk.hpp"
#include "util/process.hpp"

namespace rb::db {

// Lines of Alembic's output quoted in the error when it fails (its traceback ends there).
constexpr size_t kAlembicTailLines = 15;

// Where the migrations are and which database they run against, from the environment's
// `migrations` block and the process environment.
struct MigrationsSetup {
  std::filesystem::path alembic_dir;   // where the command runs: repo / migrations.path
  std::filesystem::path versions_dir;  // repo / migrations.versions
  std::string version_table;
  std::optional<std::string> version_table_schema;
  std::vector<std::string> command;    // argv prefix, "downgrade <target>" is appended
  std::string url_env;                 // the variable the command reads the URL from
  std::optional<DatabaseUrl> url;      // nullopt: no URL was given
  std::string url_text;                // as given (holds the password; only for the child's environment)
  std::string url_source;              // "$DATABASE_URL" or "rollback.yaml (migrations.url)"
};

// Resolves the setup: the URL from $<url_env>, else migrations.url; none is not an error here
// (the caller decides). Errors (Usage) for a URL that does not parse, never showing the password.
Result<MigrationsSetup> resolve_setup(const std::filesystem::path& repo, const MigrationsConfig& config);

// Reads the scripts of the versions folder and builds the graph; errors name the folder and
// every bad file.
Result<RevisionGraph> load_graph(const MigrationsSetup& setup);

struct StepRisk {
  PlanStep step;
  RiskReport risk;
};

// What a data check found in the live database.
struct DataCount {
  DataCheck check;
  std::optional<long long> count;  // nullopt: not counted (see `note`)
  std::string note;                // "table does not exist (yet)", the query's error, "database not read"
};

// A downgrade plan with everything the user must know before it runs.
struct AnalyzedPlan {
  DowngradePlan plan;
  std::vector<StepRisk> steps;       // in run order
  Severity severity = Severity::None;
  bool destroys_data = false;        // some step has a High finding
  std::vector<std::string> blocking;  // "backfill_nicknames_v2 raises: raise NotImplementedError(...)"
  // What the plan destroys, for the backup and for the verification. Tables the downgrade drops
  // (op.drop_table, DROP TABLE) go to dropped_tables; emptied tables (TRUNCATE, DELETE) are
  // backed up with them but stay in the schema (emptied_tables).
  std::vector<TableRef> dropped_tables;
  std::vector<TableRef> emptied_tables;
  std::vector<ColumnRef> dropped_columns;
  // A destructive finding whose table cannot be read from the source (SQL built at run time):
  // a backup of only the affected tables cannot be trusted.
  bool unknown_targets = false;
  std::vector<DataCheck> checks;
  std::vector<DataCount> counts;  // filled by count_data()
  std::vector<std::string> warnings;  // non-transactional DDL, opaque SQL, ...

  nlohmann::json to_json() const;
};

// Analyses every step's downgrade(). `dialect` ("postgresql", "sqlite", "mysql", or empty when
// unknown) adds the warning about DDL that is not transactional.
Result<AnalyzedPlan> analyze_plan(const RevisionGraph& graph, DowngradePlan plan, const std::string& dialect);

// Runs the plan's data checks against the live database (checking that each table exists
// first: an earlier step of the plan may create it). Never fails: problems go into `note`.
void count_data(MigrationDatabase& db, AnalyzedPlan& plan);

// The plan for people: each migration (id, doc, what its downgrade does, its findings), the
// data at stake, the rows afterwards, the notes and warnings.
void print_plan(Output& out, const AnalyzedPlan& plan);

// Severity in capitals when it is High or worse, so it stands out: "none", "low", "HIGH".
std::string severity_label(Severity s);

// The command that runs the downgrade: <command...> downgrade <argument>.
std::vector<std::string> downgrade_argv(const std::vector<std::string>& command, const std::string& argument);

// What a backup of this plan covers: the affected tables (or the whole database when
// `whole` is set, the targets are unknown, or the database is SQLite), the folder and name.
BackupOptions backup_options(const AnalyzedPlan& plan, bool whole, const std::filesystem::path& folder,
                             const std::string& name, const std::filesystem::path& base_dir);

// Only the tables that exist now can be dumped (pg_dump --strict-names): removes the others.
void keep_existing_tables(MigrationDatabase& db, BackupOptions& options);

struct AlembicRun {
  ProcessResult result;
  std::vector<std::string> tail;  // the last kAlembicTailLines lines of output, both streams
};

// Runs the downgrade by argument vector in setup.alembic_dir with the URL in $<url_env>,
// calling `on_line` for each line of output as it arrives. An Error only when the command
// cannot be started (the hint says how to configure migrations.command).
Result<AlembicRun> run_alembic(CommandRunner& runner, const MigrationsSetup& setup, const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout,
                               const std::function<void(const std::string& line)>& on_line);

struct Verification {
  bool ok = true;
  std::vector<std::string> rows;      // the version table now
  std::vector<std::string> checks;    // what was checked and held, for people
  std::vector<std::string> problems;  // what did not hold: the rollback failed
  std::vector<std::string> warnings;  // surprises that do not fail it
  nlohmann::json to_json() const;
};

// Checks the database after the downgrade: the version table holds plan.expected_rows, the
// tables the plan drops (of those in `tables_before`) are gone, and every other table of
// `tables_before` is still there (one missing is a warning: a rename or SQL the analysis could
// not read).
Result<Verification> verify_downgrade(MigrationDatabase& db, const MigrationsSetup& setup, const AnalyzedPlan& plan,
                                      const std::vector<std::string>& tables_before);

// What the version table holding `rows_after` means after a failed run from `rows_before`,
// for the error message: unchanged (PostgreSQL: one transaction), or partly done.
std::string after_failure_state(const DatabaseUrl& url, const std::vector<std::string>& rows_before,
                                const std::optional<std::vector<std::string>>& rows_after);

// Whether DDL commits as it goes in this dialect (SQLite, MySQL/MariaDB, Oracle).
bool ddl_is_transactional(const std::string& dialect);

}  // namespace rb::db
