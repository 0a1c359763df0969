// `rollback db --via ecs-task` below the command line: the RunTask request (the service's task
// definition, launch type and network; the container's command overridden) and following the
// task to its exit code, with a fake gateway and a fake clock.
#include <gtest/gtest.h>

#include <deque>

#include "db/ecs_task.hpp"
#include "../support/fake_clock.hpp"

using namespace rb;
using namespace rb::db;

namespace {

constexpr const char* SETTINGS = "7a9b0c1d2e3f";

}  // namespace

namespace {

using rb::testing::FakeClock;

class FakeTasks final : public TaskGateway {
 public:
  nlohmann::json service = {
      {"serviceName", "svc"},
      {"clusterArn", "arn:aws:ecs:us-east-1:1:cluster/c"},
      {"status", "ACTIVE"},
      {"taskDefinition", "arn:aws:ecs:us-east-1:1:task-definition/app-prod:7"},
      {"launchType", "FARGATE"},
      {"platformVersion", "LATEST"},
      {"networkConfiguration",
       {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}, {"securityGroups", {"sg-1"}}, {"assignPublicIp", "DISABLED"}}}}},
      {"deployments",
       {{{"id", "ecs-svc/1"}, {"status", "PRIMARY"}, {"taskDefinition", "arn:aws:ecs:us-east-1:1:task-definition/app-prod:7"}}}}};
  nlohmann::json task_definition = {
      {"containerDefinitions",
       {{{"name", "api"},
         {"logConfiguration",
          {{"logDriver", "awslogs"}, {"options", {{"awslogs-group", "/ecs/app"}, {"awslogs-stream-prefix", "ecs"}}}}}}}}};
  nlohmann::json run_response = {{"tasks", {{{"taskArn", "arn:aws:ecs:us-east-1:1:task/c/abc123"}, {"lastStatus", "PROVISIONING"}}}},
                                 {"failures", nlohmann::json::array()}};
  std::deque<nlohmann::json> task_states;
  std::vector<nlohmann::json> run_requests;

  Result<nlohmann::json> describe_service(const std::string&, const std::string&) override { return service; }
  Result<nlohmann::json> describe_task_definition(const std::string&) override { return task_definition; }
  Result<nlohmann::json> run_task(const nlohmann::json& request) override {
    run_requests.push_back(request);
    return run_response;
  }
  Result<nlohmann::json> describe_task(const std::string&, const std::string&) override {
    if (task_states.size() > 1) {
      auto t = task_states.front();
      task_states.pop_front();
      return t;
    }
    return task_states.front();
  }
};

nlohmann::json task_state(const std::string& status, std::optional<int> exit_code = std::nullopt) {
  nlohmann::json t = {{"lastStatus", status}};
  if (status == "STOPPED") {
    t["stopCode"] = "EssentialContainerExited";
    t["stoppedReason"] = "Essential container in task exited";
    nlohmann::json c = {{"name", "api"}};
    if (exit_code) c["exitCode"] = *exit_code;
    t["containers"] = nlohmann::json::array({c});
  }
  return t;
}

EnvironmentConfig prod_env() {
  EnvironmentConfig env;
  env.name = "prod";
  env.cluster = "c";
  env.service = "svc";
  env.container = "api";
  return env;
}

}  // namespace

TEST(db_ecs_task, RequestCopiesTheServicesLaunchAndNetwork) {
  FakeTasks ecs;
  auto plan = plan_task(ecs, prod_env(), {"alembic", "downgrade", SETTINGS});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto& r = plan->request;
  EXPECT_EQ(r["cluster"], "c");
  EXPECT_EQ(r["taskDefinition"], "arn:aws:ecs:us-east-1:1:task-definition/app-prod:7");
  EXPECT_EQ(r["launchType"], "FARGATE");
  EXPECT_EQ(r["platformVersion"], "LATEST");
  EXPECT_EQ(r["count"], 1);
  EXPECT_EQ(r["networkConfiguration"]["awsvpcConfiguration"]["subnets"][0], "subnet-1");
  EXPECT_EQ(r["overrides"]["containerOverrides"][0]["name"], "api");
  EXPECT_EQ(r["overrides"]["containerOverrides"][0]["command"], nlohmann::json({"alembic", "downgrade", SETTINGS}));
  EXPECT_FALSE(r.contains("startedBy"));
  EXPECT_EQ(plan->logs, "CloudWatch Logs group /ecs/app, stream ecs/api/<task-id>");

  // Capacity providers instead of a launch type.
  nlohmann::json svc = ecs.service;
  svc.erase("launchType");
  svc["capacityProviderStrategy"] = {{{"capacityProvider", "FARGATE_SPOT"}, {"weight", 1}}};
  auto req = run_task_request(svc, "td", "api", {"x"});
  EXPECT_FALSE(req.contains("launchType"));
  EXPECT_EQ(req["capacityProviderStrategy"][0]["capacityProvider"], "FARGATE_SPOT");
}

TEST(db_ecs_task, RefusesAContainerTheTaskDefinitionDoesNotHave) {
  FakeTasks ecs;
  auto env = prod_env();
  env.container = "worker";
  auto plan = plan_task(ecs, env, {"alembic"});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ExitCode::Refused);
  EXPECT_NE(plan.error().message.find("it has: api"), std::string::npos);
}

TEST(db_ecs_task, FollowsTheTaskToItsExitCode) {
  FakeTasks ecs;
  ecs.task_states = {task_state("PENDING"), task_state("RUNNING"), task_state("RUNNING"), task_state("STOPPED", 0)};
  FakeClock clock;
  Output out;
  std::vector<std::string> events;
  auto plan = plan_task(ecs, prod_env(), {"alembic", "downgrade", SETTINGS});
  ASSERT_TRUE(plan.ok());
  auto outcome = run_task_and_wait(ecs, clock, out, [&](const std::string& m) { events.push_back(m); }, *plan,
                                   "rollback/20261126-1", std::chrono::minutes(10));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(outcome->ok());
  EXPECT_EQ(outcome->exit_code, 0);
  ASSERT_EQ(ecs.run_requests.size(), 1u);
  EXPECT_EQ(ecs.run_requests[0]["startedBy"], "rollback/20261126-1");
  // Quick polls first, then the AWS CLI waiter's 6 s.
  ASSERT_GE(clock.sleeps.size(), 4u);
  EXPECT_EQ(clock.sleeps[0], kTaskPollFirst);
  EXPECT_EQ(clock.sleeps.back(), kTaskPollMax);
  EXPECT_NE(events[0].find("RunTask started task abc123"), std::string::npos);
  EXPECT_NE(events.back().find("STOPPED"), std::string::npos);
}

TEST(db_ecs_task, ANonZeroExitIsAFailedOutcome) {
  FakeTasks ecs;
  ecs.task_states = {task_state("STOPPED", 1)};
  FakeClock clock;
  Output out;
  auto plan = plan_task(ecs, prod_env(), {"alembic"});
  ASSERT_TRUE(plan.ok());
  auto outcome = run_task_and_wait(ecs, clock, out, [](const std::string&) {}, *plan, "rollback/x", std::chrono::minutes(1));
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->ok());
  EXPECT_EQ(outcome->describe(), "exit code 1; EssentialContainerExited: Essential container in task exited");
}

TEST(db_ecs_task, RunTaskFailuresAndTheTimeoutAreErrors) {
  FakeTasks ecs;
  ecs.run_response = {{"tasks", nlohmann::json::array()},
                      {"failures", {{{"arn", "x"}, {"reason", "RESOURCE:MEMORY"}}}}};
  FakeClock clock;
  Output out;
  auto plan = plan_task(ecs, prod_env(), {"alembic"});
  ASSERT_TRUE(plan.ok());
  auto failed = run_task_and_wait(ecs, clock, out, [](const std::string&) {}, *plan, "rollback/x", std::chrono::minutes(1));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("RESOURCE:MEMORY"), std::string::npos);

  FakeTasks slow;
  slow.task_states = {task_state("RUNNING")};
  auto timed_out = run_task_and_wait(slow, clock, out, [](const std::string&) {}, *plan, "rollback/x", std::chrono::seconds(30));
  ASSERT_FALSE(timed_out.ok());
  EXPECT_NE(timed_out.error().message.find("left running"), std::string::npos);
  EXPECT_NE(timed_out.error().hint.find("aws ecs describe-tasks --cluster c --tasks arn:aws:ecs:us-east-1:1:task/c/abc123"),
            std::string::npos);
}

// Issue 10 item 6: a malformed ECS reply is an error value or an empty field, never an
// exception past the command (the old reads used value()/get<>() that throw on a wrong type).
TEST(db_ecs_task, MalformedEcsJsonNeverThrows) {
  FakeTasks ecs;
  ecs.service["clusterArn"] = 42;
  ecs.service["launchType"] = nlohmann::json::array();
  ecs.service["networkConfiguration"] = "subnet-1";
  ecs.task_definition["containerDefinitions"] = {"api", {{"name", 7}}, {{"name", "api"}, {"logConfiguration", "x"}}};
  Result<TaskPlan> plan = failure("not run");
  ASSERT_NO_THROW(plan = plan_task(ecs, prod_env(), {"alembic"}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_FALSE(plan->request.contains("launchType"));
  EXPECT_FALSE(plan->request.contains("networkConfiguration"));
  EXPECT_EQ(plan->logs, "");

  FakeClock clock;
  Output out;
  auto emit = [](const std::string&) {};
  // A task without a taskArn, failures that are not objects: errors, nothing thrown.
  for (const auto& reply : {nlohmann::json{{"tasks", {{{"taskArn", 5}}}}},
                            nlohmann::json{{"tasks", "none"}, {"failures", {1, 2}}},
                            nlohmann::json{{"failures", {{{"reason", 9}, {"detail", nullptr}}}}}}) {
    ecs.run_response = reply;
    Result<TaskOutcome> r = failure("not run");
    ASSERT_NO_THROW(r = run_task_and_wait(ecs, clock, out, emit, *plan, "rollback", std::chrono::minutes(1)))
        << reply.dump();
    EXPECT_FALSE(r.ok()) << reply.dump();
  }
  // Task states of the wrong types: read as absent, and the task is followed to its end.
  ecs.run_response = {{"tasks", {{{"taskArn", "arn:aws:ecs:us-east-1:1:task/c/abc"}}}}};
  ecs.task_states = {{{"lastStatus", 3}},
                     {{"lastStatus", "STOPPED"}, {"stopCode", {1}}, {"containers", {"api", {{"name", "api"}, {"exitCode", "1"}}}}}};
  Result<TaskOutcome> r = failure("not run");
  ASSERT_NO_THROW(r = run_task_and_wait(ecs, clock, out, emit, *plan, "rollback", std::chrono::minutes(1)));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->last_status, "STOPPED");
  EXPECT_FALSE(r->exit_code.has_value());
  EXPECT_FALSE(r->ok());
}
