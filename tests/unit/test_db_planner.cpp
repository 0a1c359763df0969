#include <gtest/gtest.h>

#include "db/planner.hpp"
#include "../support/migrations_fixture.hpp"

using namespace rb;
using namespace rb::db;

namespace {

using Ids = std::vector<std::string>;

// The fixture project's graph (tests/fixtures/migrations/README.md):
//   a1f0c3e2b7d4 (core) - 2b8e5d9c4a10 -+- 3c4d1e2f9a0b -+- merge_heads_20260130 - backfill_nicknames_v2
//                                       +- 5e6f7a8b9c0d -+     - 7a9b0c1d2e3f - 8b0c1d2e3f4a (depends_on 2b8e5d9c4a10)
const RevisionGraph& fixture() { return rb::testing::migrations_fixture_graph(); }

constexpr const char* A = "a1f0c3e2b7d4";
constexpr const char* B = "2b8e5d9c4a10";
constexpr const char* AUDIT = "3c4d1e2f9a0b";
constexpr const char* PHONE = "5e6f7a8b9c0d";
constexpr const char* MERGE = "merge_heads_20260130";
constexpr const char* BACKFILL = "backfill_nicknames_v2";
constexpr const char* SETTINGS = "7a9b0c1d2e3f";
constexpr const char* HEAD = "8b0c1d2e3f4a";

Ids ids(const DowngradePlan& p) {
  Ids out;
  for (const auto& s : p.steps) out.push_back(s.revision);
  return out;
}

DowngradePlan plan_ok(const Ids& rows, const DowngradeTarget& t) {
  auto p = plan_downgrade(fixture(), rows, t);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message + "\n" + p.error().hint);
  return p.ok() ? *p : DowngradePlan{};
}

Error plan_refused(const Ids& rows, const DowngradeTarget& t) {
  auto p = plan_downgrade(fixture(), rows, t);
  EXPECT_FALSE(p.ok()) << "planned " << (p.ok() ? p->alembic_argument : "");
  if (p.ok()) return Error{};
  return p.error();
}

}  // namespace

TEST(db_planner, ParsesTargets) {
  EXPECT_EQ(DowngradeTarget::parse("base")->kind, DowngradeTarget::Kind::Base);
  auto rel = DowngradeTarget::parse("-2");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->kind, DowngradeTarget::Kind::Steps);
  EXPECT_EQ(rel->steps, 2);
  auto branch = DowngradeTarget::parse("3c4d1e2f9a0b@-1");
  ASSERT_TRUE(branch.ok());
  EXPECT_EQ(branch->branch, "3c4d1e2f9a0b");
  EXPECT_EQ(DowngradeTarget::parse("ae10")->kind, DowngradeTarget::Kind::Revision);
  EXPECT_EQ(DowngradeTarget::parse("2026")->kind, DowngradeTarget::Kind::Revision);  // a numeric-looking prefix
  for (const char* bad : {"+1", "1", "-0", ""}) {
    auto r = DowngradeTarget::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ExitCode::Usage);
  }
}

TEST(db_planner, LinearRelativeSteps) {
  auto p = plan_ok({SETTINGS}, DowngradeTarget::relative(1));
  EXPECT_EQ(ids(p), Ids{SETTINGS});
  EXPECT_EQ(p.target, BACKFILL);
  EXPECT_EQ(p.alembic_argument, BACKFILL);
  EXPECT_EQ(p.expected_rows, Ids{BACKFILL});
  EXPECT_EQ(p.steps[0].to_revisions, Ids{BACKFILL});
  ASSERT_NE(p.steps[0].script, nullptr);
  EXPECT_EQ(p.steps[0].script->doc, "create settings");
  EXPECT_TRUE(p.notes.empty());

  auto two = plan_ok({SETTINGS}, DowngradeTarget::relative(2));
  EXPECT_EQ(ids(two), (Ids{SETTINGS, BACKFILL}));
  EXPECT_EQ(two.expected_rows, Ids{MERGE});
}

TEST(db_planner, LinearToRevisionPrefixAndBase) {
  auto p = plan_ok({B}, DowngradeTarget::to("a1f0"));
  EXPECT_EQ(ids(p), Ids{B});
  EXPECT_EQ(p.alembic_argument, A);
  auto base = plan_ok({B}, DowngradeTarget::base());
  EXPECT_EQ(ids(base), (Ids{B, A}));
  EXPECT_EQ(base.alembic_argument, "base");
  EXPECT_TRUE(base.expected_rows.empty());
  auto label = plan_ok({B}, DowngradeTarget::to("core"));  // the label's own revision
  EXPECT_EQ(ids(label), Ids{B});
}

TEST(db_planner, MergeDowngradeOrderAndUnmergedRows) {
  auto p = plan_ok({MERGE}, DowngradeTarget::to(B));
  EXPECT_EQ(ids(p), (Ids{MERGE, AUDIT, PHONE}));
  EXPECT_EQ(p.expected_rows, Ids{B});

  auto one = plan_ok({MERGE}, DowngradeTarget::to(AUDIT));
  EXPECT_EQ(ids(one), Ids{MERGE});
  EXPECT_EQ(one.steps[0].to_revisions, (Ids{AUDIT, PHONE}));
  EXPECT_EQ(one.expected_rows, (Ids{AUDIT, PHONE}));
}

TEST(db_planner, RefusesRelativeStepFromAMergePoint) {
  auto e = plan_refused({MERGE}, DowngradeTarget::relative(1));
  EXPECT_EQ(e.code, ExitCode::Refused);
  EXPECT_EQ(e.tag, "ambiguous-walk");
  EXPECT_NE(e.message.find("Ambiguous walk"), std::string::npos);
  // The hint spells out the choices with what each one does.
  EXPECT_NE(e.hint.find(std::string("--to ") + AUDIT + " (same as " + PHONE + "): undoes " + MERGE), std::string::npos)
      << e.hint;
  EXPECT_NE(e.hint.find(std::string("--to ") + B + ": undoes " + MERGE), std::string::npos) << e.hint;
  EXPECT_NE(e.hint.find("--to base"), std::string::npos) << e.hint;
}

TEST(db_planner, RefusesAWalkThroughAMergePoint) {
  EXPECT_EQ(plan_ok({HEAD}, DowngradeTarget::relative(3)).target, MERGE);
  auto e = plan_refused({HEAD}, DowngradeTarget::relative(4));
  EXPECT_EQ(e.tag, "ambiguous-walk");
  EXPECT_NE(e.message.find("after 3 steps"), std::string::npos) << e.message;
  EXPECT_NE(e.hint.find("--steps 3"), std::string::npos) << e.hint;
  EXPECT_NE(e.hint.find(std::string("--to ") + AUDIT), std::string::npos) << e.hint;
}

TEST(db_planner, MultipleHeadsRefuseRelativeStepsButTakeExplicitTargets) {
  auto e = plan_refused({AUDIT, PHONE}, DowngradeTarget::relative(1));
  EXPECT_EQ(e.tag, "multiple-heads");
  EXPECT_NE(e.hint.find(std::string("--to ") + AUDIT + "@" + B + ": undoes " + AUDIT + "; leaves " + PHONE),
            std::string::npos)
      << e.hint;
  EXPECT_NE(e.hint.find(std::string("--to ") + PHONE + "@" + B + ": undoes " + PHONE + "; leaves " + AUDIT),
            std::string::npos)
      << e.hint;

  // One branch, by branch@-1 or by the hint's target.
  auto branch = plan_ok({AUDIT, PHONE}, DowngradeTarget::relative(1, AUDIT));
  EXPECT_EQ(ids(branch), Ids{AUDIT});
  EXPECT_EQ(branch.alembic_argument, std::string(AUDIT) + "@" + B);
  EXPECT_EQ(branch.expected_rows, Ids{PHONE});
  auto same = plan_ok({AUDIT, PHONE}, DowngradeTarget::to(std::string(AUDIT) + "@" + B));
  EXPECT_EQ(ids(same), Ids{AUDIT});

  // An explicit target below both heads takes both, and says so.
  auto both = plan_ok({AUDIT, PHONE}, DowngradeTarget::to(B));
  EXPECT_EQ(ids(both), (Ids{AUDIT, PHONE}));
  EXPECT_EQ(both.expected_rows, Ids{B});
  ASSERT_EQ(both.notes.size(), 1u);
  EXPECT_NE(both.notes[0].find("every one"), std::string::npos);
}

TEST(db_planner, RefusesADatabaseRevisionTheScriptsDoNotKnow) {
  auto e = plan_refused({"deadbeef0000"}, DowngradeTarget::relative(1));
  EXPECT_EQ(e.tag, "unknown-db-revision");
  EXPECT_NE(e.message.find("deadbeef0000"), std::string::npos);
  EXPECT_NE(e.hint.find("git log --all -S \"deadbeef0000\""), std::string::npos) << e.hint;
}

TEST(db_planner, RefusesTargetsThatAreNotBelow) {
  auto other_branch = plan_refused({AUDIT}, DowngradeTarget::to(PHONE));
  EXPECT_EQ(other_branch.tag, "not-ancestor");
  EXPECT_NE(other_branch.message.find("another branch"), std::string::npos) << other_branch.message;
  EXPECT_NE(other_branch.hint.find(B), std::string::npos) << other_branch.hint;

  auto above = plan_refused({B}, DowngradeTarget::to(HEAD));
  EXPECT_EQ(above.tag, "not-ancestor");
  EXPECT_NE(above.message.find("upgrade"), std::string::npos) << above.message;
}

TEST(db_planner, RefusesNothingToDoEmptyAndDamagedTables) {
  EXPECT_EQ(plan_refused({SETTINGS}, DowngradeTarget::to(SETTINGS)).tag, "nothing-to-do");
  EXPECT_EQ(plan_refused({}, DowngradeTarget::relative(1)).tag, "at-base");
  EXPECT_EQ(plan_refused({B, B}, DowngradeTarget::relative(1)).tag, "duplicate-version-rows");
  auto too_far = plan_refused({B}, DowngradeTarget::relative(3));
  EXPECT_EQ(too_far.tag, "walked-too-far");
  EXPECT_NE(too_far.hint.find("--to base"), std::string::npos);
}

TEST(db_planner, UnknownTargetIsAUsageError) {
  auto p = plan_downgrade(fixture(), {HEAD}, DowngradeTarget::to("zzzz9"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ExitCode::Usage);
}

TEST(db_planner, DependsOnLeavesASecondVersionRow) {
  // Alembic 1.8.1: downgrading 8b0c (depends_on 2b8e, an ancestor) writes a row for 2b8e too.
  auto p = plan_ok({HEAD}, DowngradeTarget::relative(1));
  EXPECT_EQ(ids(p), Ids{HEAD});
  EXPECT_EQ(p.steps[0].to_revisions, Ids{SETTINGS});  // what Alembic logs
  EXPECT_EQ(p.expected_rows, (Ids{B, SETTINGS}));
  EXPECT_EQ(expected_version_rows(fixture(), {HEAD}, {HEAD}), (Ids{B, SETTINGS}));

  // From those rows, -1 means the settings migration, and Alembic gets an absolute target
  // (`alembic downgrade -1` would start from 2b8e if it read that row first).
  auto next = plan_ok({B, SETTINGS}, DowngradeTarget::relative(1));
  EXPECT_EQ(next.current_heads, Ids{SETTINGS});
  EXPECT_EQ(ids(next), Ids{SETTINGS});
  EXPECT_EQ(next.alembic_argument, BACKFILL);
  EXPECT_EQ(next.expected_rows, (Ids{B, BACKFILL}));
  ASSERT_FALSE(next.notes.empty());
  EXPECT_NE(next.notes[0].find("depends_on"), std::string::npos);

  // Going further down removes the stale row once its branch is passed.
  EXPECT_EQ(expected_version_rows(fixture(), {B, SETTINGS}, {SETTINGS, BACKFILL, MERGE, AUDIT, PHONE}), Ids{B});
  EXPECT_EQ(expected_version_rows(fixture(), {B, SETTINGS}, {SETTINGS, BACKFILL, MERGE, AUDIT, PHONE, B, A}), Ids{});
}

TEST(db_planner, BaseFromTheHeadTakesEverythingInAlembicOrder) {
  auto p = plan_ok({HEAD}, DowngradeTarget::base());
  EXPECT_EQ(ids(p), (Ids{HEAD, SETTINGS, BACKFILL, MERGE, AUDIT, PHONE, B, A}));
  EXPECT_TRUE(p.expected_rows.empty());
}

TEST(db_planner, ChoicesForSeveralHeads) {
  auto choices = downgrade_choices(fixture(), {AUDIT, PHONE});
  ASSERT_GE(choices.size(), 3u);
  EXPECT_EQ(choices[0].targets[0], std::string(AUDIT) + "@" + B);
  EXPECT_EQ(choices[0].undoes, Ids{AUDIT});
  EXPECT_EQ(choices[0].leaves, Ids{PHONE});
  EXPECT_EQ(choices.back().targets[0], "base");
}
