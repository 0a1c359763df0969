#include "db/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "db/database.hpp"
#include "db/risk.hpp"
#include "util/fs.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace fs = std::filesystem;

namespace {

// sqlite3_backup_step pages per step, and the pause when the source is busy: small steps let
// writers in between (SQLite's documentation example uses 5 pages and 250 ms).
constexpr int kSqliteBackupPagesPerStep = 100;
constexpr std::chrono::milliseconds kSqliteBackupBusyPause{100};
constexpr int kSqliteBackupMaxBusyRetries = 600;  // 60 s of a locked source, then give up
constexpr size_t kMaxToolErrorChars = 2000;        // of pg_dump's stderr in an error message

std::string display_name(const TableRef& t) { return t.schema.empty() ? t.table : t.schema + "." + t.table; }

std::string file_safe(std::string_view text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  return out;
}

// Creates the folder 0700 (tightening an existing one) and a new, empty 0600 file.
Status create_private_file(const fs::path& folder, const fs::path& file) {
  RB_TRY(ensure_private_dir(folder));
  if (chmod(folder.c_str(), 0700) != 0)
    return failure(fmt::format("cannot make {} private (chmod 0700): {}", folder.string(), strerror(errno)),
                   "use a backup folder that belongs to this user");
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    return failure(fmt::format("cannot create the backup file {}: {}", file.string(), strerror(e)),
                   e == EEXIST ? "a backup with this name exists already; backups are never overwritten"
                               : "check the backup folder's permissions and free space");
  }
  fchmod(fd, 0600);  // whatever the umask
  close(fd);
  return {};
}

std::uintmax_t size_of(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

std::string shorten(std::string text) {
  text = trim(text);
  if (text.size() > kMaxToolErrorChars) text = text.substr(0, kMaxToolErrorChars) + "...";
  return text;
}

std::string sql_string(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

Result<BackupResult> backup_postgres(const DatabaseUrl& url, const BackupOptions& options, CommandRunner& runner) {
  BackupResult result;
  auto tables = tables_to_dump(options);
  std::vector<std::pair<const TableRef*, fs::path>> jobs;
  if (tables.empty()) {
    jobs.emplace_back(nullptr, options.folder / (options.name + ".dump"));
  } else {
    for (const auto& t : tables) {
      fs::path file = options.folder / (options.name + "." + file_safe(display_name(t)) + ".dump");
      for (int k = 2; std::any_of(jobs.begin(), jobs.end(), [&](const auto& j) { return j.second == file; }); ++k)
        file = options.folder / fmt::format("{}.{}-{}.dump", options.name, file_safe(display_name(t)), k);
      jobs.emplace_back(&t, file);
    }
  }
  ProcessOptions popts;
  popts.timeout = options.timeout;
  if (url.has_password) popts.env_set["PGPASSWORD"] = url.password;
  else if (auto p = url.query_value("password")) popts.env_set["PGPASSWORD"] = *p;

  for (const auto& [table, file] : jobs) {
    RB_TRY(create_private_file(options.folder, file));
    auto argv = pg_dump_argv(url, options, table, file);
    auto run = runner.run(argv, popts);
    if (!run || !run->ok()) {
      std::error_code ec;
      fs::remove(file, ec);
      if (!run)
        return failure(fmt::format("cannot run {}: {}", options.pg_dump, run.error().message),
                       "install the PostgreSQL client (Debian: postgresql-client), or set the pg_dump path");
      std::string err = redact(shorten(run->err));
      if (url.has_password && url.password.size() > 0)
        for (size_t pos; (pos = err.find(url.password)) != std::string::npos;) err.replace(pos, url.password.size(), "***");
      return failure(fmt::format("{} failed ({}): {}", format_argv(argv), run->describe(), err),
                     "pg_dump must be at least the server's major version (pg_dump --version), and the user must be "
                     "able to read the tables; no data was changed");
    }
    if (chmod(file.c_str(), 0600) != 0)
      return failure(fmt::format("cannot make {} private (chmod 0600): {}", file.string(), strerror(errno)));
    BackupFile f{file, size_of(file), table ? display_name(*table) : ""};
    if (f.bytes == 0)
      return failure(fmt::format("{} wrote an empty file {}", options.pg_dump, file.string()),
                     "do not roll back without a backup: check the disk and pg_dump's output");
    result.files.push_back(std::move(f));
  }
  result.restore = restore_instructions(url, options, result.files);
  return result;
}

Result<BackupResult> backup_sqlite(const DatabaseUrl& url, const BackupOptions& options) {
  if (url.is_sqlite_memory())
    return usage_error("an in-memory SQLite database cannot be backed up", "use a sqlite:///file URL");
  fs::path source = url.sqlite_file(options.base_dir);
  std::error_code ec;
  if (!fs::is_regular_file(source, ec))
    return failure(fmt::format("the SQLite database {} does not exist", source.string()),
                   "a relative sqlite:/// path is relative to the folder alembic runs in");
  fs::path file = options.folder / (options.name + ".sqlite3");
  RB_TRY(create_private_file(options.folder, file));

  auto fail = [&](std::string message) -> Error {
    std::error_code rm;
    fs::remove(file, rm);
    return failure(std::move(message), "no data was changed; check the disk and that the database file is readable");
  };
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  auto close_all = [&] {
    if (src) sqlite3_close_v2(src);
    if (dst) sqlite3_close_v2(dst);
  };
  if (sqlite3_open_v2(source.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string m = fmt::format("cannot open {}: {}", source.string(), src ? sqlite3_errmsg(src) : "out of memory");
    close_all();
    return fail(m);
  }
  if (sqlite3_open_v2(file.c_str(), &dst, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string m = fmt::format("cannot open {}: {}", file.string(), dst ? sqlite3_errmsg(dst) : "out of memory");
    close_all();
    return fail(m);
  }
  sqlite3_backup* backup = sqlite3_backup_init(dst, "main", src, "main");
  if (!backup) {
    std::string m = fmt::format("cannot start copying {}: {}", source.string(), sqlite3_errmsg(dst));
    close_all();
    return fail(m);
  }
  int rc;
  int busy = 0;
  do {
    rc = sqlite3_backup_step(backup, kSqliteBackupPagesPerStep);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (++busy > kSqliteBackupMaxBusyRetries) break;
      std::this_thread::sleep_for(kSqliteBackupBusyPause);
    }
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(backup);
  int final_rc = sqlite3_errcode(dst);
  if (rc != SQLITE_DONE || final_rc != SQLITE_OK) {
    std::string m = fmt::format("copying {} to {} failed: {}", source.string(), file.string(),
                                rc == SQLITE_DONE ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
    close_all();
    return fail(m);
  }
  close_all();
  if (chmod(file.c_str(), 0600) != 0)
    return failure(fmt::format("cannot make {} private (chmod 0600): {}", file.string(), strerror(errno)));
  BackupResult result;
  result.files.push_back({file, size_of(file), ""});
  result.restore = restore_instructions(url, options, result.files);
  return result;
}

}  // namespace

std::vector<TableRef> tables_to_dump(const BackupOptions& options) {
  std::vector<TableRef> out;
  if (options.whole_database) return out;
  auto add = [&](const std::string& schema, const std::string& table) {
    for (const auto& t : out)
      if (t.schema == schema && t.table == table) return;
    out.push_back({schema, table});
  };
  for (const auto& t : options.dropped_tables) add(t.schema, t.table);
  for (const auto& c : options.dropped_columns) add(c.schema, c.table);
  return out;
}

std::string pg_table_pattern(const TableRef& table) {
  // Inside double quotes, pg_dump's patterns take every character literally ("" is a quote).
  return table.schema.empty() ? quote_identifier(table.table) : quote_table(table.schema, table.table);
}

std::vector<std::string> pg_dump_argv(const DatabaseUrl& url, const BackupOptions& options, const TableRef* table,
                                      const fs::path& file) {
  std::vector<std::string> argv{options.pg_dump, "--format=custom", "--no-password", "--file=" + file.string()};
  if (table) {
    argv.push_back("--strict-names");
    argv.push_back("--table=" + pg_table_pattern(*table));
  }
  argv.push_back("--dbname=" + libpq_conninfo(libpq_params(url)));
  return argv;
}

std::vector<std::string> restore_instructions(const DatabaseUrl& url, const BackupOptions& options,
                                              const std::vector<BackupFile>& files) {
  std::vector<std::string> out;
  auto file_for = [&](const std::string& table) -> std::optional<fs::path> {
    for (const auto& f : files)
      if (f.table == table) return f.path;
    return std::nullopt;
  };

  if (url.is_postgresql()) {
    auto params = libpq_params(url);
    const std::string conninfo = libpq_conninfo(params);
    for (const auto& t : options.dropped_tables) {
      auto f = file_for(display_name(t));
      if (!f) continue;
      out.push_back(fmt::format("# {} (dropped by the downgrade): to get it back as it was, rows, indexes and "
                                "constraints included:",
                                display_name(t)));
      out.push_back(format_argv({"pg_restore", "--dbname=" + conninfo, f->string()}));
      out.push_back("# or, once `alembic upgrade` has re-created it empty, reload its rows (and its sequences):");
      out.push_back(format_argv({"pg_restore", "--data-only", "--dbname=" + conninfo, f->string()}));
    }
    std::string scratch = "rollback_restore";
    auto scratch_params = params;
    bool replaced = false;
    for (auto& [k, v] : scratch_params)
      if (k == "dbname") {
        v = scratch;
        replaced = true;
      }
    if (!replaced) scratch_params.emplace_back("dbname", scratch);
    for (const auto& c : options.dropped_columns) {
      TableRef t{c.schema, c.table};
      auto f = file_for(display_name(t));
      if (!f) continue;
      out.push_back(fmt::format("# {}.{} (column dropped by the downgrade): restore the table into a scratch "
                                "database, then copy the column back by primary key:",
                                display_name(t), c.column));
      out.push_back(format_argv({"psql", "--dbname=" + conninfo, "--command=CREATE DATABASE " + quote_identifier(scratch)}));
      out.push_back(format_argv({"pg_restore", "--no-owner", "--dbname=" + libpq_conninfo(scratch_params), f->string()}));
      out.push_back(format_argv({"psql", "--dbname=" + libpq_conninfo(scratch_params),
                                 fmt::format("--command=\\copy (SELECT <primary key>, {} FROM {}) TO '{}.csv' CSV",
                                             quote_identifier(c.column), quote_table(c.schema, c.table),
                                             file_safe(c.table + "_" + c.column))}));
      out.push_back(fmt::format("# then, in the real database once the column exists again (alembic upgrade): \\copy "
                                "the CSV into a temporary table and UPDATE {} SET {} = tmp.{} FROM tmp WHERE "
                                "<primary key> matches",
                                quote_table(c.schema, c.table), quote_identifier(c.column), quote_identifier(c.column)));
    }
    for (const auto& f : files) {
      if (!f.table.empty()) continue;
      out.push_back("# the whole database as it was before the downgrade (stop the application first; this "
                    "replaces every object in the dump, alembic_version included):");
      out.push_back(format_argv({"pg_restore", "--clean", "--if-exists", "--dbname=" + conninfo, f.path.string()}));
    }
    out.push_back("# these commands carry no password: export PGPASSWORD or use ~/.pgpass");
    return out;
  }

  if (url.is_sqlite() && !files.empty()) {
    const fs::path db = url.sqlite_file(options.base_dir);
    const std::string backup = files[0].path.string();
    const std::string attach = "ATTACH DATABASE " + sql_string(backup) + " AS backup; ";
    out.push_back("# the whole database as it was before the downgrade (stop the application first; "
                  "alembic_version included):");
    out.push_back(format_argv({"cp", backup, db.string()}));
    for (const auto& t : options.dropped_tables) {
      out.push_back(fmt::format("# {} (dropped by the downgrade): re-create it from its definition in the backup, "
                                "then copy the rows:",
                                display_name(t)));
      out.push_back(format_argv({"sqlite3", backup, ".schema " + quote_identifier(t.table)}));
      out.push_back(format_argv({"sqlite3", db.string(), attach + fmt::format("INSERT INTO main.{} SELECT * FROM backup.{};",
                                                                             quote_identifier(t.table),
                                                                             quote_identifier(t.table))}));
    }
    for (const auto& c : options.dropped_columns) {
      out.push_back(fmt::format("# {}.{} (column dropped by the downgrade): once it exists again (alembic upgrade), "
                                "copy it back; rows are matched by rowid (the INTEGER PRIMARY KEY if there is one), "
                                "check that first:",
                                c.table, c.column));
      const std::string t = quote_identifier(c.table), col = quote_identifier(c.column);
      out.push_back(format_argv(
          {"sqlite3", db.string(),
           attach + fmt::format("UPDATE main.{t} SET {c} = (SELECT b.{c} FROM backup.{t} AS b WHERE b.rowid = main.{t}.rowid);",
                                fmt::arg("t", t), fmt::arg("c", col))}));
    }
  }
  return out;
}

Result<BackupResult> take_backup(const DatabaseUrl& url, const BackupOptions& options, CommandRunner& runner) {
  if (options.name.empty() || options.name.find('/') != std::string::npos)
    return usage_error(fmt::format("'{}' is not a usable backup name", options.name), "use a plain file name");
  if (options.folder.empty()) return usage_error("no backup folder was given", "give a folder for backups");
  if (url.is_postgresql()) return backup_postgres(url, options, runner);
  if (url.is_sqlite()) return backup_sqlite(url, options);
  return usage_error(fmt::format("backups of {} databases are not supported ({})", url.dialect, url.redacted()),
                     "take a backup with the database's own tools before rolling back");
}

}  // namespace rb::db
