// SQLAlchemy database URLs (what Alembic's env.py reads, often from $DATABASE_URL):
// dialect[+driver]://[user[:password]@][host][:port][/database][?key=value&...].
// Parsed the way SQLAlchemy 1.4 parses them (sqlalchemy/engine/url.py), so that rollback
// reads the same database Alembic migrates.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace rb::db {

struct DatabaseUrl {
  std::string dialect;   // "postgresql" (also for "postgres://"), "sqlite", "mysql", ...
  std::string driver;    // "psycopg2", "pysqlite", ... or empty
  std::string user;      // percent-decoded
  std::string password;  // percent-decoded; registered as a secret by parse(); never printed
  bool has_password = false;
  std::string host;      // may be empty: libpq's default, or ?host=/socket/dir
  std::optional<int> port;
  std::string database;  // SQLite: the file path as written ("" or ":memory:" for memory)
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order

  // Parses `url`. The password (and a ?password= query value) is passed to
  // rb::register_secret. Errors (Usage) never contain the password.
  static Result<DatabaseUrl> parse(std::string_view url);

  // The URL with the password (and secret query values) replaced by "***".
  std::string redacted() const;
  std::optional<std::string> query_value(std::string_view key) const;
  bool is_postgresql() const { return dialect == "postgresql"; }
  bool is_sqlite() const { return dialect == "sqlite"; }
  bool is_sqlite_memory() const { return is_sqlite() && (database.empty() || database == ":memory:"); }
  // SQLite: the database file; a relative path is relative to `base_dir` (the folder alembic
  // runs in, as pysqlite makes it absolute against the working folder).
  std::filesystem::path sqlite_file(const std::filesystem::path& base_dir) const;
};

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
std::string percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace rb::db
