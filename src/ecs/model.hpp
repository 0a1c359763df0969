// ECS objects as the rollback logic sees them, parsed from ECS API responses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb::ecs {

// family:revision, with the ARN when known.
struct TaskDefRef {
  std::string family;
  int revision = 0;
  std::string arn;
  std::string label() const;  // "connect2-api-prod:41"
};

// Accepts "arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV" and "FAMILY:REV".
// The highest task definition revision accepted. ECS numbers revisions from 1 and a family
// reaches thousands at most; 100 million keeps every revision far inside an int.
inline constexpr int kMaxTaskDefinitionRevision = 100'000'000;

std::optional<TaskDefRef> parse_task_def(std::string_view text);

struct Deployment {
  std::string id;
  std::string status;  // PRIMARY | ACTIVE | INACTIVE
  std::string task_definition;
  int desired = 0, pending = 0, running = 0, failed_tasks = 0;
  std::string rollout_state;  // IN_PROGRESS | COMPLETED | FAILED, empty when the controller has none
  std::string rollout_state_reason;
  double created_at = 0, updated_at = 0;  // epoch seconds
};

struct ServiceEvent {
  std::string id;
  double created_at = 0;
  std::string message;
};

struct Service {
  std::string name, arn, cluster, status;
  std::string deployment_controller = "ECS";  // ECS | CODE_DEPLOY | EXTERNAL
  std::string strategy;                        // deploymentConfiguration.strategy: ROLLING, BLUE_GREEN, ...
  int bake_time_minutes = 0;                   // deploymentConfiguration.bakeTimeInMinutes
  std::vector<std::string> alarm_names;        // deploymentConfiguration.alarms.alarmNames
  // deploymentConfiguration.maximumPercent / minimumHealthyPercent; -1 when absent (ECS then
  // applies its defaults, 200 and 100 for a replica service).
  int maximum_percent = -1, minimum_healthy_percent = -1;
  std::vector<std::string> target_groups;      // loadBalancers[].targetGroupArn, in order, no repeats
  std::string task_definition;
  int desired = 0, running = 0, pending = 0;
  std::vector<Deployment> deployments;
  std::vector<ServiceEvent> events;  // newest first, as ECS returns them
  bool circuit_breaker = false, circuit_breaker_rollback = false;
  nlohmann::json network_configuration;
  std::string launch_type;

  const Deployment* primary() const;
  // The task definition the service runs now: the PRIMARY deployment's, else the service's.
  std::string current_task_definition() const;
};

struct ContainerImage {
  std::string container, image;
};

struct TaskDefinition {
  TaskDefRef ref;
  std::string status;  // ACTIVE | INACTIVE
  std::vector<ContainerImage> images;
  // The longest containerDefinitions[].stopTimeout in seconds; 0 when no container sets one
  // (ECS then waits 30 s before SIGKILL).
  int max_stop_timeout = 0;
  // The image of `container`, or of the first container when not found.
  std::string image_of(const std::string& container) const;
};

struct RevisionInfo {
  TaskDefRef ref;
  std::string status;  // ACTIVE | INACTIVE
};

struct StoppedContainer {
  std::string name, reason;
  std::optional<int> exit_code;
};

struct StoppedTask {
  std::string arn, task_definition, stop_code, stopped_reason, started_by, last_status;
  std::string private_ip;  // the ENI's privateIPv4Address (awsvpc tasks); "" otherwise
  std::vector<StoppedContainer> containers;
  std::string describe() const;  // "task 1a2b: EssentialContainerExited: Essential container in task exited (connect2-api exit 1)"
};

// One lifecycle hook of a service deployment (blue/green, linear, canary).
struct LifecycleHook {
  std::string id, target_type, status;  // status AWAITING_ACTION when a PAUSE hook waits for us
};

// One entry of ECS's service deployment history (DescribeServiceDeployments), with the task
// definitions of its revisions filled in from DescribeServiceRevisions.
struct ServiceDeploymentInfo {
  std::string arn, status, status_reason, lifecycle_stage;
  double created_at = 0, started_at = 0, finished_at = 0;  // epoch seconds, 0 when absent
  std::string target_revision_arn, target_task_definition;
  std::vector<std::string> source_revision_arns, source_task_definitions;
  std::string rollback_reason, rollback_revision_arn, rollback_task_definition;
  std::string circuit_breaker_status;  // TRIGGERED when the circuit breaker fired
  int failure_count = 0;
  std::vector<std::string> triggered_alarms;
  std::vector<LifecycleHook> hooks;

  bool in_flight() const;    // PENDING or IN_PROGRESS
  bool rolled_back() const;  // ROLLBACK_REQUESTED, _IN_PROGRESS, _SUCCESSFUL or _FAILED
  const LifecycleHook* awaiting_hook() const;
  // Why ECS rolled it back (or why its alarms make it bad), in words: "circuit breaker rolled it back".
  std::string failure_words() const;
};

Result<ServiceDeploymentInfo> parse_service_deployment(const nlohmann::json& j);

// Timestamps arrive as epoch seconds (number) or ISO-8601 strings; both are accepted.
double parse_timestamp(const nlohmann::json& j);

Result<Service> parse_service(const nlohmann::json& j);
Result<TaskDefinition> parse_task_definition(const nlohmann::json& j);
StoppedTask parse_task(const nlohmann::json& j);

// The short id at the end of a task ARN.
std::string short_task_id(std::string_view arn);

// The image tag ("repo:tag" -> "tag"; digests "repo@sha256:..." -> the digest).
std::string image_tag(std::string_view image);

}  // namespace rb::ecs
