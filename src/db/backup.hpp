// Backups before a downgrade destroys data: pg_dump (custom format) of the affected tables or
// the whole database, or a consistent copy of a SQLite file (sqlite3_backup_*). Backup files
// are 0600 from the moment they exist, in a 0700 folder; they are never overwritten. The
// restore steps returned are for people and carry no password.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "db/database_url.hpp"
#include "util/process.hpp"
#include "util/result.hpp"

namespace rb::db {

// Upper bound for one pg_dump run: dumps of the tables a downgrade drops usually take
// seconds to minutes; past half an hour something (a lock, the network) is stuck.
constexpr std::chrono::minutes kPgDumpTimeout{30};

struct TableRef {
  std::string schema;  // empty: the default schema (search_path)
  std::string table;
};

struct ColumnRef {
  std::string schema;
  std::string table;
  std::string column;
};

struct BackupOptions {
  std::filesystem::path folder;  // created with mode 0700 (tightened to 0700 if it exists)
  // The file name without extension, e.g. "prod-20260301T101500Z-8b0c1d2e3f4a"; '/' is not allowed.
  std::string name;
  // What the downgrade destroys. The dump holds every table named here (whole tables, also for
  // a dropped column); every one must exist (pg_dump runs with --strict-names).
  std::vector<TableRef> dropped_tables;
  std::vector<ColumnRef> dropped_columns;
  bool whole_database = false;     // dump everything; also when both lists are empty
  std::filesystem::path base_dir;  // SQLite: relative paths are relative to this folder
  std::string pg_dump = "pg_dump";
  std::chrono::milliseconds timeout = kPgDumpTimeout;
};

struct BackupFile {
  std::filesystem::path path;
  std::uintmax_t bytes = 0;
  std::string table;  // "schema.table" (or "table"); empty: the whole database
};

struct BackupResult {
  // PostgreSQL: one custom-format dump per table, so that each restores whole (pg_restore
  // --table restores a table without its indexes, constraints and sequence); or one for the
  // whole database. SQLite: one copy of the database file.
  std::vector<BackupFile> files;
  std::vector<std::string> restore;  // restore steps: shell commands and # notes, no password
};

// Takes the backup. PostgreSQL: runs pg_dump through `runner` (the password in PGPASSWORD,
// never in argv). SQLite: copies the file with SQLite's online backup API. Errors when the
// file exists already, the tool fails (its stderr, redacted), or the result is empty.
Result<BackupResult> take_backup(const DatabaseUrl& url, const BackupOptions& options, CommandRunner& runner);

// The tables a PostgreSQL backup dumps, one file each (dropped tables, then the tables of
// dropped columns, without repeats); empty for the whole database.
std::vector<TableRef> tables_to_dump(const BackupOptions& options);

// The pg_dump command line for one table (nullptr: the whole database), for --dry-run and tests.
std::vector<std::string> pg_dump_argv(const DatabaseUrl& url, const BackupOptions& options, const TableRef* table,
                                      const std::filesystem::path& file);

// A pg_dump --table pattern naming exactly this table: "schema"."table", quoted so that case,
// dots and wildcard characters are taken literally.
std::string pg_table_pattern(const TableRef& table);

// How to get the data back from the files: each dropped table (as it was, or into the table
// `alembic upgrade` re-creates), each dropped column (through a scratch database, or an
// attached copy for SQLite), and the whole database.
std::vector<std::string> restore_instructions(const DatabaseUrl& url, const BackupOptions& options,
                                              const std::vector<BackupFile>& files);

}  // namespace rb::db
