// The plan of `rollback release` and the decisions of `rollback resume`: step order, the
// downgrade target from the change's own migrations, the database's state on resume.
#include <gtest/gtest.h>

#include "core/context.hpp"
#include "core/journal.hpp"
#include "core/release_plan.hpp"
#include "util/fs.hpp"

using namespace rb;

namespace {

std::vector<std::string> kinds(const std::vector<ReleaseStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(to_string(s.kind));
  return out;
}

ReleaseInput input() {
  ReleaseInput in;
  in.env = "staging";
  in.branch = "origin/staging";
  in.change = "pull request #101";
  return in;
}

}  // namespace

TEST(ReleasePlan, DowngradeTargetIsBelowTheChangesOwnMigrations) {
  // Two migrations in the change, one on top of the other: the target is below the lower one,
  // not a blind -1 (which would stop at 0002).
  auto t = downgrade_target({{"0003", {"0002"}}, {"0002", {"0001"}}});
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, "0001");
  EXPECT_EQ(change_heads({{"0003", {"0002"}}, {"0002", {"0001"}}}), std::vector<std::string>{"0003"});
}

TEST(ReleasePlan, DowngradeTargetFromTheBaseIsBase) {
  auto t = downgrade_target({{"0001", {}}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "base");
}

TEST(ReleasePlan, DowngradeTargetRefusesSeveralParents) {
  // Two migrations hanging from two different revisions: no single target.
  auto t = downgrade_target({{"aaa1", {"0001"}}, {"bbb1", {"0002"}}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ExitCode::Refused);
  EXPECT_EQ(t.error().tag, "several-targets");
  EXPECT_NE(t.error().message.find("0001, 0002"), std::string::npos);
  EXPECT_FALSE(downgrade_target({}).ok());
}

TEST(ReleasePlan, MergeOfTheChangesOwnBranchesHasOneTarget) {
  // The change adds two branches from 0001 and merges them: everything hangs from 0001.
  auto t = downgrade_target({{"m1", {"a1", "b1"}}, {"a1", {"0001"}}, {"b1", {"0001"}}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "0001");
  EXPECT_EQ(change_heads({{"m1", {"a1", "b1"}}, {"a1", {"0001"}}, {"b1", {"0001"}}}), std::vector<std::string>{"m1"});
}

TEST(ReleasePlan, MigrationAndCodeDowngradeFirstThenRevertThenRedeploy) {
  auto in = input();
  in.migrations = {"alembic/versions/0002_orders.py"};
  in.application = {"app/orders.py"};
  in.db_target = "0001";
  in.db_heads = {"0002"};
  auto steps = plan_release(in);
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  EXPECT_EQ(kinds(*steps), (std::vector<std::string>{"db-downgrade", "revert", "redeploy"}));
  // Every step says why it is there; what stays exposed names the known values.
  for (const auto& s : *steps) EXPECT_FALSE(s.why.empty());
  EXPECT_NE((*steps)[0].why.find("Do NOT just revert code"), std::string::npos);
  EXPECT_NE((*steps)[0].exposed.find("0001"), std::string::npos);
  EXPECT_NE((*steps)[0].exposed.find("0002"), std::string::npos);
  EXPECT_NE((*steps)[1].why.find("pull request #101"), std::string::npos);
  EXPECT_EQ((*steps)[0].exposed.find('<'), std::string::npos);  // no placeholder
}

TEST(ReleasePlan, CodeOnlyIsRevertAndRedeployWithOptionalEcsFirst) {
  auto in = input();
  in.application = {"app/main.py"};
  auto steps = plan_release(in);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(kinds(*steps), (std::vector<std::string>{"revert", "redeploy"}));
  in.ecs_first = true;
  steps = plan_release(in);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(kinds(*steps), (std::vector<std::string>{"ecs", "revert", "redeploy"}));
  in.follow_redeploy = false;
  steps = plan_release(in);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(kinds(*steps), (std::vector<std::string>{"ecs", "revert"}));
  EXPECT_NE(steps->back().exposed.find("--no-wait"), std::string::npos);
}

TEST(ReleasePlan, InfrastructureIsRevertedAsInfraAndEcsFirstNeedsCode) {
  auto in = input();
  in.infrastructure = {"infrastructure/terraform/main.tf"};
  auto steps = plan_release(in);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(kinds(*steps), (std::vector<std::string>{"infra-revert"}));
  // The step waits for CI's apply, and the plan says what that means; --no-wait says it does not.
  EXPECT_NE(steps->front().why.find("done once CI's apply has written a new state version"), std::string::npos)
      << steps->front().why;
  EXPECT_NE(steps->front().exposed.find("until CI's apply finishes"), std::string::npos) << steps->front().exposed;
  in.follow_redeploy = false;
  steps = plan_release(in);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->front().why.find("done once CI's apply"), std::string::npos);
  EXPECT_NE(steps->front().exposed.find("not followed (--no-wait)"), std::string::npos) << steps->front().exposed;
  in.follow_redeploy = true;
  in.ecs_first = true;
  auto refused = plan_release(in);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ExitCode::Usage);
  // Infrastructure with code and a migration: downgrade, then the one revert, then the redeploy.
  in.ecs_first = false;
  in.application = {"app/main.py"};
  in.migrations = {"alembic/versions/0002.py"};
  in.db_target = "0001";
  steps = plan_release(in);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(kinds(*steps), (std::vector<std::string>{"db-downgrade", "infra-revert", "redeploy"}));
}

TEST(ReleasePlan, EmptyChangeIsAUsageError) {
  auto steps = plan_release(input());
  ASSERT_FALSE(steps.ok());
  EXPECT_EQ(steps.error().code, ExitCode::Usage);
}

TEST(ReleasePlan, ResumeReadsTheDatabase) {
  EXPECT_EQ(classify_db({"0001"}, {"0002"}, "0001"), DbWorld::AtTarget);
  EXPECT_EQ(classify_db({}, {"0001"}, "base"), DbWorld::AtTarget);
  EXPECT_EQ(classify_db({"0002"}, {"0002"}, "0001"), DbWorld::AtStart);
  EXPECT_EQ(classify_db({"b", "a"}, {"a", "b"}, "0001"), DbWorld::AtStart);
  // Someone upgraded past the change, or downgraded further: neither.
  EXPECT_EQ(classify_db({"0003"}, {"0002"}, "0001"), DbWorld::Moved);
  EXPECT_EQ(classify_db({}, {"0002"}, "0001"), DbWorld::Moved);
}

TEST(ReleasePlan, StepsRoundTripAndFirstUnfinished) {
  auto in = input();
  in.migrations = {"alembic/versions/0002.py"};
  in.application = {"app/a.py"};
  in.db_target = "0001";
  auto steps = plan_release(in);
  ASSERT_TRUE(steps.ok());
  (*steps)[0].status = kStepDone;
  (*steps)[0].child = "20261130-101010-abcd";
  (*steps)[1].status = kStepFailed;
  auto back = steps_from_json(steps_to_json(*steps));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].child, "20261130-101010-abcd");
  EXPECT_EQ((*back)[1].status, kStepFailed);
  EXPECT_EQ(first_unfinished(*back), std::optional<size_t>(1));
  (*back)[1].status = kStepAlreadyDone;
  (*back)[2].status = kStepDone;
  EXPECT_EQ(first_unfinished(*back), std::nullopt);
  auto lines = describe_progress(*back);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("[done] db-downgrade (rollback 20261130-101010-abcd)"), std::string::npos);
  EXPECT_FALSE(steps_from_json(nlohmann::json::object()).ok());
  EXPECT_FALSE(steps_from_json(nlohmann::json::parse(R"([{"step": "explode"}])")).ok());
}

TEST(ReleasePlan, AStepOfAReleaseDoesNotCloseItsRunningParent) {
  // Each step of a release begins its own entry under the release's lock; the reconciliation
  // of dead "running" entries must leave the parent alone.
  auto tmp = TempDir::create("rollback-release");
  ASSERT_TRUE(tmp.ok());
  auto journal = open_sqlite_journal(tmp->path() / "journal.db");
  ASSERT_TRUE(journal.ok());
  JournalEntry parent;
  parent.app = "app";
  parent.env = "staging";
  parent.layer = "release";
  parent.host = current_host();
  auto parent_id = (*journal)->begin(parent);
  ASSERT_TRUE(parent_id.ok());
  JournalEntry child = parent;
  child.layer = "db";
  auto child_id = (*journal)->begin(child);
  ASSERT_TRUE(child_id.ok());
  auto closed = reconcile_unfinished(**journal, tmp->path() / "unrecorded", "app", "staging", *child_id, *parent_id);
  ASSERT_TRUE(closed.ok());
  EXPECT_TRUE(closed->empty());
  auto got = (*journal)->get(*parent_id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->outcome, kOutcomeRunning);
  // Without naming the parent, it would have been closed as interrupted.
  closed = reconcile_unfinished(**journal, tmp->path() / "unrecorded", "app", "staging", *child_id);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->size(), 1u);
}

namespace {

JournalEntry run(std::string layer, std::string started, std::string ended, nlohmann::json details = {},
                 std::string outcome = kOutcomeSucceeded) {
  JournalEntry e;
  e.layer = std::move(layer);
  e.started_at = std::move(started);
  e.ended_at = std::move(ended);
  e.outcome = std::move(outcome);
  e.details = details.is_null() ? nlohmann::json::object() : std::move(details);
  return e;
}

}  // namespace

TEST(ReleasePlanEstimate, MedianOfTheSameWorkOnly) {
  std::vector<JournalEntry> history = {
      run("app", "2026-11-30T10:00:00Z", "2026-11-30T10:04:00Z", {{"waited", true}}),        // redeploy: 240 s
      run("app", "2026-11-30T09:00:00Z", "2026-11-30T09:00:20Z"),                             // revert: 20 s
      run("app", "2026-11-29T09:00:00Z", "2026-11-29T09:02:00Z", {{"release_step", "redeploy"}}),  // 120 s
      run("app", "2026-11-28T09:00:00Z", "2026-11-28T09:10:00Z", {{"waited", true}}, "failed"),   // not counted
      run("ecs", "2026-11-28T08:00:00Z", "2026-11-28T08:01:30Z"),
      run("app", "2026-11-27T09:00:00Z", "2026-11-27T09:03:00Z", {{"waited", true}}),        // 180 s
      run("infra", "2026-11-26T09:00:00Z", "2026-11-26T09:00:05Z"),                           // push only: not counted
      run("infra", "2026-11-25T09:00:00Z", "2026-11-25T09:06:00Z", {{"applied_state_version", "v2"}}),
  };
  auto redeploy = estimate_step(ReleaseStepKind::Redeploy, history);
  ASSERT_TRUE(redeploy.has_value());
  EXPECT_EQ(redeploy->samples, 3u);
  EXPECT_EQ(redeploy->typical.count(), 180);
  auto revert = estimate_step(ReleaseStepKind::Revert, history);
  ASSERT_TRUE(revert.has_value());
  EXPECT_EQ(revert->typical.count(), 20);
  EXPECT_EQ(estimate_step(ReleaseStepKind::Ecs, history)->typical.count(), 90);
  EXPECT_EQ(estimate_step(ReleaseStepKind::InfraRevert, history)->typical.count(), 360);
  EXPECT_FALSE(estimate_step(ReleaseStepKind::DbDowngrade, history).has_value());
  EXPECT_EQ(describe_estimate(redeploy), "about 3m 00s (median of 3 earlier runs)");
  EXPECT_EQ(describe_estimate(std::nullopt), "no earlier run on record to estimate from");
}

TEST(ReleasePlanEstimate, OnlyTheLatestRunsCountAndAnEvenCountAveragesTheMiddle) {
  std::vector<JournalEntry> history;
  for (int i = 0; i < 12; ++i)  // newest first: 10 s, 10 s, ... then two old slow ones
    history.push_back(run("db", "2026-11-30T10:00:00Z", i < 10 ? "2026-11-30T10:00:10Z" : "2026-11-30T11:00:00Z"));
  EXPECT_EQ(estimate_step(ReleaseStepKind::DbDowngrade, history)->typical.count(), 10);
  EXPECT_EQ(estimate_step(ReleaseStepKind::DbDowngrade, history)->samples, kEstimateSamples);
  std::vector<JournalEntry> two = {run("db", "2026-11-30T10:00:00Z", "2026-11-30T10:00:10Z"),
                                   run("db", "2026-11-30T10:00:00Z", "2026-11-30T10:00:30Z")};
  EXPECT_EQ(estimate_step(ReleaseStepKind::DbDowngrade, two)->typical.count(), 20);
}
