#include <gtest/gtest.h>

#include <fstream>

#include "ecs/model.hpp"
#include "ecs/target.hpp"
#include "../infra/test_support.hpp"

using namespace rb;
using namespace rb::ecs;

namespace {

const std::string kArn = "arn:aws:ecs:us-east-1:123456789012:task-definition/";

RevisionInfo rev(int n, const std::string& status = "ACTIVE", const std::string& family = "api-prod") {
  return {{family, n, kArn + family + ":" + std::to_string(n)}, status};
}

Service service_running(int revision) {
  Service s;
  s.name = "api-service-prod";
  s.status = "ACTIVE";
  Deployment d;
  d.id = "ecs-svc/1";
  d.status = "PRIMARY";
  d.task_definition = kArn + "api-prod:" + std::to_string(revision);
  s.deployments.push_back(d);
  s.task_definition = d.task_definition;
  return s;
}

ServiceDeploymentInfo sd(int revision, const std::string& status, double created, const std::string& cb = "MONITORING") {
  ServiceDeploymentInfo d;
  d.arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/" + std::to_string(revision);
  d.status = status;
  d.created_at = d.started_at = created;
  d.finished_at = created + 60;
  d.target_task_definition = kArn + "api-prod:" + std::to_string(revision);
  d.circuit_breaker_status = cb;
  return d;
}

// 2026-11-29T00:00:00Z
constexpr double kDay = 1795910400;

TargetInputs inputs(int current, std::vector<RevisionInfo> revs) {
  TargetInputs in;
  in.family = "api-prod";
  in.service = service_running(current);
  in.revisions = std::move(revs);
  return in;
}

}  // namespace

TEST(EcsModel, ParsesTaskDefinitionReferences) {
  auto a = parse_task_def("arn:aws:ecs:us-east-1:123:task-definition/connect2-api-prod:41");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, "connect2-api-prod");
  EXPECT_EQ(a->revision, 41);
  auto b = parse_task_def("connect2-api-prod:7");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->revision, 7);
  EXPECT_FALSE(parse_task_def("connect2-api-prod"));
  EXPECT_FALSE(parse_task_def("fam:x1"));
  EXPECT_FALSE(parse_task_def("fam:0"));
}

TEST(EcsModel, ParsesDescribeServicesAndDescribeTasksResponses) {
  // tests/fixtures/aws/ecs/: responses in the ECS API's JSON shape, written for these tests.
  auto services = nlohmann::json::parse(rb::infra::testing::read_project_fixture("aws/ecs/describe-services.json"));
  auto s = parse_service(services["services"][0]);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "connect2-api-prod");
  ASSERT_EQ(s->deployments.size(), 1u);
  EXPECT_EQ(s->deployments[0].status, "PRIMARY");
  EXPECT_EQ(s->current_task_definition(), "arn:aws:ecs:us-east-1:123456789012:task-definition/connect2-api-prod:6");
  // ISO timestamps are accepted as well as epoch seconds.
  EXPECT_NEAR(s->deployments[0].created_at, 1796008352.130, 0.01);
  ASSERT_EQ(s->events.size(), 1u);
  EXPECT_NE(s->events[0].message.find("has reached a steady state"), std::string::npos);

  auto tasks = nlohmann::json::parse(rb::infra::testing::read_project_fixture("aws/ecs/describe-tasks.json"));
  auto t = parse_task(tasks["tasks"][0]);
  EXPECT_EQ(t.started_by, "ecs-svc/1234567890123456789");
  EXPECT_EQ(t.stop_code, "EssentialContainerExited");
  EXPECT_EQ(t.stopped_reason, "Essential container in task exited");
  EXPECT_EQ(short_task_id(t.arn), "0a1b2c3d4e5f67890a1b2c3d4e5f6789");
}

TEST(conformance_EcsModel, ParsesBotocoreDescribeServicesExample) {
  RB_REQUIRE_SHARED_FIXTURES();
  std::ifstream f(rb::infra::testing::fixture_path("aws/ecs/examples-1.json"));
  ASSERT_TRUE(f.good()) << "cannot read " << rb::infra::testing::fixture_path("aws/ecs/examples-1.json");
  auto examples = nlohmann::json::parse(f);
  const auto& out = examples["examples"]["DescribeServices"][0]["output"];
  auto s = parse_service(out["services"][0]);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "ecs-simple-service");
  ASSERT_EQ(s->deployments.size(), 1u);
  EXPECT_EQ(s->deployments[0].status, "PRIMARY");
  EXPECT_EQ(s->current_task_definition(), "arn:aws:ecs:us-east-1:012345678910:task-definition/hello_world:6");
  // ISO timestamps are accepted as well as epoch seconds.
  EXPECT_NEAR(s->deployments[0].created_at, 1472487952.130, 0.01);
  ASSERT_EQ(s->events.size(), 1u);
  EXPECT_NE(s->events[0].message.find("unable to place a task"), std::string::npos);

  const auto& task = examples["examples"]["DescribeTasks"][0]["output"]["tasks"][0];
  auto t = parse_task(task);
  EXPECT_EQ(t.started_by, "ecs-svc/9223370608528463088");
  EXPECT_EQ(short_task_id(t.arn), "c5cba4eb-5dad-405e-96db-71ef8eefe6a8");
}

TEST(EcsModel, ImageTags) {
  EXPECT_EQ(image_tag("123.dkr.ecr.us-east-1.amazonaws.com/api:a1b2c3d"), "a1b2c3d");
  EXPECT_EQ(image_tag("localhost:5000/api"), "latest");
  EXPECT_EQ(image_tag("api@sha256:abcd"), "sha256:abcd");
}

TEST(EcsTarget, SkipsInactiveRevisionsToNearestOlderActive) {
  auto t = choose_target(inputs(6, {rev(1), rev(2), rev(3), rev(4), rev(5, "INACTIVE"), rev(6)}));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->ref.revision, 4);
  EXPECT_EQ(t->current.revision, 6);
  EXPECT_EQ(t->skipped_inactive, std::vector<int>{5});
}

TEST(EcsTarget, PrefersLastKnownGoodFromJournal) {
  auto in = inputs(6, {rev(1), rev(2), rev(3), rev(4), rev(5), rev(6)});
  in.known_good = {{6, "r-new", "t2"}, {2, "r-old", "t1"}};  // 6 is the current one: not a target
  auto t = choose_target(in);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ref.revision, 2);
  EXPECT_NE(t->why.find("r-old"), std::string::npos);
  EXPECT_EQ(t->skipped_inactive, std::vector<int>{});
}

TEST(EcsTarget, KnownGoodThatWasDeregisteredIsPassedOver) {
  auto in = inputs(6, {rev(3), rev(4), rev(5), rev(6)});
  in.revisions[0].status = "INACTIVE";
  in.known_good = {{3, "r", "t"}};
  auto t = choose_target(in);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ref.revision, 5);
}

TEST(EcsTarget, MidDeploymentGoesBackToThePreviousDeployment) {
  auto in = inputs(6, {rev(2), rev(3), rev(4), rev(5), rev(6)});
  Deployment previous;
  previous.id = "ecs-svc/0";
  previous.status = "ACTIVE";
  previous.task_definition = kArn + "api-prod:3";
  in.service.deployments.push_back(previous);
  auto t = choose_target(in);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ref.revision, 3);
  EXPECT_NE(t->why.find("mid-deployment"), std::string::npos);
}

TEST(EcsTarget, ExplicitRevisionFormsAndRefusals) {
  auto revs = std::vector<RevisionInfo>{rev(3), rev(4), rev(5, "INACTIVE"), rev(6)};
  for (std::string req : std::vector<std::string>{"3", "api-prod:3", kArn + "api-prod:3"}) {
    auto in = inputs(6, revs);
    in.requested = req;
    auto t = choose_target(in);
    ASSERT_TRUE(t.ok()) << req << ": " << t.error().message;
    EXPECT_EQ(t->ref.revision, 3);
  }
  auto inactive = inputs(6, revs);
  inactive.requested = "5";
  auto r1 = choose_target(inactive);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, ExitCode::Refused);
  EXPECT_NE(r1.error().message.find("INACTIVE"), std::string::npos);
  EXPECT_NE(r1.error().hint.find("4"), std::string::npos);  // lists the ACTIVE ones

  auto other = inputs(6, revs);
  other.requested = "other-family:3";
  auto r2 = choose_target(other);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ExitCode::Refused);
  EXPECT_NE(r2.error().message.find("other-family"), std::string::npos);

  auto same = inputs(6, revs);
  same.requested = "6";
  auto r3 = choose_target(same);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message.find("already runs"), std::string::npos);

  auto missing = inputs(6, revs);
  missing.requested = "99";
  EXPECT_EQ(choose_target(missing).error().code, ExitCode::Refused);

  auto garbage = inputs(6, revs);
  garbage.requested = "latest";
  EXPECT_EQ(choose_target(garbage).error().code, ExitCode::Usage);
}

TEST(EcsTarget, AnArnOfAnotherAccountOrRegionIsRefusedNotRewritten) {
  auto revs = std::vector<RevisionInfo>{rev(3), rev(4), rev(6)};
  for (std::string foreign : {"arn:aws:ecs:eu-west-1:123456789012:task-definition/api-prod:3",
                              "arn:aws:ecs:us-east-1:999999999999:task-definition/api-prod:3"}) {
    auto in = inputs(6, revs);
    in.requested = foreign;
    auto r = choose_target(in);
    ASSERT_FALSE(r.ok()) << foreign;
    EXPECT_EQ(r.error().code, ExitCode::Refused);
    // Both are named: what was asked for and where the service runs.
    EXPECT_NE(r.error().message.find(foreign), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("us-east-1:123456789012"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().hint.find("--to-revision 3"), std::string::npos) << r.error().hint;
  }
}

TEST(EcsTarget, HistoryGoesBackToTheLastSuccessfulAndNamesWhatItPassedOver) {
  // :10 SUCCESSFUL, :11 rolled back by the circuit breaker, :12 SUCCESSFUL but bad (running now).
  auto in = inputs(12, {rev(9), rev(10), rev(11), rev(12)});
  in.history = std::vector<ServiceDeploymentInfo>{sd(12, "SUCCESSFUL", kDay + 300),
                                                  sd(11, "ROLLBACK_SUCCESSFUL", kDay + 200, "TRIGGERED"),
                                                  sd(10, "SUCCESSFUL", kDay + 100)};
  auto t = choose_target(in);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->ref.revision, 10);  // not N-1 (= 11, which ECS rolled back)
  EXPECT_NE(t->why.find("ended SUCCESSFUL"), std::string::npos) << t->why;
  ASSERT_EQ(t->passed_over.size(), 1u);
  EXPECT_EQ(t->passed_over[0], "api-prod:11 failed on 2026-11-29: circuit breaker rolled it back");
  EXPECT_TRUE(t->note.empty());
}

TEST(EcsTarget, WithoutHistoryTheOldRulesApplyAndSaySo) {
  auto in = inputs(12, {rev(10), rev(11), rev(12)});
  in.history_unavailable = "UnknownOperationException";
  auto t = choose_target(in);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ref.revision, 11);
  EXPECT_NE(t->note.find("UnknownOperationException"), std::string::npos) << t->note;
}

TEST(EcsTarget, AlarmsAndOurOwnRollbacksMakeRevisionsKnownBad) {
  auto in = inputs(12, {rev(9), rev(10), rev(11), rev(12)});
  auto alarmed = sd(11, "SUCCESSFUL", kDay + 200);
  alarmed.triggered_alarms = {"api-5xx"};
  in.history = std::vector<ServiceDeploymentInfo>{sd(12, "SUCCESSFUL", kDay + 300), alarmed,
                                                  sd(10, "SUCCESSFUL", kDay + 100), sd(9, "SUCCESSFUL", kDay)};
  in.known_bad = {{10, "2026-11-28", "rollback r-1 left it"}};
  auto t = choose_target(in);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->ref.revision, 9);
  ASSERT_EQ(t->passed_over.size(), 2u);
  EXPECT_NE(t->passed_over[0].find("api-prod:11 failed on 2026-11-29: alarm api-5xx went into ALARM"),
            std::string::npos) << t->passed_over[0];
  EXPECT_NE(t->passed_over[1].find("rollback r-1 left it"), std::string::npos);

  // Named explicitly, a known-bad revision is allowed with a warning saying when and why.
  in.requested = "11";
  auto named = choose_target(in);
  ASSERT_TRUE(named.ok());
  ASSERT_TRUE(named->known_bad_warning.has_value());
  EXPECT_EQ(*named->known_bad_warning, "api-prod:11 is known bad: failed on 2026-11-29: alarm api-5xx went into ALARM");
}

TEST(EcsTarget, NothingOlderIsRefused) {
  auto t = choose_target(inputs(2, {rev(1, "INACTIVE"), rev(2)}));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ExitCode::Refused);
}
