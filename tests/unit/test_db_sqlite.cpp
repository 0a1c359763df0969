#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "db/backup.hpp"
#include "db/database.hpp"
#include "db/risk.hpp"
#include "util/fs.hpp"

using namespace rb;
using namespace rb::db;
namespace fs = std::filesystem;

namespace {

void exec(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// A database as the fixture project leaves it at merge_heads_20260130, with some data.
void make_database(const fs::path& file) {
  exec(file, R"(
    CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
    INSERT INTO alembic_version VALUES ('merge_heads_20260130');
    CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, nickname VARCHAR(50), phone VARCHAR(30));
    INSERT INTO users VALUES (1, 'ada', NULL, '+44 20 7946 0000'), (2, 'grace', 'amazing', NULL), (3, 'linus', NULL, '+1 555');
    CREATE TABLE audit_log (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), action VARCHAR(200) NOT NULL);
    INSERT INTO audit_log VALUES (1, 1, 'login'), (2, 2, 'login'), (3, 1, 'logout'), (4, 3, 'login');
  )");
}

int mode_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

}  // namespace

TEST(db_sqlite, VersionRowsCountsAndTables) {
  auto tmp = TempDir::create("rb-db-sqlite");
  ASSERT_TRUE(tmp.ok());
  fs::path file = tmp->path() / "app.db";
  make_database(file);
  auto url = DatabaseUrl::parse("sqlite:///app.db");
  ASSERT_TRUE(url.ok());
  auto db = open_database(*url, tmp->path());
  ASSERT_TRUE(db.ok()) << db.error().message;

  auto rows = (*db)->version_rows(kDefaultVersionTable, std::nullopt);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(*rows, std::vector<std::string>{"merge_heads_20260130"});
  auto main_rows = (*db)->version_rows(kDefaultVersionTable, "main");
  ASSERT_TRUE(main_rows.ok()) << main_rows.error().message;

  EXPECT_EQ(*(*db)->table_exists("audit_log", std::nullopt), true);
  EXPECT_EQ(*(*db)->table_exists("settings", std::nullopt), false);
  EXPECT_EQ(*(*db)->table_names(), (std::vector<std::string>{"alembic_version", "audit_log", "users"}));

  // The counts the risk analysis asks for.
  std::vector<Finding> findings(2);
  findings[0].kind = FindingKind::DropTable;
  findings[0].table = "audit_log";
  findings[1].kind = FindingKind::DropColumn;
  findings[1].table = "users";
  findings[1].column = "phone";
  auto checks = data_checks(findings);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(*(*db)->scalar_count(checks[0].sql), 4);
  EXPECT_EQ(*(*db)->scalar_count(checks[1].sql), 2);

  auto missing = (*db)->version_rows("other_version", std::nullopt);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().tag, "no-version-table");
  auto not_a_count = (*db)->scalar_count("SELECT name FROM users WHERE id = 1");
  ASSERT_FALSE(not_a_count.ok());
  EXPECT_NE(not_a_count.error().message.find("not a number"), std::string::npos);
}

TEST(db_sqlite, OpensReadOnly) {
  auto tmp = TempDir::create("rb-db-sqlite");
  ASSERT_TRUE(tmp.ok());
  fs::path file = tmp->path() / "app.db";
  make_database(file);
  auto db = SqliteDatabase::open(file);
  ASSERT_TRUE(db.ok());
  auto write = (*db)->scalar_count("DELETE FROM audit_log RETURNING 1");
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(*(*db)->scalar_count("SELECT count(*) FROM audit_log"), 4);
}

TEST(db_sqlite, BackupIsAPrivateConsistentCopyThatRestoresData) {
  auto tmp = TempDir::create("rb-db-sqlite");
  ASSERT_TRUE(tmp.ok());
  fs::path file = tmp->path() / "app.db";
  make_database(file);
  auto url = DatabaseUrl::parse("sqlite:///" + file.string());
  ASSERT_TRUE(url.ok());

  BackupOptions options;
  options.folder = tmp->path() / "backups" / "prod";
  options.name = "prod-20260301T101500Z-merge_heads_20260130";
  options.dropped_tables = {{"", "audit_log"}};
  options.dropped_columns = {{"", "users", "phone"}};
  SystemCommandRunner runner;
  auto backup = take_backup(*url, options, runner);
  ASSERT_TRUE(backup.ok()) << backup.error().message;
  ASSERT_EQ(backup->files.size(), 1u);
  const fs::path copy = backup->files[0].path;
  EXPECT_EQ(copy, options.folder / "prod-20260301T101500Z-merge_heads_20260130.sqlite3");
  EXPECT_EQ(mode_of(copy), 0600);
  EXPECT_EQ(mode_of(options.folder), 0700);
  EXPECT_GT(backup->files[0].bytes, 0u);

  // The downgrade happens: the table and the column go.
  exec(file, "DROP TABLE audit_log; ALTER TABLE users DROP COLUMN phone; UPDATE alembic_version SET version_num = '2b8e5d9c4a10';");

  // The copy still has everything.
  auto saved = SqliteDatabase::open(copy);
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(*(*saved)->scalar_count("SELECT count(*) FROM audit_log"), 4);
  EXPECT_EQ(*(*saved)->scalar_count("SELECT count(*) FROM users WHERE phone IS NOT NULL"), 2);
  EXPECT_EQ(*(*saved)->version_rows(kDefaultVersionTable, std::nullopt), std::vector<std::string>{"merge_heads_20260130"});

  // The restore steps name the files and say how; running the table's steps brings the rows back.
  std::string all;
  for (const auto& line : backup->restore) all += line + "\n";
  EXPECT_NE(all.find("cp " + copy.string() + " " + file.string()), std::string::npos) << all;
  EXPECT_NE(all.find("INSERT INTO main.\"audit_log\" SELECT * FROM backup.\"audit_log\""), std::string::npos) << all;
  EXPECT_NE(all.find("UPDATE main.\"users\" SET \"phone\""), std::string::npos) << all;
  exec(file, "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, action VARCHAR(200) NOT NULL);"
             "ATTACH DATABASE '" + copy.string() + "' AS backup; INSERT INTO main.\"audit_log\" SELECT * FROM backup.\"audit_log\";");
  auto restored = SqliteDatabase::open(file);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*(*restored)->scalar_count("SELECT count(*) FROM audit_log"), 4);

  // Backups are never overwritten.
  auto again = take_backup(*url, options, runner);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().hint.find("never overwritten"), std::string::npos);
}

TEST(db_sqlite, BackupOfAMissingDatabaseFails) {
  auto tmp = TempDir::create("rb-db-sqlite");
  ASSERT_TRUE(tmp.ok());
  auto url = DatabaseUrl::parse("sqlite:///nope.db");
  BackupOptions options;
  options.folder = tmp->path() / "b";
  options.name = "x";
  options.base_dir = tmp->path();
  SystemCommandRunner runner;
  auto r = take_backup(*url, options, runner);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nope.db"), std::string::npos);
}
