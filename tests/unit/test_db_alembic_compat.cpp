// What rollback reads and plans, checked against the real Alembic (Debian's 1.8.1, run by
// /usr/bin/python3) on the fixture project and a SQLite database: the history, the
// migrations a downgrade runs and their order, and the version rows it leaves.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <regex>

#include "db/database.hpp"
#include "db/planner.hpp"
#include "db/risk.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

using namespace rb;
using namespace rb::db;
namespace fs = std::filesystem;

namespace {

constexpr const char* kAlembic = "/usr/bin/alembic";
constexpr std::chrono::seconds kAlembicTimeout{120};

using Ids = std::vector<std::string>;

const fs::path& project() {
  static const fs::path p = fs::path(ROLLBACK_SOURCE_DIR) / "tests/fixtures/migrations";
  return p;
}

class db_alembic_compat : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kAlembic)) GTEST_SKIP() << kAlembic << " is not installed";
    auto t = TempDir::create("rb-db-compat");
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*t));
    auto scripts = read_migration_scripts({project() / "alembic/versions"});
    ASSERT_TRUE(scripts.ok()) << scripts.error().message;
    auto g = RevisionGraph::build(std::move(*scripts));
    ASSERT_TRUE(g.ok()) << g.error().message;
    graph_ = std::make_unique<RevisionGraph>(std::move(*g));
  }

  // Runs alembic in the fixture project against `db`; returns its result.
  ProcessResult alembic(const fs::path& db, const Ids& args) {
    Ids argv{kAlembic};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o;
    o.cwd = project();
    o.env_set["DATABASE_URL"] = "sqlite:///" + db.string();
    o.env_set["PYTHONDONTWRITEBYTECODE"] = "1";  // keep __pycache__ out of the source tree
    o.timeout = kAlembicTimeout;
    auto r = run_process(argv, o);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ProcessResult{};
  }

  fs::path fresh_db(const std::string& name, const std::string& upgrade_to) {
    fs::path db = tmp_->path() / (name + ".db");
    auto r = alembic(db, {"upgrade", upgrade_to});
    EXPECT_TRUE(r.ok()) << r.err;
    return db;
  }

  Ids rows(const fs::path& db) {
    auto d = SqliteDatabase::open(db);
    EXPECT_TRUE(d.ok());
    auto r = (*d)->version_rows(kDefaultVersionTable, std::nullopt);
    EXPECT_TRUE(r.ok()) << r.error().message;
    Ids out = r.ok() ? *r : Ids{};
    std::sort(out.begin(), out.end());
    return out;
  }

  // "INFO  [alembic.runtime.migration] Running downgrade X -> Y, doc" -> X, in order.
  static Ids downgrades_run(const std::string& log) {
    static const std::regex line(R"(Running downgrade (\S+) -> )");
    Ids out;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it)
      out.push_back((*it)[1].str());
    return out;
  }

  // Plans from the database's rows, runs `alembic downgrade <plan.alembic_argument>`, and checks
  // that Alembic ran the planned migrations in the planned order and left the expected rows.
  DowngradePlan plan_and_run(const fs::path& db, const DowngradeTarget& target) {
    Ids before = rows(db);
    auto plan = plan_downgrade(*graph_, before, target);
    EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message + "\n" + plan.error().hint);
    if (!plan.ok()) return {};
    auto r = alembic(db, {"downgrade", plan->alembic_argument});
    EXPECT_TRUE(r.ok()) << r.err;
    Ids planned;
    for (const auto& s : plan->steps) planned.push_back(s.revision);
    EXPECT_EQ(downgrades_run(r.err), planned) << "alembic downgrade " << plan->alembic_argument << "\n" << r.err;
    EXPECT_EQ(rows(db), plan->expected_rows) << "alembic downgrade " << plan->alembic_argument;
    return *plan;
  }

  static void exec(const fs::path& db, const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
    std::string message = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(h);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<RevisionGraph> graph_;
};

}  // namespace

TEST_F(db_alembic_compat, HistoryIsAlembicsLineForLine) {
  auto r = alembic(tmp_->path() / "unused.db", {"history"});
  ASSERT_TRUE(r.ok()) << r.err;
  Ids theirs;
  for (const auto& line : split(r.out, '\n'))
    if (!line.empty()) theirs.push_back(line);
  EXPECT_EQ(graph_->history(), theirs);
}

TEST_F(db_alembic_compat, HeadsAndBranchPointsAreAlembics) {
  auto heads = alembic(tmp_->path() / "unused.db", {"heads"});
  ASSERT_TRUE(heads.ok()) << heads.err;
  EXPECT_EQ(trim(heads.out), "8b0c1d2e3f4a (core) (head)");
  auto branches = alembic(tmp_->path() / "unused.db", {"branches"});
  ASSERT_TRUE(branches.ok());
  EXPECT_NE(branches.out.find("2b8e5d9c4a10"), std::string::npos);
  EXPECT_EQ(graph_->branch_points(), Ids{"2b8e5d9c4a10"});
}

TEST_F(db_alembic_compat, DependsOnRowsAndTheAbsoluteTargetThatAvoidsAlembicsGuess) {
  auto db = fresh_db("depends", "heads");
  EXPECT_EQ(rows(db), Ids{"8b0c1d2e3f4a"});
  auto first = plan_and_run(db, DowngradeTarget::relative(1));
  EXPECT_EQ(rows(db), (Ids{"2b8e5d9c4a10", "7a9b0c1d2e3f"}));  // Alembic 1.8.1's second row
  auto second = plan_and_run(db, DowngradeTarget::relative(1));
  EXPECT_EQ(second.alembic_argument, "backfill_nicknames_v2");
  EXPECT_EQ(rows(db), (Ids{"2b8e5d9c4a10", "backfill_nicknames_v2"}));
}

TEST_F(db_alembic_compat, MergePointThenOneBranchThenTheOther) {
  auto db = fresh_db("merge", "merge_heads_20260130");
  auto refused = plan_downgrade(*graph_, rows(db), DowngradeTarget::relative(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().tag, "ambiguous-walk");
  auto alembic_says = alembic(db, {"downgrade", "-1"});  // what the runbook would have run
  EXPECT_FALSE(alembic_says.ok());
  EXPECT_NE(alembic_says.err.find("Ambiguous walk"), std::string::npos);

  plan_and_run(db, DowngradeTarget::to("3c4d1e2f9a0b"));
  EXPECT_EQ(rows(db), (Ids{"3c4d1e2f9a0b", "5e6f7a8b9c0d"}));
  auto branch = plan_and_run(db, DowngradeTarget::relative(1, "3c4d1e2f9a0b"));
  EXPECT_EQ(branch.alembic_argument, "3c4d1e2f9a0b@2b8e5d9c4a10");
  EXPECT_EQ(rows(db), Ids{"5e6f7a8b9c0d"});
  plan_and_run(db, DowngradeTarget::relative(1));
  EXPECT_EQ(rows(db), Ids{"2b8e5d9c4a10"});
}

TEST_F(db_alembic_compat, WholeDiamondWithDataCountedFirst) {
  auto db = fresh_db("diamond", "merge_heads_20260130");
  exec(db,
       "INSERT INTO users (id, name, nickname, phone) VALUES (1, 'ada', NULL, '+44 1'), (2, 'grace', 'g', NULL), "
       "(3, 'linus', NULL, '+1 2');"
       "INSERT INTO audit_log (user_id, action) VALUES (1, 'login'), (2, 'login'), (3, 'logout');");
  auto plan = plan_downgrade(*graph_, rows(db), DowngradeTarget::to("2b8e"));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  std::vector<Finding> findings;
  for (const auto& s : plan->steps) {
    auto risk = analyze_downgrade(*s.script);
    ASSERT_TRUE(risk.ok());
    findings.insert(findings.end(), risk->findings.begin(), risk->findings.end());
  }
  auto checks = data_checks(findings);
  auto d = SqliteDatabase::open(db);
  ASSERT_TRUE(d.ok());
  std::map<std::string, long long> counts;
  for (const auto& c : checks) counts[c.description] = *(*d)->scalar_count(c.sql);
  d->reset();
  EXPECT_EQ(counts, (std::map<std::string, long long>{{"rows in audit_log", 3}, {"non-NULL values of users.phone", 2}}));

  plan_and_run(db, DowngradeTarget::to("2b8e"));
  auto after = SqliteDatabase::open(db);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(*(*after)->table_exists("audit_log", std::nullopt));
  EXPECT_EQ(*(*after)->scalar_count("SELECT count(*) FROM users"), 3);
}

TEST_F(db_alembic_compat, BaseFromTwoHeads) {
  auto db = fresh_db("twoheads", "3c4d1e2f9a0b");
  ASSERT_TRUE(alembic(db, {"upgrade", "5e6f7a8b9c0d"}).ok());
  EXPECT_EQ(rows(db), (Ids{"3c4d1e2f9a0b", "5e6f7a8b9c0d"}));
  auto plan = plan_and_run(db, DowngradeTarget::base());
  EXPECT_EQ(plan.steps.size(), 4u);
  EXPECT_EQ(rows(db), Ids{});
}

TEST_F(db_alembic_compat, APlanCrossingTheIrreversibleMigrationIsBlocking) {
  auto db = fresh_db("irreversible", "7a9b0c1d2e3f");
  auto plan = plan_downgrade(*graph_, rows(db), DowngradeTarget::relative(2));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  Severity worst = Severity::None;
  for (const auto& s : plan->steps) worst = std::max(worst, analyze_downgrade(*s.script)->severity);
  EXPECT_EQ(worst, Severity::Blocking);  // the command refuses; this is what Alembic would do:
  auto r = alembic(db, {"downgrade", plan->alembic_argument});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("NotImplementedError"), std::string::npos);
  // SQLite commits DDL as it goes: the settings downgrade ran before the failure.
  EXPECT_EQ(rows(db), Ids{"backfill_nicknames_v2"});

  auto short_plan = plan_downgrade(*graph_, rows(db), DowngradeTarget::to("merge_heads_20260130"));
  ASSERT_TRUE(short_plan.ok());
  EXPECT_TRUE(analyze_downgrade(*short_plan->steps[0].script)->irreversible());
}
