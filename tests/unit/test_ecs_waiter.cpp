#include <gtest/gtest.h>

#include <deque>

#include "ecs/rollback.hpp"
#include "ecs/waiter.hpp"
#include "../support/fake_clock.hpp"

using namespace rb;
using namespace rb::ecs;
using namespace std::chrono_literals;

namespace {

const std::string kOld = "arn:aws:ecs:us-east-1:1:task-definition/api-prod:6";
const std::string kTarget = "arn:aws:ecs:us-east-1:1:task-definition/api-prod:4";
constexpr double kStart = 1000.0;

Deployment dep(const std::string& id, const std::string& status, const std::string& td, int running, int desired,
               const std::string& rollout, double created, int failed = 0) {
  Deployment d;
  d.id = id;
  d.status = status;
  d.task_definition = td;
  d.running = running;
  d.desired = desired;
  d.pending = desired - running;
  d.rollout_state = rollout;
  d.created_at = created;
  d.failed_tasks = failed;
  return d;
}

Service svc(std::vector<Deployment> deps, int running = 2) {
  Service s;
  s.name = "api";
  s.status = "ACTIVE";
  s.desired = 2;
  s.running = running;
  s.deployments = std::move(deps);
  s.circuit_breaker_rollback = true;
  return s;
}

// Recorded DescribeServices sequence of a good rollback.
std::vector<Service> good_rollout() {
  return {
      svc({dep("ecs-svc/new", "PRIMARY", kTarget, 0, 2, "IN_PROGRESS", kStart + 1),
           dep("ecs-svc/old", "ACTIVE", kOld, 2, 2, "COMPLETED", 10)}),
      svc({dep("ecs-svc/new", "PRIMARY", kTarget, 2, 2, "IN_PROGRESS", kStart + 1),
           dep("ecs-svc/old", "ACTIVE", kOld, 2, 2, "COMPLETED", 10)}, 4),
      svc({dep("ecs-svc/new", "PRIMARY", kTarget, 2, 2, "COMPLETED", kStart + 1)}),
  };
}

using rb::testing::FakeClock;

class FakeGateway final : public EcsGateway {
 public:
  std::deque<Service> snapshots;
  std::vector<StoppedTask> stopped;
  std::deque<Status> update_results;
  int updates = 0, describes = 0;
  Service last;

  Result<Service> describe_service(const std::string&, const std::string&) override {
    ++describes;
    if (!snapshots.empty()) {
      last = snapshots.front();
      if (snapshots.size() > 1) snapshots.pop_front();
    }
    return last;
  }
  Result<std::vector<RevisionInfo>> list_revisions(const std::string&) override { return std::vector<RevisionInfo>{}; }
  Result<TaskDefinition> describe_task_definition(const std::string&) override { return TaskDefinition{}; }
  Status update_service(const std::string&, const std::string&, const std::string&) override {
    ++updates;
    if (update_results.empty()) return {};
    Status s = update_results.front();
    update_results.pop_front();
    return s;
  }
  Result<std::vector<StoppedTask>> stopped_tasks(const std::string&, const std::string&, const std::string&) override {
    return stopped;
  }
};

}  // namespace

TEST(EcsWaiter, CircuitBreakerThreshold) {
  EXPECT_EQ(circuit_breaker_threshold(1), 3);
  EXPECT_EQ(circuit_breaker_threshold(2), 3);
  EXPECT_EQ(circuit_breaker_threshold(10), 5);
  EXPECT_EQ(circuit_breaker_threshold(11), 6);
  EXPECT_EQ(circuit_breaker_threshold(1000), 200);
}

TEST(EcsWaiter, GoodRolloutSucceedsOnlyAtTheEnd) {
  auto seq = good_rollout();
  EXPECT_EQ(evaluate(seq[0], kTarget, kStart).phase, WaitPhase::InProgress);
  EXPECT_EQ(evaluate(seq[1], kTarget, kStart).phase, WaitPhase::InProgress);  // two deployments still
  EXPECT_EQ(evaluate(seq[2], kTarget, kStart).phase, WaitPhase::Succeeded);
}

TEST(EcsWaiter, StableButRolledBackByCircuitBreakerIsFailure) {
  // What `aws ecs wait services-stable` calls success: one deployment, running == desired.
  Service s = svc({dep("ecs-svc/back", "PRIMARY", kOld, 2, 2, "COMPLETED", kStart + 60)});
  Deployment failed = dep("ecs-svc/new", "INACTIVE", kTarget, 0, 2, "FAILED", kStart + 1, 3);
  failed.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start.";
  auto with_failed = s;
  with_failed.deployments.push_back(failed);
  auto v1 = evaluate(with_failed, kTarget, kStart);
  EXPECT_EQ(v1.phase, WaitPhase::Failed);
  EXPECT_NE(v1.reason.find("circuit breaker"), std::string::npos);
  // Even once the failed deployment is gone, PRIMARY no longer runs the target.
  auto v2 = evaluate(s, kTarget, kStart);
  EXPECT_EQ(v2.phase, WaitPhase::Failed);
  EXPECT_NE(v2.reason.find("api-prod:6"), std::string::npos);
}

TEST(EcsWaiter, FailedTasksAtThresholdAndRolloutFailed) {
  auto s = svc({dep("ecs-svc/new", "PRIMARY", kTarget, 0, 2, "IN_PROGRESS", kStart + 1, 3),
                dep("ecs-svc/old", "ACTIVE", kOld, 2, 2, "COMPLETED", 10)});
  EXPECT_EQ(evaluate(s, kTarget, kStart).phase, WaitPhase::Failed);
  s.deployments[0].failed_tasks = 1;
  EXPECT_EQ(evaluate(s, kTarget, kStart).phase, WaitPhase::InProgress);
  s.deployments[0].rollout_state = "FAILED";
  EXPECT_EQ(evaluate(s, kTarget, kStart).phase, WaitPhase::Failed);
}

TEST(EcsWaiter, OldDeploymentOfTargetIsNotOurs) {
  // The target ran long ago (created before our update) and nothing new appeared yet.
  auto s = svc({dep("ecs-svc/old", "PRIMARY", kOld, 2, 2, "COMPLETED", 10)});
  auto v = evaluate(s, kTarget, kStart);
  EXPECT_EQ(v.phase, WaitPhase::InProgress);
}

TEST(EcsWaiter, ChangeTrackerReportsNewEventsOnceOldestFirst) {
  ChangeTracker t(kStart);
  Service s = good_rollout()[0];
  s.events = {{"e2", kStart + 2, "has started 2 tasks"}, {"e1", kStart + 1, "deployment started"},
              {"e0", kStart - 100, "old news"}, {"e-1", 0, "undated"}};
  auto first = t.update(s);
  ASSERT_GE(first.size(), 2u);
  // Each event with its own ECS time (kStart + 1 = 1001 s after the epoch), not the time we read it.
  EXPECT_EQ(first[0], "event at 1970-01-01T00:16:41Z: deployment started");
  EXPECT_EQ(first[1], "event at 1970-01-01T00:16:42Z: has started 2 tasks");
  for (const auto& line : first) {
    EXPECT_EQ(line.find("old news"), std::string::npos);
    EXPECT_EQ(line.find("undated"), std::string::npos);
  }
  EXPECT_TRUE(t.update(s).empty());  // nothing new
}

TEST(EcsWaiter, PollScheduleStartsAtOneSecondAndBacksOff) {
  PollSchedule p;
  EXPECT_EQ(p.next(false), 1000ms);
  std::chrono::milliseconds last{};
  for (int i = 0; i < 30; ++i) last = p.next(false);
  EXPECT_EQ(last, 3000ms);
  EXPECT_EQ(p.next(true), 1000ms);
  for (int i = 0; i < 30; ++i) last = p.next(false);
  EXPECT_EQ(last, 3000ms);
  EXPECT_EQ(p.next(false, /*nearly_done=*/true), 1000ms);
}

TEST(EcsRollback, WaitFollowsARecordedRolloutToSuccess) {
  FakeGateway gw;
  for (auto& s : good_rollout()) gw.snapshots.push_back(s);
  FakeClock clock;
  Output out(OutputFormat::Json);
  std::vector<std::string> lines;
  auto r = wait_for_rollout(gw, clock, out, [&](const std::string& l) { lines.push_back(l); }, "c", "api", kTarget,
                            kStart, 10min);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(gw.describes, 3);
  EXPECT_EQ(clock.sleeps.size(), 2u);
  EXPECT_EQ(clock.sleeps[0], 1000ms);
}

TEST(EcsRollback, WaitReportsStoppedTasksAndFails) {
  FakeGateway gw;
  gw.snapshots.push_back(svc({dep("ecs-svc/new", "PRIMARY", kTarget, 0, 2, "IN_PROGRESS", kStart + 1, 3),
                              dep("ecs-svc/old", "ACTIVE", kOld, 2, 2, "COMPLETED", 10)}));
  StoppedTask t;
  t.arn = "arn:aws:ecs:us-east-1:1:task/c/abc123";
  t.stop_code = "EssentialContainerExited";
  t.stopped_reason = "Essential container in task exited";
  t.containers = {{"api", "", 1}};
  gw.stopped = {t};
  FakeClock clock;
  Output out(OutputFormat::Json);
  std::vector<std::string> lines;
  auto r = wait_for_rollout(gw, clock, out, [&](const std::string& l) { lines.push_back(l); }, "c", "api", kTarget,
                            kStart, 10min);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Failed);
  bool reported = false;
  for (const auto& l : lines)
    if (l.find("EssentialContainerExited") != std::string::npos && l.find("api exit 1") != std::string::npos) reported = true;
  EXPECT_TRUE(reported);
}

TEST(EcsRollback, WaitTimesOut) {
  FakeGateway gw;
  gw.snapshots.push_back(good_rollout()[0]);
  FakeClock clock;
  Output out(OutputFormat::Json);
  auto r = wait_for_rollout(gw, clock, out, [](const std::string&) {}, "c", "api", kTarget, kStart, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timed out after 5s"), std::string::npos) << r.error().message;
}

TEST(EcsRollback, AmbiguousUpdateThatReachedEcsIsNotSentTwice) {
  FakeGateway gw;
  Error ambiguous = failure("ECS UpdateService failed: InternalFailure (HTTP 500)");
  ambiguous.tag = "ambiguous";
  gw.update_results.push_back(ambiguous);
  gw.snapshots.push_back(good_rollout()[0]);  // the new deployment of the target exists
  FakeClock clock;
  auto st = send_update(gw, clock, [](const std::string&) {}, "c", "api", kTarget, {"ecs-svc/old"});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(gw.updates, 1);
}

TEST(EcsRollback, AmbiguousUpdateThatDidNotReachEcsIsSentAgain) {
  FakeGateway gw;
  Error ambiguous = failure("connection reset");
  ambiguous.tag = "ambiguous";
  gw.update_results.push_back(ambiguous);
  gw.snapshots.push_back(svc({dep("ecs-svc/old", "PRIMARY", kOld, 2, 2, "COMPLETED", 10)}));
  FakeClock clock;
  auto st = send_update(gw, clock, [](const std::string&) {}, "c", "api", kTarget, {"ecs-svc/old"});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(gw.updates, 2);
}

TEST(EcsRollback, LastAmbiguousAttemptIsCheckedBeforeGivingUp) {
  // R1 found it: every attempt ambiguous, the last one did reach ECS; the rollback worked and
  // must not be reported as failed.
  FakeGateway gw;
  Error ambiguous = failure("ECS UpdateService failed: InternalFailure (HTTP 500)");
  ambiguous.tag = "ambiguous";
  for (int i = 0; i < 3; ++i) gw.update_results.push_back(ambiguous);
  auto before = svc({dep("ecs-svc/old", "PRIMARY", kOld, 2, 2, "COMPLETED", 10)});
  gw.snapshots = {before, before, good_rollout()[0]};
  FakeClock clock;
  auto st = send_update(gw, clock, [](const std::string&) {}, "c", "api", kTarget, {"ecs-svc/old"});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(gw.updates, 3);
  EXPECT_EQ(gw.describes, 3);

  // Never reached: the error says so after the last check.
  FakeGateway never;
  for (int i = 0; i < 3; ++i) never.update_results.push_back(ambiguous);
  never.snapshots = {before};
  st = send_update(never, clock, [](const std::string&) {}, "c", "api", kTarget, {"ecs-svc/old"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(never.updates, 3);
  EXPECT_EQ(never.describes, 3);
  EXPECT_NE(st.error().message.find("after 3 attempts the service still shows no new deployment"), std::string::npos)
      << st.error().message;
}

TEST(EcsRollback, AfterADroppedRestartTheOldDeploymentOfTheSameRevisionIsNotOurs) {
  // A restart targets the revision already running; the old deployment was created moments ago
  // (a deploy just finished). Neither its revision nor its age makes it ours: send again.
  FakeGateway gw;
  Error ambiguous = failure("connection reset");
  ambiguous.tag = "ambiguous";
  gw.update_results.push_back(ambiguous);
  gw.snapshots.push_back(svc({dep("ecs-svc/recent", "PRIMARY", kTarget, 2, 2, "COMPLETED", kStart - 1)}));
  FakeClock clock;
  std::vector<std::string> lines;
  auto st = send_update(gw, clock, [&](const std::string& l) { lines.push_back(l); }, "c", "api", kTarget,
                        {"ecs-svc/recent"});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(gw.updates, 2);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("did not reach ECS"), std::string::npos) << lines.back();
}

TEST(EcsRollback, ClearRefusalIsNotRetried) {
  FakeGateway gw;
  Error refused = failure("ECS UpdateService failed: ClientException: TaskDefinition is inactive (HTTP 400)");
  refused.tag = "ClientException";
  gw.update_results.push_back(refused);
  FakeClock clock;
  auto st = send_update(gw, clock, [](const std::string&) {}, "c", "api", kTarget, {"ecs-svc/old"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(gw.updates, 1);
}

TEST(EcsRedeploy, ImageMatchesCommitByPattern) {
  const std::string sha = "4f2a9c1d0e5b6a7c8d9e0f1a2b3c4d5e6f7a8b9c";
  const std::string repo = "123.dkr.ecr.us-east-1.amazonaws.com/api:";
  EXPECT_TRUE(image_matches_commit(repo + sha, "{sha}", sha));
  EXPECT_TRUE(image_matches_commit(repo + "4f2a9c1", "{sha}", sha));
  EXPECT_TRUE(image_matches_commit(repo + "main-4f2a9c1-build7", "{sha}", sha));
  EXPECT_FALSE(image_matches_commit(repo + "4f2a9c2", "{sha}", sha));
  EXPECT_TRUE(image_matches_commit(repo + "v-4f2a9c1", "v-{short_sha}", sha));
  EXPECT_FALSE(image_matches_commit(repo + "x-4f2a9c1", "v-{short_sha}", sha));
  // The registry host's port is not a tag.
  EXPECT_FALSE(image_matches_commit("localhost:4f2a9c1/api", "{sha}", sha));
}

TEST(EcsWaiter, RestartSucceedsOnlyOnceTheNewDeploymentOfTheSameRevisionIsDone) {
  std::set<std::string> previous{"ecs-svc/old"};
  // Before the new deployment shows up, the old one already "runs the target": not success.
  auto before = svc({dep("ecs-svc/old", "PRIMARY", kOld, 2, 2, "COMPLETED", 10)});
  EXPECT_EQ(evaluate(before, kOld, kStart, &previous).phase, WaitPhase::InProgress);
  EXPECT_EQ(evaluate(before, kOld, kStart).phase, WaitPhase::Succeeded);  // what a timestamp-only check would say
  auto during = svc({dep("ecs-svc/new", "PRIMARY", kOld, 1, 2, "IN_PROGRESS", kStart + 1),
                     dep("ecs-svc/old", "ACTIVE", kOld, 2, 2, "COMPLETED", 10)});
  EXPECT_EQ(evaluate(during, kOld, kStart, &previous).phase, WaitPhase::InProgress);
  auto after = svc({dep("ecs-svc/new", "PRIMARY", kOld, 2, 2, "COMPLETED", kStart + 1)});
  EXPECT_EQ(evaluate(after, kOld, kStart, &previous).phase, WaitPhase::Succeeded);
  // The new deployment failed and ECS went back to the old one: failure, not success.
  auto rolled_back = svc({dep("ecs-svc/back", "PRIMARY", kOld, 2, 2, "COMPLETED", kStart + 30),
                          dep("ecs-svc/new", "INACTIVE", kOld, 0, 2, "FAILED", kStart + 1, 3)});
  EXPECT_EQ(evaluate(rolled_back, kOld, kStart, &previous).phase, WaitPhase::Failed);
}
