// Reading the migrated database: the side-effect interface the db layer's logic depends on,
// so that tests can use a fake, with PostgreSQL (libpq) and SQLite implementations. Every
// implementation only reads: PostgreSQL sessions are read-only, SQLite files open read-only.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/database_url.hpp"
#include "util/result.hpp"

struct pg_conn;
struct sqlite3;

namespace rb::db {

// Alembic's default version table (configurable in env.py: version_table, version_table_schema).
inline constexpr const char* kDefaultVersionTable = "alembic_version";

// Sessions are read-only; a query running longer than this is cancelled (a count over a huge
// table should not hold a rollback up indefinitely; 60 s is generous for count(*) on one table).
inline constexpr int kStatementTimeoutSeconds = 60;
// libpq waits forever to connect by default; fail after this instead (psql's habit is 10-15 s).
inline constexpr int kConnectTimeoutSeconds = 10;
// SQLite: how long to wait for a writer's lock before giving up.
inline constexpr int kSqliteBusyTimeoutMs = 5000;

class MigrationDatabase {
 public:
  virtual ~MigrationDatabase() = default;
  // The version table's rows (version_num), in the order the database returns them. An Error
  // tagged "no-version-table" when the table does not exist.
  virtual Result<std::vector<std::string>> version_rows(const std::string& table,
                                                        const std::optional<std::string>& schema) = 0;
  // Runs a query that returns one integer (SELECT count(*) ...).
  virtual Result<long long> scalar_count(const std::string& sql) = 0;
  virtual Result<bool> table_exists(const std::string& table, const std::optional<std::string>& schema) = 0;
  // User tables: unqualified in the default schema, "schema.table" elsewhere. Sorted.
  virtual Result<std::vector<std::string>> table_names() = 0;
  // For messages: the redacted URL or the file.
  virtual std::string describe() const = 0;
};

// Opens the database a URL names. SQLite paths that are relative are resolved against
// `base_dir` (the folder alembic runs in). Errors (never containing the password) for other
// dialects, in-memory SQLite, a missing SQLite file, or a failed connection.
Result<std::unique_ptr<MigrationDatabase>> open_database(const DatabaseUrl& url, const std::filesystem::path& base_dir);

// libpq connection parameters (keyword, value) for a URL, WITHOUT the password: host, port,
// user, dbname, then every query parameter (sslmode, host=/socket/dir, ...) as psycopg2
// passes them. Give the password to tools through PGPASSWORD.
std::vector<std::pair<std::string, std::string>> libpq_params(const DatabaseUrl& url);
// A conninfo string for --dbname= of pg_dump, pg_restore and psql: "host='/tmp' dbname='app'".
std::string libpq_conninfo(const std::vector<std::pair<std::string, std::string>>& params);

class PostgresDatabase final : public MigrationDatabase {
 public:
  static Result<std::unique_ptr<PostgresDatabase>> connect(const DatabaseUrl& url);
  ~PostgresDatabase() override;
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  Result<std::vector<std::string>> version_rows(const std::string& table,
                                                const std::optional<std::string>& schema) override;
  Result<long long> scalar_count(const std::string& sql) override;
  Result<bool> table_exists(const std::string& table, const std::optional<std::string>& schema) override;
  Result<std::vector<std::string>> table_names() override;
  std::string describe() const override { return url_.redacted(); }

 private:
  PostgresDatabase(pg_conn* conn, DatabaseUrl url) : conn_(conn), url_(std::move(url)) {}
  // Runs `sql` with text parameters; the rows' values (NULL as empty), or an Error.
  Result<std::vector<std::vector<std::string>>> query(const std::string& sql, const std::vector<std::string>& params = {});
  std::string scrub(const std::string& text) const;

  pg_conn* conn_;
  DatabaseUrl url_;
};

class SqliteDatabase final : public MigrationDatabase {
 public:
  // Opens an existing file read-only.
  static Result<std::unique_ptr<SqliteDatabase>> open(const std::filesystem::path& file);
  ~SqliteDatabase() override;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  Result<std::vector<std::string>> version_rows(const std::string& table,
                                                const std::optional<std::string>& schema) override;
  Result<long long> scalar_count(const std::string& sql) override;
  Result<bool> table_exists(const std::string& table, const std::optional<std::string>& schema) override;
  Result<std::vector<std::string>> table_names() override;
  std::string describe() const override { return file_.string(); }

 private:
  SqliteDatabase(sqlite3* db, std::filesystem::path file) : db_(db), file_(std::move(file)) {}
  Result<std::vector<std::vector<std::string>>> query(const std::string& sql, const std::vector<std::string>& params = {});

  sqlite3* db_;
  std::filesystem::path file_;
};

}  // namespace rb::db
