#include "db/database.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "db/risk.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace fs = std::filesystem;

namespace {

Result<long long> parse_count(const std::string& text, const std::string& sql) {
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size())
    return failure(fmt::format("`{}` returned '{}', not a number", sql, text), "the query must return one integer");
  return value;
}

Result<long long> single_count(const std::vector<std::vector<std::string>>& rows, const std::string& sql) {
  if (rows.size() != 1 || rows[0].size() != 1)
    return failure(fmt::format("`{}` returned {} rows of {} columns; expected one number", sql, rows.size(),
                               rows.empty() ? 0 : rows[0].size()),
                   "the query must return one integer");
  return parse_count(rows[0][0], sql);
}

Error no_version_table(const std::string& table, const std::optional<std::string>& schema, const std::string& where) {
  Error e = failure(fmt::format("the version table {} does not exist in {}", schema ? *schema + "." + table : table, where),
                    "the database was never migrated, or env.py sets another version_table / version_table_schema, or "
                    "the URL names another database");
  e.tag = "no-version-table";
  return e;
}

}  // namespace

// --- PostgreSQL ------------------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> libpq_params(const DatabaseUrl& url) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!url.host.empty()) params.emplace_back("host", url.host);
  if (url.port) params.emplace_back("port", std::to_string(*url.port));
  if (!url.user.empty()) params.emplace_back("user", url.user);
  if (!url.database.empty()) params.emplace_back("dbname", url.database);
  for (const auto& [k, v] : url.query) {
    if (k == "password") continue;
    // A query parameter overrides the same one from the authority (psycopg2's dict update).
    std::string key = k == "database" ? "dbname" : k;
    auto it = std::find_if(params.begin(), params.end(), [&](const auto& p) { return p.first == key; });
    if (it != params.end()) it->second = v;
    else params.emplace_back(key, v);
  }
  return params;
}

std::string libpq_conninfo(const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : params) {
    std::string quoted = "'";
    for (char c : v) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    parts.push_back(k + "=" + quoted + "'");
  }
  return join(parts, " ");
}

Result<std::unique_ptr<PostgresDatabase>> PostgresDatabase::connect(const DatabaseUrl& url) {
  auto params = libpq_params(url);
  auto has = [&](std::string_view key) {
    return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == key; });
  };
  if (!has("connect_timeout")) params.emplace_back("connect_timeout", std::to_string(kConnectTimeoutSeconds));
  if (!has("application_name")) params.emplace_back("application_name", "rollback");
  if (url.has_password) params.emplace_back("password", url.password);
  else if (auto p = url.query_value("password")) params.emplace_back("password", *p);

  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn == nullptr) return failure(fmt::format("cannot connect to {}: out of memory", url.redacted()));
  std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(conn, url));
  if (PQstatus(conn) != CONNECTION_OK) {
    return failure(fmt::format("cannot connect to {}: {}", url.redacted(), db->scrub(trim(PQerrorMessage(conn)))),
                   "check the host, port, user, password and database in the URL, and that the server accepts "
                   "connections from here (psql with the same parameters shows the same error)");
  }
  // Only reads from here on, and nothing that can hang for long.
  RB_TRY(db->query("SET default_transaction_read_only = on"));
  RB_TRY(db->query(fmt::format("SET statement_timeout = '{}s'", kStatementTimeoutSeconds)));
  return db;
}

PostgresDatabase::~PostgresDatabase() {
  if (conn_) PQfinish(conn_);
}

std::string PostgresDatabase::scrub(const std::string& text) const {
  std::string out = text;
  if (url_.has_password && !url_.password.empty()) {
    for (size_t pos; (pos = out.find(url_.password)) != std::string::npos;) out.replace(pos, url_.password.size(), "***");
  }
  return redact(out);
}

Result<std::vector<std::vector<std::string>>> PostgresDatabase::query(const std::string& sql,
                                                                       const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.empty() ? nullptr : values.data(), nullptr, nullptr, 0);
  std::unique_ptr<PGresult, void (*)(PGresult*)> guard(res, PQclear);
  ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string message = res ? PQresultErrorMessage(res) : PQerrorMessage(conn_);
    return failure(fmt::format("`{}` failed on {}: {}", sql, url_.redacted(), scrub(trim(message))),
                   "check that the user may read this table (GRANT SELECT) and that the query is valid for PostgreSQL");
  }
  std::vector<std::vector<std::string>> rows;
  if (status == PGRES_TUPLES_OK) {
    int n = PQntuples(res), cols = PQnfields(res);
    for (int r = 0; r < n; ++r) {
      std::vector<std::string> row;
      for (int c = 0; c < cols; ++c) row.emplace_back(PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

Result<std::vector<std::string>> PostgresDatabase::version_rows(const std::string& table,
                                                                const std::optional<std::string>& schema) {
  RB_TRY_ASSIGN(bool exists, table_exists(table, schema));
  if (!exists) return no_version_table(table, schema, url_.redacted());
  RB_TRY_ASSIGN(auto rows, query(fmt::format("SELECT version_num FROM {}", quote_table(schema.value_or(""), table))));
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(std::move(r.at(0)));
  return out;
}

Result<long long> PostgresDatabase::scalar_count(const std::string& sql) {
  RB_TRY_ASSIGN(auto rows, query(sql));
  return single_count(rows, sql);
}

Result<bool> PostgresDatabase::table_exists(const std::string& table, const std::optional<std::string>& schema) {
  // to_regclass follows search_path for an unqualified name, like the migrations do.
  RB_TRY_ASSIGN(auto rows, query("SELECT to_regclass($1) IS NOT NULL", {quote_table(schema.value_or(""), table)}));
  return !rows.empty() && rows[0].at(0) == "t";
}

Result<std::vector<std::string>> PostgresDatabase::table_names() {
  RB_TRY_ASSIGN(auto rows, query(R"(SELECT CASE WHEN n.nspname = current_schema() THEN c.relname
                 ELSE n.nspname || '.' || c.relname END AS name
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
           ORDER BY 1)"));
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(std::move(r.at(0)));
  return out;
}

// --- SQLite ----------------------------------------------------------------------------------

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::open(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    return failure(fmt::format("the SQLite database {} does not exist", file.string()),
                   "a relative sqlite:/// path is relative to the folder alembic runs in; sqlite:////abs/path is "
                   "absolute");
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<SqliteDatabase> out(new SqliteDatabase(db, file));
  if (rc != SQLITE_OK)
    return failure(fmt::format("cannot open the SQLite database {}: {}", file.string(),
                               db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)),
                   "check that the file is readable");
  sqlite3_busy_timeout(db, kSqliteBusyTimeoutMs);
  return out;
}

SqliteDatabase::~SqliteDatabase() {
  if (db_) sqlite3_close_v2(db_);
}

Result<std::vector<std::vector<std::string>>> SqliteDatabase::query(const std::string& sql,
                                                                     const std::vector<std::string>& params) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
  if (rc != SQLITE_OK)
    return failure(fmt::format("`{}` failed on {}: {}", sql, file_.string(), sqlite3_errmsg(db_)),
                   "check that the query is valid for SQLite");
  for (size_t i = 0; i < params.size(); ++i)
    sqlite3_bind_text(stmt, static_cast<int>(i + 1), params[i].c_str(), static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
  std::vector<std::vector<std::string>> rows;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<std::string> row;
    int cols = sqlite3_column_count(stmt);
    for (int c = 0; c < cols; ++c) {
      const unsigned char* text = sqlite3_column_text(stmt, c);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE)
    return failure(fmt::format("`{}` failed on {}: {}", sql, file_.string(), sqlite3_errmsg(db_)),
                   rc == SQLITE_BUSY ? "another process holds a lock on the database; try again" : "");
  return rows;
}

Result<std::vector<std::string>> SqliteDatabase::version_rows(const std::string& table,
                                                              const std::optional<std::string>& schema) {
  RB_TRY_ASSIGN(bool exists, table_exists(table, schema));
  if (!exists) return no_version_table(table, schema, file_.string());
  RB_TRY_ASSIGN(auto rows, query(fmt::format("SELECT version_num FROM {}", quote_table(schema.value_or(""), table))));
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(std::move(r.at(0)));
  return out;
}

Result<long long> SqliteDatabase::scalar_count(const std::string& sql) {
  RB_TRY_ASSIGN(auto rows, query(sql));
  return single_count(rows, sql);
}

Result<bool> SqliteDatabase::table_exists(const std::string& table, const std::optional<std::string>& schema) {
  std::string master = schema ? quote_identifier(*schema) + ".sqlite_master" : "sqlite_master";
  RB_TRY_ASSIGN(auto rows, query(fmt::format("SELECT count(*) FROM {} WHERE type = 'table' AND name = ?1", master), {table}));
  RB_TRY_ASSIGN(long long n, single_count(rows, "sqlite_master lookup"));
  return n > 0;
}

Result<std::vector<std::string>> SqliteDatabase::table_names() {
  RB_TRY_ASSIGN(auto rows,
                query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                      "ORDER BY name"));
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(std::move(r.at(0)));
  return out;
}

// --- Choosing ------------------------------------------------------------------------------

Result<std::unique_ptr<MigrationDatabase>> open_database(const DatabaseUrl& url, const fs::path& base_dir) {
  if (url.is_postgresql()) {
    RB_TRY_ASSIGN(auto db, PostgresDatabase::connect(url));
    return std::unique_ptr<MigrationDatabase>(std::move(db));
  }
  if (url.is_sqlite()) {
    if (url.is_sqlite_memory())
      return usage_error(fmt::format("{} is an in-memory SQLite database; there is nothing to roll back", url.redacted()),
                         "use sqlite:///path/to/file.db");
    RB_TRY_ASSIGN(auto db, SqliteDatabase::open(url.sqlite_file(base_dir)));
    return std::unique_ptr<MigrationDatabase>(std::move(db));
  }
  return usage_error(fmt::format("the {} dialect is not supported ({})", url.dialect, url.redacted()),
                     "rollback reads PostgreSQL (postgresql://) and SQLite (sqlite:///) databases");
}

}  // namespace rb::db
