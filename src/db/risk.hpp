// Risk analysis of a migration's downgrade(): what it destroys, whether it can run at all,
// and the queries that count the data it would destroy (the way Atlas checks live data
// before a DROP). Reads the source; nothing is executed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "db/script_reader.hpp"
#include "util/result.hpp"

namespace rb::db {

enum class FindingKind {
  DropTable,          // op.drop_table('t')
  DropColumn,         // op.drop_column('t', 'c'), batch_op.drop_column('c')
  DropIndex,          // op.drop_index(...): no data lost, queries may slow down
  DropConstraint,     // op.drop_constraint(...): no data lost, integrity checks gone
  RawSqlDestructive,  // op.execute / text() with DROP TABLE, ALTER ... DROP, TRUNCATE, DELETE, UPDATE, DROP SCHEMA
  RawSqlOpaque,       // op.execute(<not a literal>): cannot tell what it does
  Irreversible,       // raises (NotImplementedError, ...) or has no downgrade() at all
  Indirect,           // calls another function of the script, or globals()[...]: not analysed
  Noop,               // only pass / docstring / comments: the version row moves, nothing else
};

enum class Severity {
  None,      // nothing is lost (noop, or only creates/alters)
  Low,       // indexes, constraints
  Medium,    // unknown SQL, rows rewritten, a raise inside a condition
  High,      // rows or columns are destroyed
  Blocking,  // the downgrade raises: Alembic will stop here
};

struct Finding {
  FindingKind kind = FindingKind::Noop;
  Severity severity = Severity::None;
  std::string schema;  // empty: the default schema (search_path)
  std::string table;   // empty when it cannot be read from the source
  std::string column;
  // The action as a short phrase ("op.drop_column", "DROP TABLE", "DELETE ... WHERE", "raise").
  std::string action;
  std::string detail;  // for people: the source call, shortened
  int line = 0;        // line in the script file
};

struct RiskReport {
  std::vector<Finding> findings;
  Severity severity = Severity::None;  // the highest finding's
  bool destroys_data() const;          // some finding is Severity::High
  bool irreversible() const;           // some finding is Blocking
};

// Analyses a script's downgrade(). A missing downgrade() is Irreversible (Alembic fails on
// it). Errors only when the body is not valid Python (which reading the script already rules
// out).
Result<RiskReport> analyze_downgrade(const MigrationScript& script);

// Analyses a function body: `body` as FunctionSource::body holds it, whose first character is
// on line `first_line`. `name` prefixes error messages.
// `helpers`: names of the script's other module-level functions; calling one is Indirect.
Result<RiskReport> analyze_function_body(std::string_view body, int first_line, std::string_view name = "<body>",
                                         const std::vector<std::string>& helpers = {});

// Finds destructive statements in SQL text (comments and string literals skipped; unquoted
// identifiers folded to lowercase, as PostgreSQL does). Lines are set to `line`.
std::vector<Finding> analyze_sql(std::string_view sql, int line);

const char* to_string(FindingKind kind);  // "drop_table", "drop_column", ...
const char* to_string(Severity severity);  // "none", "low", "medium", "high", "blocking"

// A query that counts what a finding would destroy.
struct DataCheck {
  std::string schema;
  std::string table;
  std::string column;       // empty: the whole table's rows
  std::string sql;          // SELECT count(*) ...
  std::string description;  // "rows in audit_log", "non-NULL values of users.phone"
  bool upper_bound = false; // DELETE ... WHERE: the count includes rows the WHERE keeps
};

// The counts to run before a downgrade with these findings: `SELECT count(*) FROM "t"` for a
// dropped, truncated or emptied table, `... WHERE "c" IS NOT NULL` for a dropped column.
// Findings without a table name give none. One check per distinct query, in finding order.
// The tables may not exist yet when an earlier step of the same plan creates them: check
// first (MigrationDatabase::table_exists).
std::vector<DataCheck> data_checks(const std::vector<Finding>& findings);

// "name" with embedded quotes doubled (PostgreSQL and SQLite).
std::string quote_identifier(std::string_view name);
// "schema"."table", or "table" when schema is empty.
std::string quote_table(std::string_view schema, std::string_view table);

}  // namespace rb::db
