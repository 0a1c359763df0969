#include <gtest/gtest.h>

#include "db/fix_forward.hpp"
#include "../support/migrations_fixture.hpp"

using namespace rb;
using namespace rb::db;

namespace {

const MigrationScript& fixture(const char* id) {
  const auto* s = rb::testing::migrations_fixture_graph().find(id);
  EXPECT_NE(s, nullptr) << id;
  return *s;
}

MigrationScript script_with_upgrade(const std::string& body) {
  std::string src = "revision = \"aaaa00000001\"\ndown_revision = None\n\n\ndef upgrade():\n" + body +
                    "\n\ndef downgrade():\n    pass\n";
  auto s = parse_migration_script(src, "aaaa00000001_x.py");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : MigrationScript{};
}

std::vector<std::string> code_of(const ReversedUpgrade& r) {
  std::vector<std::string> out;
  for (const auto& o : r.ops)
    for (const auto& l : o.code) out.push_back(l);
  return out;
}

}  // namespace

TEST(db_fix_forward, ReversesCreateTableAndItsIndexNewestFirst) {
  auto r = reverse_upgrade(fixture("3c4d1e2f9a0b"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(code_of(*r), (std::vector<std::string>{"op.drop_index(\"ix_audit_log_user_id\", table_name=\"audit_log\")",
                                                    "op.drop_table(\"audit_log\")"}));
  EXPECT_TRUE(r->todos.empty());
  EXPECT_TRUE(r->ops[1].destroys_data);
  EXPECT_FALSE(r->ops[0].destroys_data);
}

TEST(db_fix_forward, ReversesABatchAddColumnInBatchMode) {
  auto r = reverse_upgrade(fixture("5e6f7a8b9c0d"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(code_of(*r), (std::vector<std::string>{"with op.batch_alter_table(\"users\") as batch_op:",
                                                    "    batch_op.drop_column(\"phone\")"}));
  EXPECT_EQ(r->ops[0].table, "users");
  EXPECT_EQ(r->ops[0].column, "phone");
}

TEST(db_fix_forward, RawSqlIsATodoNotAGuess) {
  auto r = reverse_upgrade(fixture("backfill_nicknames_v2"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->ops.empty());
  ASSERT_EQ(r->todos.size(), 1u);
  EXPECT_NE(r->todos[0].original.find("UPDATE users"), std::string::npos);
  EXPECT_NE(r->todos[0].why.find("raw SQL"), std::string::npos);
  EXPECT_GT(r->todos[0].line, 20);  // a line of the file, not of the body
}

TEST(db_fix_forward, RenamesGoBackAndConstraintsAreDropped) {
  auto s = script_with_upgrade(
      "    op.rename_table('old_t', 'new_t', schema='app')\n"
      "    op.alter_column('users', 'name', new_column_name='full_name')\n"
      "    op.alter_column('users', 'age', nullable=False)\n"
      "    op.create_unique_constraint('uq_email', 'users', ['email'])\n"
      "    op.create_foreign_key('fk_a', 'orders', 'users', ['user_id'], ['id'])\n"
      "    op.create_check_constraint(None, 'users', 'age > 0')\n"
      "    op.drop_column('users', 'legacy')\n"
      "    op.add_column('users', sa.Column(name_var, sa.Text()))\n"
      "    conn = op.get_bind()\n");
  auto r = reverse_upgrade(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(code_of(*r),
            (std::vector<std::string>{"op.drop_constraint(\"fk_a\", \"orders\", type_=\"foreignkey\")",
                                      "op.drop_constraint(\"uq_email\", \"users\", type_=\"unique\")",
                                      "op.alter_column(\"users\", \"full_name\", new_column_name=\"name\")",
                                      "op.rename_table(\"new_t\", \"old_t\", schema=\"app\")"}));
  // nullable change, unnamed constraint, drop_column, non-literal column name, get_bind.
  ASSERT_EQ(r->todos.size(), 5u);
  EXPECT_NE(r->todos[0].why.find("nullability"), std::string::npos);
  EXPECT_NE(r->todos[1].why.find("constraint name"), std::string::npos);
  EXPECT_NE(r->todos[2].why.find("downgrade()"), std::string::npos);
  EXPECT_NE(r->todos[3].why.find("column's name"), std::string::npos);
  EXPECT_NE(r->todos[4].original.find("get_bind"), std::string::npos);
}

TEST(db_fix_forward, TheFileNamesItsParentsAndQuotesEverything) {
  auto ff = make_fix_forward({&fixture("8b0c1d2e3f4a"), &fixture("7a9b0c1d2e3f")}, {"8b0c1d2e3f4a"}, "0123456789ab",
                             "2026-11-30T07:00:00Z");
  ASSERT_TRUE(ff.ok()) << ff.error().message;
  EXPECT_EQ(ff->filename, "0123456789ab_fix_forward_8b0c1d2e3f4a.py");
  const auto& src = ff->source;
  EXPECT_NE(src.find("revision = \"0123456789ab\"\n"), std::string::npos);
  EXPECT_NE(src.find("down_revision = \"8b0c1d2e3f4a\"\n"), std::string::npos);
  auto index = src.find("op.drop_index(\"ix_users_name\", table_name=\"users\")");
  auto table = src.find("op.drop_table(\"settings\")");
  ASSERT_NE(index, std::string::npos) << src;
  ASSERT_NE(table, std::string::npos) << src;
  EXPECT_LT(index, table);  // the newest migration is reversed first
  EXPECT_NE(src.find("DESTROYS DATA"), std::string::npos);
  EXPECT_TRUE(ff->destroys_data());

  auto merge = make_fix_forward({}, {"b", "a"}, "0123456789ab", "now");
  ASSERT_TRUE(merge.ok());
  EXPECT_NE(merge->source.find("down_revision = (\"b\", \"a\")"), std::string::npos);
  EXPECT_NE(merge->source.find("    pass\n"), std::string::npos);

  EXPECT_EQ(python_string("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\x01\"");
  EXPECT_EQ(new_revision_id().size(), 12u);
}
