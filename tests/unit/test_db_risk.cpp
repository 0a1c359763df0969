#include <gtest/gtest.h>

#include "db/graph.hpp"
#include "db/risk.hpp"
#include "../support/migrations_fixture.hpp"

using namespace rb;
using namespace rb::db;

namespace {

RiskReport analyze(const std::string& body, int first_line = 10) {
  auto r = analyze_function_body(body, first_line, "t.py");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : RiskReport{};
}

// The body of `def downgrade():` as the script reader extracts it (text after the colon).
std::string body(const std::string& lines) { return "\n" + lines; }

}  // namespace

TEST(db_risk, DropTable) {
  auto r = analyze(body("    op.drop_table('audit_log')\n"));
  ASSERT_EQ(r.findings.size(), 1u);
  const auto& f = r.findings[0];
  EXPECT_EQ(f.kind, FindingKind::DropTable);
  EXPECT_EQ(f.table, "audit_log");
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_EQ(f.line, 11);
  EXPECT_EQ(f.detail, "op.drop_table('audit_log')");
  EXPECT_EQ(r.severity, Severity::High);
  EXPECT_TRUE(r.destroys_data());
  EXPECT_FALSE(r.irreversible());
}

TEST(db_risk, DropTableWithKeywordsAndSchema) {
  auto r = analyze(body("    op.drop_table(table_name=\"events\", schema=\"audit\")\n    op.drop_table('t2', 'other')\n"));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].table, "events");
  EXPECT_EQ(r.findings[0].schema, "audit");
  EXPECT_EQ(r.findings[1].schema, "other");
}

TEST(db_risk, DropColumnPositionalAndKeyword) {
  auto r = analyze(body("    op.drop_column('users', 'nickname')\n"
                        "    op.drop_column(table_name='users', column_name='phone', schema='app')\n"
                        "    op.drop_column(\n        'users',\n        column_name='email',\n    )\n"));
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::DropColumn);
  EXPECT_EQ(r.findings[0].table, "users");
  EXPECT_EQ(r.findings[0].column, "nickname");
  EXPECT_EQ(r.findings[1].column, "phone");
  EXPECT_EQ(r.findings[1].schema, "app");
  EXPECT_EQ(r.findings[2].column, "email");
  EXPECT_EQ(r.findings[2].line, 13);
}

TEST(db_risk, BatchAlterTableDropColumn) {
  auto r = analyze(body("    with op.batch_alter_table('users', schema=None) as batch_op:\n"
                        "        batch_op.drop_column('phone')\n"
                        "        batch_op.drop_index('ix_users_phone')\n"
                        "        batch_op.drop_constraint('uq_users_phone', type_='unique')\n"));
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::DropColumn);
  EXPECT_EQ(r.findings[0].table, "users");
  EXPECT_EQ(r.findings[0].column, "phone");
  EXPECT_EQ(r.findings[0].action, "batch_op.drop_column");
  EXPECT_EQ(r.findings[1].kind, FindingKind::DropIndex);
  EXPECT_EQ(r.findings[1].table, "users");
  EXPECT_EQ(r.findings[2].kind, FindingKind::DropConstraint);
  EXPECT_EQ(r.severity, Severity::High);
}

TEST(db_risk, BatchAliasByAssignmentAndOneLineWith) {
  auto r = analyze(body("    b = op.batch_alter_table(\"orders\")\n    b.drop_column(\"total\")\n"
                        "    with op.batch_alter_table('t') as x: x.drop_column('c')\n"));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].table, "orders");
  EXPECT_EQ(r.findings[0].column, "total");
  EXPECT_EQ(r.findings[1].table, "t");
  EXPECT_EQ(r.findings[1].column, "c");
}

TEST(db_risk, DropIndexAndConstraintAreLowSeverity) {
  auto r = analyze(body("    op.drop_index(op.f('ix_audit_log_user_id'), table_name='audit_log')\n"
                        "    op.drop_constraint('fk_orders_user', 'orders', type_='foreignkey')\n"));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::DropIndex);
  EXPECT_EQ(r.findings[0].table, "audit_log");
  EXPECT_EQ(r.findings[1].kind, FindingKind::DropConstraint);
  EXPECT_EQ(r.findings[1].table, "orders");
  EXPECT_EQ(r.severity, Severity::Low);
  EXPECT_FALSE(r.destroys_data());
}

TEST(db_risk, RawSqlThroughExecuteAndText) {
  auto r = analyze(body("    op.execute(\"DROP TABLE IF EXISTS settings CASCADE\")\n"
                        "    op.execute(sa.text('ALTER TABLE public.Users DROP COLUMN IF EXISTS \"Phone\", ADD COLUMN x int'))\n"
                        "    conn = op.get_bind()\n"
                        "    conn.execute(text(\"truncate table a, b\"))\n"
                        "    op.execute(\"\"\"\n        DELETE FROM events WHERE created < now() - interval '1 day'\n    \"\"\")\n"
                        "    op.execute('delete from only logs')\n"));
  std::vector<std::string> seen;
  for (const auto& f : r.findings) {
    EXPECT_EQ(f.kind, FindingKind::RawSqlDestructive) << f.detail;
    seen.push_back(f.action + " " + (f.schema.empty() ? "" : f.schema + ".") + f.table + (f.column.empty() ? "" : "." + f.column));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"DROP TABLE settings", "ALTER TABLE ... DROP COLUMN public.users.Phone",
                                            "TRUNCATE a", "TRUNCATE b", "DELETE ... WHERE events", "DELETE logs"}));
  EXPECT_EQ(r.findings[0].line, 11);
  EXPECT_EQ(r.severity, Severity::High);
}

TEST(db_risk, RawSqlIgnoresStringsAndCommentsAndReadsConstraintsAndIndexes) {
  auto found = analyze_sql("-- DROP TABLE x\nSELECT 'DROP TABLE y'; /* TRUNCATE z */ ALTER TABLE t DROP CONSTRAINT c1; "
                           "DROP INDEX CONCURRENTLY ix_t",
                           3);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, FindingKind::DropConstraint);
  EXPECT_EQ(found[0].table, "t");
  EXPECT_EQ(found[1].kind, FindingKind::DropIndex);
  EXPECT_EQ(found[0].line, 3);
  auto update = analyze_sql("UPDATE users SET nickname = NULL", 1);
  ASSERT_EQ(update.size(), 1u);
  EXPECT_EQ(update[0].severity, Severity::Medium);
  EXPECT_EQ(update[0].action, "UPDATE");
}

TEST(db_risk, OpaqueSqlIsMediumAndNamedSqlIsRead) {
  auto r = analyze(body("    op.execute(build_statement())\n"));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::RawSqlOpaque);
  EXPECT_EQ(r.severity, Severity::Medium);
  auto named = analyze(body("    stmt = sa.text(\"DELETE FROM sessions\")\n    op.get_bind().execute(stmt)\n"));
  ASSERT_EQ(named.findings.size(), 1u);
  EXPECT_EQ(named.findings[0].table, "sessions");
  auto harmless = analyze(body("    op.execute(\"SELECT 1\")\n"));
  EXPECT_TRUE(harmless.findings.empty());
  EXPECT_EQ(harmless.severity, Severity::None);
}

TEST(db_risk, FStringSqlStillCountsAsDestructive) {
  auto r = analyze(body("    op.execute(f\"DROP TABLE {name}\")\n"));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::RawSqlDestructive);
  EXPECT_EQ(r.findings[0].table, "");
  EXPECT_TRUE(data_checks(r.findings).empty());
}

TEST(db_risk, TopLevelRaiseIsIrreversible) {
  auto r = analyze(body("    raise NotImplementedError(\n        \"cannot be undone\"\n    )\n"));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::Irreversible);
  EXPECT_EQ(r.findings[0].severity, Severity::Blocking);
  EXPECT_NE(r.findings[0].detail.find("NotImplementedError"), std::string::npos);
  EXPECT_TRUE(r.irreversible());
  auto other = analyze(body("    op.drop_table('x')\n    raise RuntimeError('no')\n"));
  EXPECT_EQ(other.severity, Severity::Blocking);
}

TEST(db_risk, RaiseUnderAConditionIsMedium) {
  auto r = analyze(body("    if context.is_offline_mode():\n        raise NotImplementedError('online only')\n"
                        "    op.drop_index('ix')\n"));
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::Irreversible);
  EXPECT_EQ(r.findings[0].severity, Severity::Medium);
  EXPECT_FALSE(r.irreversible());
}

TEST(db_risk, NoopBodies) {
  for (const char* b : {"\n    pass\n", " pass", "\n    \"\"\"Nothing to undo.\"\"\"\n    # really nothing\n    pass\n",
                        "\n    ...\n", "\n    # only a comment\n    '''and a docstring'''\n", "\n    return None\n"}) {
    auto r = analyze(b);
    ASSERT_EQ(r.findings.size(), 1u) << b;
    EXPECT_EQ(r.findings[0].kind, FindingKind::Noop) << b;
    EXPECT_EQ(r.severity, Severity::None);
  }
}

TEST(db_risk, MissingDowngradeIsIrreversible) {
  MigrationScript s;
  s.revision = "r";
  auto r = analyze_downgrade(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->irreversible());
}

TEST(db_risk, CreatesAndAddsAreNotFindings) {
  auto r = analyze(body("    op.create_table('t', sa.Column('id', sa.Integer()))\n    op.add_column('u', sa.Column('c', sa.Text()))\n"));
  EXPECT_TRUE(r.findings.empty());
}

TEST(db_risk, DataChecksQuoteAndDeduplicate) {
  auto r = analyze(body("    op.drop_column('users', 'phone')\n    op.drop_table('audit_log')\n"
                        "    op.drop_table('Weird \"Name\"', schema='Sales')\n    op.execute('DROP TABLE audit_log')\n"
                        "    op.execute('DELETE FROM events WHERE id > 10')\n    op.drop_index('ix')\n"));
  auto checks = data_checks(r.findings);
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[0].sql, "SELECT count(*) FROM \"users\" WHERE \"phone\" IS NOT NULL");
  EXPECT_EQ(checks[0].description, "non-NULL values of users.phone");
  EXPECT_EQ(checks[1].sql, "SELECT count(*) FROM \"audit_log\"");
  EXPECT_EQ(checks[2].sql, "SELECT count(*) FROM \"Sales\".\"Weird \"\"Name\"\"\"");
  EXPECT_EQ(checks[3].sql, "SELECT count(*) FROM \"events\"");
  EXPECT_TRUE(checks[3].upper_bound);
  EXPECT_EQ(quote_table("public", "t"), "\"public\".\"t\"");
}

TEST(db_risk, FixtureDowngrades) {
  auto scripts = read_migration_scripts({rb::testing::migrations_fixture_versions()});
  ASSERT_TRUE(scripts.ok()) << scripts.error().message;
  std::map<std::string, std::string> summary;
  for (const auto& s : *scripts) {
    auto r = analyze_downgrade(s);
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::string kinds;
    for (const auto& f : r->findings) kinds += std::string(to_string(f.kind)) + ":" + f.table + (f.column.empty() ? "" : "." + f.column) + " ";
    summary[s.revision] = std::string(to_string(r->severity)) + " " + kinds;
  }
  EXPECT_EQ(summary["a1f0c3e2b7d4"], "high drop_table:users ");
  EXPECT_EQ(summary["2b8e5d9c4a10"], "high drop_column:users.nickname ");
  EXPECT_EQ(summary["3c4d1e2f9a0b"], "high drop_index:audit_log drop_table:audit_log ");
  EXPECT_EQ(summary["5e6f7a8b9c0d"], "high drop_column:users.phone ");
  EXPECT_EQ(summary["merge_heads_20260130"], "none noop: ");
  EXPECT_EQ(summary["backfill_nicknames_v2"], "blocking irreversible: ");
  EXPECT_EQ(summary["7a9b0c1d2e3f"], "high raw_sql_destructive:settings ");
  EXPECT_EQ(summary["8b0c1d2e3f4a"], "low drop_index:users ");
}

TEST(db_risk, CallsIntoOtherFunctionsOfTheScriptAreIndirect) {
  auto s = parse_migration_script(R"(revision = 'r'
down_revision = 'q'

def _drop_reporting():
    op.drop_table('reports')

def downgrade(engine_name: str = "") -> None:
    _drop_reporting()
    print("done")

def downgrade_engine1():
    pass
)",
                                  "v/r.py");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->functions, (std::vector<std::string>{"_drop_reporting", "downgrade", "downgrade_engine1"}));
  auto r = analyze_downgrade(*s);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->findings.size(), 1u);
  EXPECT_EQ(r->findings[0].kind, FindingKind::Indirect);
  EXPECT_EQ(r->findings[0].action, "_drop_reporting()");
  EXPECT_EQ(r->findings[0].line, 8);
  EXPECT_EQ(r->severity, Severity::Medium);
  // Alembic's multidb template dispatches through globals().
  auto multidb = analyze(body("    globals()[\"downgrade_%s\" % engine_name]()\n"));
  ASSERT_EQ(multidb.findings.size(), 1u);
  EXPECT_EQ(multidb.findings[0].kind, FindingKind::Indirect);
}
