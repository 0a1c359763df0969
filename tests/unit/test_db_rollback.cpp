// The pieces of `rollback db` below the command line: the analysed plan (risks, what is dropped,
// what to back up), counting and verifying against a fake database, the setup.
#include <gtest/gtest.h>

#include <map>

#include "db/rollback.hpp"
#include "../support/migrations_fixture.hpp"

using namespace rb;
using namespace rb::db;

namespace {

using Ids = std::vector<std::string>;

constexpr const char* B = "2b8e5d9c4a10";
constexpr const char* MERGE = "merge_heads_20260130";
constexpr const char* BACKFILL = "backfill_nicknames_v2";
constexpr const char* SETTINGS = "7a9b0c1d2e3f";
constexpr const char* HEAD = "8b0c1d2e3f4a";

const RevisionGraph& fixture() { return rb::testing::migrations_fixture_graph(); }

AnalyzedPlan analyzed(const Ids& rows, const DowngradeTarget& target, const std::string& dialect = "postgresql") {
  auto plan = plan_downgrade(fixture(), rows, target);
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
  auto a = analyze_plan(fixture(), std::move(*plan), dialect);
  EXPECT_TRUE(a.ok());
  return std::move(*a);
}

// A database that answers from maps; every query is recorded.
class FakeDatabase final : public MigrationDatabase {
 public:
  Ids rows;
  Ids tables;
  std::map<std::string, long long> counts;  // sql -> count
  Ids queries;

  Result<Ids> version_rows(const std::string&, const std::optional<std::string>&) override { return rows; }
  Result<long long> scalar_count(const std::string& sql) override {
    queries.push_back(sql);
    auto it = counts.find(sql);
    if (it == counts.end()) return failure("column does not exist");
    return it->second;
  }
  Result<bool> table_exists(const std::string& table, const std::optional<std::string>&) override {
    return std::find(tables.begin(), tables.end(), table) != tables.end();
  }
  Result<Ids> table_names() override { return tables; }
  std::string describe() const override { return "fake"; }
};

}  // namespace

TEST(db_rollback, AnalysesEveryStepAndCollectsWhatIsDropped) {
  auto a = analyzed({MERGE}, DowngradeTarget::to(B));
  ASSERT_EQ(a.steps.size(), 3u);
  EXPECT_EQ(a.steps[0].step.revision, MERGE);
  EXPECT_EQ(a.steps[0].risk.severity, Severity::None);  // pass
  EXPECT_EQ(a.severity, Severity::High);
  EXPECT_TRUE(a.destroys_data);
  EXPECT_TRUE(a.blocking.empty());
  ASSERT_EQ(a.dropped_tables.size(), 1u);
  EXPECT_EQ(a.dropped_tables[0].table, "audit_log");
  ASSERT_EQ(a.dropped_columns.size(), 1u);
  EXPECT_EQ(a.dropped_columns[0].table, "users");
  EXPECT_EQ(a.dropped_columns[0].column, "phone");
  EXPECT_FALSE(a.unknown_targets);
  EXPECT_TRUE(a.warnings.empty());  // PostgreSQL: DDL is transactional
  auto j = a.to_json();
  EXPECT_EQ(j["alembic_argument"], B);
  EXPECT_EQ(j["dropped_tables"], nlohmann::json::array({"audit_log"}));
  EXPECT_EQ(j["dropped_columns"], nlohmann::json::array({"users.phone"}));
}

TEST(db_rollback, IrreversibleStepsBlockAndSqliteIsWarnedAbout) {
  auto a = analyzed({HEAD}, DowngradeTarget::relative(3), "sqlite");
  ASSERT_EQ(a.blocking.size(), 1u);
  EXPECT_NE(a.blocking[0].find(BACKFILL), std::string::npos);
  EXPECT_NE(a.blocking[0].find("NotImplementedError"), std::string::npos);
  EXPECT_EQ(a.severity, Severity::Blocking);
  ASSERT_FALSE(a.warnings.empty());
  EXPECT_NE(a.warnings[0].find("commits DDL as it goes"), std::string::npos);
  EXPECT_TRUE(ddl_is_transactional("postgresql"));
  EXPECT_FALSE(ddl_is_transactional("mysql"));
}

TEST(db_rollback, CountsTheDataAtStakeCheckingTablesFirst) {
  auto a = analyzed({MERGE}, DowngradeTarget::to(B));
  FakeDatabase db;
  db.tables = {"alembic_version", "users"};  // audit_log is not there (yet)
  db.counts["SELECT count(*) FROM \"users\" WHERE \"phone\" IS NOT NULL"] = 2;
  count_data(db, a);
  ASSERT_EQ(a.counts.size(), 2u);
  EXPECT_EQ(a.counts[0].check.table, "audit_log");
  EXPECT_FALSE(a.counts[0].count);
  EXPECT_NE(a.counts[0].note.find("does not exist"), std::string::npos);
  EXPECT_EQ(a.counts[1].count, 2);
  EXPECT_EQ(db.queries.size(), 1u);  // no count on a missing table
}

TEST(db_rollback, BackupCoversTheAffectedTablesOrEverything) {
  auto a = analyzed({MERGE}, DowngradeTarget::to(B));
  auto o = backup_options(a, false, "/backups", "dev-1", "/repo/alembic");
  EXPECT_FALSE(o.whole_database);
  ASSERT_EQ(o.dropped_tables.size(), 1u);
  ASSERT_EQ(o.dropped_columns.size(), 1u);
  auto dumped = tables_to_dump(o);
  ASSERT_EQ(dumped.size(), 2u);
  EXPECT_EQ(dumped[0].table, "audit_log");
  EXPECT_EQ(dumped[1].table, "users");
  auto whole = backup_options(a, true, "/backups", "dev-1", "/repo/alembic");
  EXPECT_TRUE(whole.whole_database);
  EXPECT_TRUE(whole.dropped_tables.empty());

  FakeDatabase db;
  db.tables = {"users"};
  keep_existing_tables(db, o);
  EXPECT_TRUE(o.dropped_tables.empty());
  EXPECT_EQ(o.dropped_columns.size(), 1u);
}

TEST(db_rollback, UnreadableDestructiveSqlMeansAWholeBackup) {
  auto parsed = parse_migration_script(
      "revision = 'x1'\ndown_revision = None\n\ndef upgrade():\n    pass\n\ndef downgrade():\n"
      "    name = compute()\n    op.execute(f\"DROP TABLE {name}\")\n",
      "x1.py");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto g = RevisionGraph::build({*parsed});
  ASSERT_TRUE(g.ok());
  auto plan = plan_downgrade(*g, {"x1"}, DowngradeTarget::base());
  ASSERT_TRUE(plan.ok());
  auto a = analyze_plan(*g, std::move(*plan), "postgresql");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->destroys_data);
  EXPECT_TRUE(a->unknown_targets);
  EXPECT_TRUE(backup_options(*a, false, "/b", "n", "/").whole_database);
}

TEST(db_rollback, VerifiesRowsAndTables) {
  auto a = analyzed({MERGE}, DowngradeTarget::to(B));
  MigrationsSetup setup;
  setup.version_table = "alembic_version";
  Ids before = {"alembic_version", "audit_log", "users"};

  FakeDatabase good;
  good.rows = {B};
  good.tables = {"alembic_version", "users"};
  auto v = verify_downgrade(good, setup, a, before);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok);
  EXPECT_TRUE(v->problems.empty());
  EXPECT_TRUE(v->warnings.empty());

  FakeDatabase wrong_rows;
  wrong_rows.rows = {MERGE};
  wrong_rows.tables = {"alembic_version", "audit_log", "users"};
  v = verify_downgrade(wrong_rows, setup, a, before);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  ASSERT_EQ(v->problems.size(), 2u);
  EXPECT_NE(v->problems[0].find("expected 2b8e5d9c4a10"), std::string::npos);
  EXPECT_NE(v->problems[1].find("audit_log should be gone"), std::string::npos);

  FakeDatabase lost;
  lost.rows = {B};
  lost.tables = {"alembic_version"};  // users vanished: not planned
  v = verify_downgrade(lost, setup, a, before);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok);
  ASSERT_EQ(v->warnings.size(), 1u);
  EXPECT_NE(v->warnings[0].find("users"), std::string::npos);
}

TEST(db_rollback, SaysWhatAFailedRunLeft) {
  auto pg = DatabaseUrl::parse("postgresql://u@h/db");
  auto lite = DatabaseUrl::parse("sqlite:///x.db");
  ASSERT_TRUE(pg.ok() && lite.ok());
  EXPECT_NE(after_failure_state(*pg, {HEAD}, Ids{HEAD}).find("nothing changed"), std::string::npos);
  EXPECT_NE(after_failure_state(*lite, {HEAD}, Ids{HEAD}).find("half"), std::string::npos);
  EXPECT_NE(after_failure_state(*lite, {HEAD}, Ids{SETTINGS}).find("part of the plan ran"), std::string::npos);
  EXPECT_NE(after_failure_state(*pg, {HEAD}, std::nullopt).find("could not be read"), std::string::npos);
}

TEST(db_rollback, ResolvesTheSetupFromConfigAndEnvironment) {
  MigrationsConfig c;
  c.path = "svc";
  c.versions = "svc/migrations/versions";
  c.url_env = "ROLLBACK_TEST_DB_URL_UNSET_1";
  auto s = resolve_setup("/repo", c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->alembic_dir, "/repo/svc");
  EXPECT_EQ(s->versions_dir, "/repo/svc/migrations/versions");
  EXPECT_FALSE(s->url);
  c.url = "postgresql://app:Config-Secret-99@db/app";
  s = resolve_setup("/repo", c);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->url);
  EXPECT_EQ(s->url_source, "rollback.yaml (migrations.url)");
  setenv("ROLLBACK_TEST_DB_URL_UNSET_1", "sqlite:///env.db", 1);
  s = resolve_setup("/repo", c);
  unsetenv("ROLLBACK_TEST_DB_URL_UNSET_1");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->url->is_sqlite());  // the variable wins over the file
  EXPECT_EQ(downgrade_argv({"python3", "-m", "alembic"}, B), (Ids{"python3", "-m", "alembic", "downgrade", B}));
}
