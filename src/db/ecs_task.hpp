// `rollback db --via ecs-task`: the downgrade runs as a one-off ECS task, for databases only
// reachable from inside the VPC (the runbook runs `alembic downgrade -1` through ECS Exec in a
// service task). RunTask of the service's current task definition with the container's command
// overridden, the launch type and network configuration copied from the service; then the task
// is followed until it stops.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/output.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace rb::db {

// Polling DescribeTasks while the task runs: quickly at first (a no-op downgrade finishes in
// seconds), then every 6 s, the AWS CLI's `aws ecs wait tasks-stopped` delay (botocore
// waiters-2.json: TasksStopped, delay 6, maxAttempts 100).
constexpr std::chrono::milliseconds kTaskPollFirst{1000};
constexpr std::chrono::milliseconds kTaskPollMax{6000};
// ECS limits startedBy to 128 characters (RunTask API reference).
constexpr size_t kStartedByMax = 128;

// The ECS calls the task mode makes, behind an interface so that tests can use a fake.
class TaskGateway {
 public:
  virtual ~TaskGateway() = default;
  // The service object of DescribeServices; an error (Refused) when the cluster or service is missing.
  virtual Result<nlohmann::json> describe_service(const std::string& cluster, const std::string& service) = 0;
  // The taskDefinition object of DescribeTaskDefinition.
  virtual Result<nlohmann::json> describe_task_definition(const std::string& task_definition) = 0;
  // RunTask; the whole response ({tasks, failures}). Safe to retry (a clientToken is added).
  virtual Result<nlohmann::json> run_task(const nlohmann::json& request) = 0;
  // The task object of DescribeTasks, or an error when ECS does not know it.
  virtual Result<nlohmann::json> describe_task(const std::string& cluster, const std::string& task_arn) = 0;
};

// The gateway through the signed, retrying AWS client, resolved like `rollback ecs` does
// (credentials, region, AWS_ENDPOINT_URL[_ECS]).
Result<std::unique_ptr<TaskGateway>> make_aws_task_gateway(const Config& config, const EnvironmentConfig& env,
                                                           Clock& clock);

struct TaskPlan {
  std::string cluster, service, container;
  std::string task_definition;   // the ARN the service's PRIMARY deployment runs
  std::vector<std::string> command;
  nlohmann::json request;        // the RunTask request, without startedBy (set when it runs)
  std::string logs;              // where the container's output goes, for people ("" when unknown)
  nlohmann::json to_json() const;
};

// The RunTask request: the task definition, the service's launchType (or its
// capacityProviderStrategy), platformVersion and networkConfiguration, one task, and the
// container's command overridden. Pure; for tests.
nlohmann::json run_task_request(const nlohmann::json& service, const std::string& task_definition,
                                const std::string& container, const std::vector<std::string>& command);

// Where a container's logs go according to its logConfiguration (awslogs), with the task id
// placeholder "<task-id>"; "" when not awslogs.
std::string log_location(const nlohmann::json& task_definition, const std::string& container);

// Reads the service and its current task definition and builds the request. Read-only.
// Refuses (nothing changed) when the container is not in the task definition.
Result<TaskPlan> plan_task(TaskGateway& ecs, const EnvironmentConfig& env, const std::vector<std::string>& command);

struct TaskOutcome {
  std::string task_arn;
  std::string last_status;     // STOPPED, or the last status seen at the timeout
  std::string stop_code;       // EssentialContainerExited, TaskFailedToStart, ...
  std::string stopped_reason;
  std::optional<int> exit_code;  // of the overridden container
  std::string container_reason;
  std::chrono::milliseconds elapsed{0};
  bool ok() const { return last_status == "STOPPED" && exit_code && *exit_code == 0; }
  // "exit code 1; EssentialContainerExited: Essential container in task exited"
  std::string describe() const;
  nlohmann::json to_json() const;
};

using TaskEmit = std::function<void(const std::string&)>;

// Sends RunTask (startedBy = `started_by`), then follows the task until it stops, printing
// each status change. Errors: RunTask refused or returning failures[] (nothing started);
// the timeout (the task keeps running: the error says how to follow it; it is not stopped,
// since stopping a migration half way is worse than letting it finish); Ctrl-C likewise.
// A task that stops is an outcome, successful or not.
Result<TaskOutcome> run_task_and_wait(TaskGateway& ecs, Clock& clock, Output& out, const TaskEmit& emit,
                                      const TaskPlan& plan, const std::string& started_by,
                                      std::chrono::milliseconds timeout);

}  // namespace rb::db
