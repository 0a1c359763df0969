// PostgreSQL for real: a throwaway cluster (Debian's PostgreSQL 15, run as the `postgres` user
// when the tests run as root, since PostgreSQL refuses root), password authentication over a
// private Unix socket, the fixture project migrated by the real Alembic through psycopg2, then
// PostgresDatabase, pg_dump backups and the restore command they print.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/backup.hpp"
#include "db/database.hpp"
#include "db/planner.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "../support/migrations_fixture.hpp"

using namespace rb;
using namespace rb::db;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kAlembic = "/usr/bin/alembic";
constexpr std::chrono::seconds kToolTimeout{120};
constexpr const char* kSuperPassword = "Super-Secret-Pw-1";
// Every character SQLAlchemy URLs need encoded, so that decoding is tested for real.
constexpr const char* kAppPassword = "App p@ss:w/rd%1";
constexpr const char* kAppPasswordEncoded = "App%20p%40ss%3Aw%2Frd%251";

using Ids = std::vector<std::string>;

class Cluster {
 public:
  bool start(std::string& why) {
    if (!fs::exists(fs::path(kPgBin) / "initdb")) return fail(why, "PostgreSQL 15 is not installed");
    char templ[] = "/tmp/rb-pg-XXXXXX";
    if (!mkdtemp(templ)) return fail(why, "mkdtemp failed");
    dir_ = templ;
    if (geteuid() == 0) {
      passwd* pw = getpwnam("postgres");
      if (!pw) return fail(why, "running as root and there is no postgres user");
      owner_ = "postgres";
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return fail(why, "chown failed");
    }
    {
      fs::path pwfile = dir_ / "pwfile";
      FILE* f = fopen(pwfile.c_str(), "w");
      if (!f) return fail(why, "cannot write the password file");
      fputs(kSuperPassword, f);
      fclose(f);
      if (!owner_.empty()) {
        passwd* pw = getpwnam("postgres");
        if (chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) return fail(why, "chown failed");
      }
    }
    auto init = as_owner({std::string(kPgBin) + "/initdb", "-D", (dir_ / "data").string(), "-U", "postgres",
                          "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--pwfile=" + (dir_ / "pwfile").string(),
                          "-E", "UTF8", "--no-sync", "--no-instructions"});
    if (!init.ok()) return fail(why, "initdb failed: " + init.err + init.out);
    auto start = as_owner({std::string(kPgBin) + "/pg_ctl", "-D", (dir_ / "data").string(), "-w", "-t", "60", "-l",
                           (dir_ / "log").string(), "-o",
                           "-k " + dir_.string() + " -c listen_addresses= -c fsync=off -p 5432", "start"});
    if (!start.ok()) return fail(why, "pg_ctl start failed: " + start.err + start.out);
    started_ = true;
    auto create = psql_super({"CREATE ROLE app LOGIN PASSWORD '" + std::string(kAppPassword) + "'",
                              "CREATE DATABASE app OWNER app"});
    if (!create.ok()) return fail(why, "creating the app role failed: " + create.err);
    return true;
  }

  void stop() {
    if (started_) as_owner({std::string(kPgBin) + "/pg_ctl", "-D", (dir_ / "data").string(), "-m", "immediate", "stop"});
    started_ = false;
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::string app_url() const {
    return fmt::format("postgresql+psycopg2://app:{}@/app?host={}&port=5432", kAppPasswordEncoded, dir_.string());
  }
  const fs::path& dir() const { return dir_; }

  ProcessResult psql_app(const std::string& sql) const {
    ProcessOptions o;
    o.env_set["PGPASSWORD"] = kAppPassword;
    o.timeout = kToolTimeout;
    auto r = run_process({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "--dbname=" + conninfo("app", "app"),
                          "-c", sql},
                         o);
    return r.ok() ? *r : ProcessResult{};
  }

  std::string conninfo(const std::string& user, const std::string& db) const {
    return libpq_conninfo({{"host", dir_.string()}, {"port", "5432"}, {"user", user}, {"dbname", db}});
  }

 private:
  static bool fail(std::string& why, std::string text) {
    why = std::move(text);
    return false;
  }

  ProcessResult as_owner(Ids argv) const {
    if (!owner_.empty()) argv.insert(argv.begin(), {"runuser", "-u", owner_, "--"});
    ProcessOptions o;
    o.timeout = kToolTimeout;
    o.cwd = dir_;
    auto r = run_process(argv, o);
    return r.ok() ? *r : ProcessResult{};
  }

  ProcessResult psql_super(const Ids& statements) const {
    ProcessOptions o;
    o.env_set["PGPASSWORD"] = kSuperPassword;
    o.timeout = kToolTimeout;
    Ids argv{"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname=" + conninfo("postgres", "postgres")};
    for (const auto& s : statements) {
      argv.push_back("-c");
      argv.push_back(s);
    }
    auto r = run_process(argv, o);
    return r.ok() ? *r : ProcessResult{};
  }

  fs::path dir_;
  std::string owner_;
  bool started_ = false;
};

class db_postgres : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new Cluster;
    if (!cluster_->start(skip_reason_)) {
      cluster_->stop();
      delete cluster_;
      cluster_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (cluster_) cluster_->stop();
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (!cluster_) GTEST_SKIP() << "no PostgreSQL cluster: " << skip_reason_;
  }

  ProcessResult alembic(const Ids& args) {
    Ids argv{kAlembic};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o;
    o.cwd = fs::path(ROLLBACK_SOURCE_DIR) / "tests/fixtures/migrations";
    o.env_set["DATABASE_URL"] = cluster_->app_url();
    o.env_set["PYTHONDONTWRITEBYTECODE"] = "1";
    o.timeout = kToolTimeout;
    auto r = run_process(argv, o);
    return r.ok() ? *r : ProcessResult{};
  }

  static Cluster* cluster_;
  static std::string skip_reason_;
};

Cluster* db_postgres::cluster_ = nullptr;
std::string db_postgres::skip_reason_;

}  // namespace

TEST_F(db_postgres, WrongPasswordErrorHasNoPassword) {
  auto url = DatabaseUrl::parse(fmt::format("postgresql://app:Wrong-Secret-55@/app?host={}&port=5432", cluster_->dir().string()));
  ASSERT_TRUE(url.ok());
  auto db = open_database(*url, "/");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("password authentication failed"), std::string::npos) << db.error().message;
  EXPECT_EQ(db.error().message.find("Wrong-Secret-55"), std::string::npos) << db.error().message;
}

TEST_F(db_postgres, ReadsMigratedDatabaseBacksUpDowngradesAndRestores) {
  if (!fs::exists(kAlembic)) GTEST_SKIP() << "alembic is not installed";
  auto up = alembic({"upgrade", "merge_heads_20260130"});
  ASSERT_TRUE(up.ok()) << up.err;
  auto ins = cluster_->psql_app(
      "INSERT INTO users (id, name, nickname, phone) VALUES (1, 'ada', NULL, '+44 1'), (2, 'grace', 'g', NULL), "
      "(3, 'linus', NULL, '+1 2'); INSERT INTO audit_log (user_id, action) VALUES (1, 'login'), (2, 'login'), "
      "(3, 'logout'), (1, 'logout');");
  ASSERT_TRUE(ins.ok()) << ins.err;

  auto url = DatabaseUrl::parse(cluster_->app_url());
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->password, kAppPassword);
  {
    auto db = open_database(*url, "/");
    ASSERT_TRUE(db.ok()) << db.error().message;
    EXPECT_EQ(*(*db)->version_rows(kDefaultVersionTable, std::nullopt), Ids{"merge_heads_20260130"});
    EXPECT_EQ(*(*db)->version_rows(kDefaultVersionTable, "public"), Ids{"merge_heads_20260130"});
    EXPECT_TRUE(*(*db)->table_exists("audit_log", std::nullopt));
    EXPECT_TRUE(*(*db)->table_exists("audit_log", "public"));
    EXPECT_FALSE(*(*db)->table_exists("settings", std::nullopt));
    EXPECT_EQ(*(*db)->table_names(), (Ids{"alembic_version", "audit_log", "users"}));
    EXPECT_EQ(*(*db)->scalar_count("SELECT count(*) FROM \"audit_log\""), 4);
    EXPECT_EQ(*(*db)->scalar_count("SELECT count(*) FROM \"users\" WHERE \"phone\" IS NOT NULL"), 2);
    // The session is read-only.
    auto write = (*db)->scalar_count("WITH d AS (DELETE FROM audit_log RETURNING 1) SELECT count(*) FROM d");
    ASSERT_FALSE(write.ok());
    EXPECT_NE(write.error().message.find("read-only"), std::string::npos) << write.error().message;
    EXPECT_EQ((*db)->version_rows("missing_version", std::nullopt).error().tag, "no-version-table");
  }

  // Back up what the downgrade to 2b8e5d9c4a10 destroys.
  fs::path backups = cluster_->dir() / "backups";
  BackupOptions options;
  options.folder = backups;
  options.name = "test-before-2b8e";
  options.dropped_tables = {{"", "audit_log"}};
  options.dropped_columns = {{"", "users", "phone"}};
  SystemCommandRunner runner;
  auto backup = take_backup(*url, options, runner);
  ASSERT_TRUE(backup.ok()) << backup.error().message;
  ASSERT_EQ(backup->files.size(), 2u);
  for (const auto& f : backup->files) {
    struct stat st{};
    ASSERT_EQ(stat(f.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600) << f.path;
    EXPECT_GT(f.bytes, 0u);
  }
  std::string restore = join(backup->restore, "\n");
  EXPECT_EQ(restore.find(kAppPassword), std::string::npos);

  // Downgrade for real with the planned argument; the rows are what the planner said.
  auto plan = plan_downgrade(rb::testing::migrations_fixture_graph(), {"merge_heads_20260130"}, DowngradeTarget::to("2b8e5d9c4a10"));
  ASSERT_TRUE(plan.ok());
  auto down = alembic({"downgrade", plan->alembic_argument});
  ASSERT_TRUE(down.ok()) << down.err;
  {
    auto db = open_database(*url, "/");
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(*(*db)->version_rows(kDefaultVersionTable, std::nullopt), plan->expected_rows);
    EXPECT_FALSE(*(*db)->table_exists("audit_log", std::nullopt));
  }

  // The printed restore for the dropped table brings it back whole: rows, key and index.
  ProcessOptions o;
  o.env_set["PGPASSWORD"] = kAppPassword;
  o.timeout = kToolTimeout;
  const auto& audit_dump = backup->files[0];
  ASSERT_EQ(audit_dump.table, "audit_log");
  EXPECT_NE(restore.find(format_argv({"pg_restore", "--dbname=" + libpq_conninfo(libpq_params(*url)), audit_dump.path.string()})),
            std::string::npos)
      << restore;
  auto restored = run_process({"pg_restore", "--dbname=" + libpq_conninfo(libpq_params(*url)), audit_dump.path.string()}, o);
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(restored->ok()) << restored->err;
  EXPECT_EQ(trim(cluster_->psql_app("SELECT count(*) FROM audit_log").out), "4");
  EXPECT_EQ(trim(cluster_->psql_app("SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_log'").out), "2");

  // The users dump still holds the dropped column's values.
  auto listing = run_process({"pg_restore", "--data-only", "--file=-", backup->files[1].path.string()}, o);
  ASSERT_TRUE(listing.ok());
  EXPECT_NE(listing->out.find("+44 1"), std::string::npos);
}
