#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "db/backup.hpp"
#include "util/fs.hpp"

using namespace rb;
using namespace rb::db;
namespace fs = std::filesystem;

namespace {

// Records what would run; writes some bytes to the --file= target like pg_dump does.
class FakeRunner final : public CommandRunner {
 public:
  Result<ProcessResult> run(const std::vector<std::string>& argv, const ProcessOptions& options) override {
    calls.push_back(argv);
    envs.push_back(options.env_set);
    modes_before.push_back(-1);
    for (const auto& a : argv) {
      if (a.rfind("--file=", 0) == 0) {
        fs::path f = a.substr(7);
        struct stat st{};
        if (stat(f.c_str(), &st) == 0) modes_before.back() = st.st_mode & 0777;
        if (exit_code == 0) std::ofstream(f, std::ios::app) << "PGDMP fake archive";
      }
    }
    ProcessResult r;
    r.exit_code = exit_code;
    r.err = stderr_text;
    return r;
  }
  std::vector<std::vector<std::string>> calls;
  std::vector<std::map<std::string, std::string>> envs;
  std::vector<int> modes_before;
  int exit_code = 0;
  std::string stderr_text;
};

DatabaseUrl url() {
  auto u = DatabaseUrl::parse("postgresql+psycopg2://app:Dump-Secret-9@db.internal:5432/connect2?sslmode=require");
  EXPECT_TRUE(u.ok());
  return *u;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST(db_backup, TablePatternsAreQuotedLiterally) {
  EXPECT_EQ(pg_table_pattern({"", "audit_log"}), "\"audit_log\"");
  EXPECT_EQ(pg_table_pattern({"Sales", "Order.Items*"}), "\"Sales\".\"Order.Items*\"");
  EXPECT_EQ(pg_table_pattern({"", "a\"b"}), "\"a\"\"b\"");
}

TEST(db_backup, OneDumpPerTablePasswordOnlyInTheEnvironment) {
  auto tmp = TempDir::create("rb-db-backup");
  ASSERT_TRUE(tmp.ok());
  BackupOptions options;
  options.folder = tmp->path() / "backups";
  options.name = "prod-20260301T101500Z";
  options.dropped_tables = {{"", "audit_log"}};
  options.dropped_columns = {{"public", "users", "phone"}, {"", "audit_log", "action"}};
  FakeRunner runner;
  auto r = take_backup(url(), options, runner);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(runner.calls.size(), 2u);  // audit_log once, public.users once

  const auto& argv = runner.calls[0];
  EXPECT_EQ(argv[0], "pg_dump");
  EXPECT_EQ(argv[1], "--format=custom");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--table=\"audit_log\""), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--strict-names"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--no-password"), argv.end());
  EXPECT_EQ(argv.back(), "--dbname=host='db.internal' port='5432' user='app' dbname='connect2' sslmode='require'");
  EXPECT_NE(std::find(runner.calls[1].begin(), runner.calls[1].end(), "--table=\"public\".\"users\""), runner.calls[1].end());
  for (const auto& call : runner.calls) EXPECT_EQ(joined(call).find("Dump-Secret-9"), std::string::npos);
  EXPECT_EQ(runner.envs[0].at("PGPASSWORD"), "Dump-Secret-9");

  // The file exists, private, before pg_dump writes into it.
  EXPECT_EQ(runner.modes_before[0], 0600);
  ASSERT_EQ(r->files.size(), 2u);
  EXPECT_EQ(r->files[0].path, options.folder / "prod-20260301T101500Z.audit_log.dump");
  EXPECT_EQ(r->files[0].table, "audit_log");
  EXPECT_EQ(r->files[1].path, options.folder / "prod-20260301T101500Z.public.users.dump");
  struct stat st{};
  ASSERT_EQ(stat(options.folder.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);

  const std::string restore = joined(r->restore);
  EXPECT_EQ(restore.find("Dump-Secret-9"), std::string::npos);
  EXPECT_NE(restore.find("pg_restore '--dbname=host='\\''db.internal'\\'' port='\\''5432'\\'' user='\\''app'\\'' "
                         "dbname='\\''connect2'\\'' sslmode='\\''require'\\''' " +
                         r->files[0].path.string()),
            std::string::npos)
      << restore;
  EXPECT_NE(restore.find("pg_restore --data-only"), std::string::npos) << restore;
  EXPECT_NE(restore.find("scratch database"), std::string::npos) << restore;
  EXPECT_NE(restore.find("dbname='\\''rollback_restore'\\''"), std::string::npos) << restore;
  EXPECT_NE(restore.find("PGPASSWORD"), std::string::npos) << restore;
}

TEST(db_backup, WholeDatabase) {
  auto tmp = TempDir::create("rb-db-backup");
  ASSERT_TRUE(tmp.ok());
  BackupOptions options;
  options.folder = tmp->path();
  options.name = "all";
  FakeRunner runner;
  auto r = take_backup(url(), options, runner);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(runner.calls.size(), 1u);
  for (const auto& a : runner.calls[0]) EXPECT_EQ(a.rfind("--table", 0), std::string::npos);
  EXPECT_NE(joined(r->restore).find("pg_restore --clean --if-exists"), std::string::npos);
}

TEST(db_backup, FailedDumpRemovesTheFileAndRedactsItsOutput) {
  auto tmp = TempDir::create("rb-db-backup");
  ASSERT_TRUE(tmp.ok());
  BackupOptions options;
  options.folder = tmp->path();
  options.name = "x";
  options.dropped_tables = {{"", "settings"}};
  FakeRunner runner;
  runner.exit_code = 1;
  runner.stderr_text = "pg_dump: error: connection failed for password Dump-Secret-9\n";
  auto r = take_backup(url(), options, runner);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("Dump-Secret-9"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("exit code 1"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("no data was changed"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp->path() / "x.settings.dump"));
}

TEST(db_backup, RefusesBadNames) {
  FakeRunner runner;
  BackupOptions options;
  options.folder = "/tmp";
  options.name = "../escape";
  EXPECT_FALSE(take_backup(url(), options, runner).ok());
  EXPECT_TRUE(runner.calls.empty());
}
