#include "db/ecs_task.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "ecs/aws_gateway.hpp"
#include "ecs/model.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace {

// The task mode's ECS calls through the ecs layer's gateway: one ECS client and one retry policy
// for every command (ecs/aws_gateway.hpp).
class AwsTaskGateway final : public TaskGateway {
 public:
  explicit AwsTaskGateway(std::unique_ptr<ecs::EcsGateway> ecs) : ecs_(std::move(ecs)) {}

  Result<nlohmann::json> describe_service(const std::string& cluster, const std::string& service) override {
    return ecs_->describe_service_json(cluster, service);
  }
  Result<nlohmann::json> describe_task_definition(const std::string& task_definition) override {
    return ecs_->describe_task_definition_json(task_definition);
  }
  Result<nlohmann::json> run_task(const nlohmann::json& request) override { return ecs_->run_task(request); }
  Result<nlohmann::json> describe_task(const std::string& cluster, const std::string& task_arn) override {
    return ecs_->describe_task(cluster, task_arn);
  }

 private:
  std::unique_ptr<ecs::EcsGateway> ecs_;
};

// Fields of ECS JSON, read without throwing whatever their type (a malformed reply or a
// fake's gap becomes an empty value, never an exception past the command).
const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// The elements of a list field that are objects; other entries are skipped.
std::vector<nlohmann::json> objects(const nlohmann::json& j, const char* key) {
  std::vector<nlohmann::json> out;
  const auto& list = field(j, key);
  if (list.is_array())
    for (const auto& item : list)
      if (item.is_object()) out.push_back(item);
  return out;
}

std::string short_id(const std::string& arn) { return ecs::short_task_id(arn); }

}  // namespace

Result<std::unique_ptr<TaskGateway>> make_aws_task_gateway(const Config& config, const EnvironmentConfig& env,
                                                           Clock& clock) {
  RB_TRY_ASSIGN(auto ecs, ecs::make_aws_gateway(config, env, clock));
  return std::unique_ptr<TaskGateway>(new AwsTaskGateway(std::move(ecs)));
}

nlohmann::json run_task_request(const nlohmann::json& service, const std::string& task_definition,
                                const std::string& container, const std::vector<std::string>& command) {
  nlohmann::json req = {{"cluster", json_string(service, "clusterArn")}, {"taskDefinition", task_definition}, {"count", 1}};
  if (!json_string(service, "launchType").empty())
    req["launchType"] = json_string(service, "launchType");
  else if (const auto& cps = field(service, "capacityProviderStrategy"); cps.is_array() && !cps.empty())
    req["capacityProviderStrategy"] = cps;
  if (const auto& pv = field(service, "platformVersion"); pv.is_string()) req["platformVersion"] = pv;
  if (const auto& nc = field(service, "networkConfiguration"); nc.is_object()) req["networkConfiguration"] = nc;
  req["overrides"] = {{"containerOverrides", nlohmann::json::array({{{"name", container}, {"command", command}}})}};
  return req;
}

std::string log_location(const nlohmann::json& task_definition, const std::string& container) {
  for (const auto& c : objects(task_definition, "containerDefinitions")) {
    if (json_string(c, "name") != container) continue;
    const auto& lc = field(c, "logConfiguration");
    if (json_string(lc, "logDriver") != "awslogs") return {};
    const auto& opts = field(lc, "options");
    std::string group = json_string(opts, "awslogs-group");
    std::string prefix = json_string(opts, "awslogs-stream-prefix");
    if (group.empty()) return {};
    if (prefix.empty()) return fmt::format("CloudWatch Logs group {}", group);
    return fmt::format("CloudWatch Logs group {}, stream {}/{}/<task-id>", group, prefix, container);
  }
  return {};
}

nlohmann::json TaskPlan::to_json() const {
  return {{"cluster", cluster}, {"service", service}, {"container", container}, {"task_definition", task_definition},
          {"command", command}, {"request", request}, {"logs", logs}};
}

Result<TaskPlan> plan_task(TaskGateway& ecs, const EnvironmentConfig& env, const std::vector<std::string>& command) {
  TaskPlan plan;
  plan.cluster = env.cluster;
  plan.service = env.service;
  plan.container = env.container;
  plan.command = command;
  RB_TRY_ASSIGN(auto service_j, ecs.describe_service(env.cluster, env.service));
  RB_TRY_ASSIGN(auto service, ecs::parse_service(service_j));
  plan.task_definition = service.current_task_definition();
  if (plan.task_definition.empty())
    return refusal(fmt::format("service {} has no task definition to run the downgrade with", env.service));
  RB_TRY_ASSIGN(auto td, ecs.describe_task_definition(plan.task_definition));
  std::vector<std::string> names;
  for (const auto& c : objects(td, "containerDefinitions")) names.push_back(json_string(c, "name"));
  if (std::find(names.begin(), names.end(), env.container) == names.end())
    return refusal(fmt::format("the task definition {} has no container named {} (it has: {})", plan.task_definition,
                               env.container, join(names, ", ")),
                   "set `container` for this environment in rollback.yaml to the container that holds the "
                   "application and Alembic");
  plan.request = run_task_request(service_j, plan.task_definition, env.container, command);
  plan.request["cluster"] = env.cluster;
  plan.logs = log_location(td, env.container);
  return plan;
}

std::string TaskOutcome::describe() const {
  std::vector<std::string> parts;
  if (exit_code) parts.push_back(fmt::format("exit code {}", *exit_code));
  else parts.push_back("no exit code");
  if (!stop_code.empty() || !stopped_reason.empty())
    parts.push_back(stop_code + (stop_code.empty() || stopped_reason.empty() ? "" : ": ") + stopped_reason);
  if (!container_reason.empty()) parts.push_back("container: " + container_reason);
  return join(parts, "; ");
}

nlohmann::json TaskOutcome::to_json() const {
  nlohmann::json j = {{"task_arn", task_arn}, {"last_status", last_status}, {"stop_code", stop_code},
                      {"stopped_reason", stopped_reason}, {"elapsed_seconds", elapsed.count() / 1000.0}};
  j["exit_code"] = exit_code ? nlohmann::json(*exit_code) : nlohmann::json(nullptr);
  if (!container_reason.empty()) j["container_reason"] = container_reason;
  return j;
}

Result<TaskOutcome> run_task_and_wait(TaskGateway& ecs, Clock& clock, Output& out, const TaskEmit& emit,
                                      const TaskPlan& plan, const std::string& started_by,
                                      std::chrono::milliseconds timeout) {
  nlohmann::json request = plan.request;
  request["startedBy"] = started_by.substr(0, kStartedByMax);
  const auto start = clock.now();
  RB_TRY_ASSIGN(auto response, ecs.run_task(request));
  const auto tasks = objects(response, "tasks");
  const auto failures = objects(response, "failures");
  if (!failures.empty() || tasks.empty()) {
    std::vector<std::string> reasons;
    for (const auto& f : failures) {
      std::string detail = json_string(f, "detail");
      reasons.push_back(json_string(f, "reason", "?") + (detail.empty() ? "" : " (" + detail + ")"));
    }
    return failure(fmt::format("ECS RunTask started no task: {}", reasons.empty() ? "no task and no reason" : join(reasons, "; ")),
                   "nothing ran; the database is unchanged. Check the cluster's capacity and the service's network "
                   "configuration, then try again");
  }
  TaskOutcome outcome;
  outcome.task_arn = json_string(tasks.front(), "taskArn");
  outcome.last_status = json_string(tasks.front(), "lastStatus", "PROVISIONING");
  if (outcome.task_arn.empty())
    return failure("ECS RunTask answered with a task that has no taskArn",
                   "the task may be running: check `aws ecs list-tasks --cluster " + plan.cluster +
                       " --started-by " + started_by.substr(0, kStartedByMax) + "` before trying again");
  emit(fmt::format("RunTask started task {} ({}) in {}: {}", short_id(outcome.task_arn), outcome.last_status,
                   plan.cluster, format_argv(plan.command)));
  if (!plan.logs.empty()) out.line("  its output goes to " + plan.logs);
  const std::string follow = fmt::format("aws ecs describe-tasks --cluster {} --tasks {}", plan.cluster, outcome.task_arn);

  auto delay = kTaskPollFirst;
  for (;;) {
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    if (waited >= timeout)
      return failure(fmt::format("task {} is still {} after {} (--timeout); it was left running", short_id(outcome.task_arn),
                                 outcome.last_status, format_duration(timeout)),
                     fmt::format("stopping a migration half way is worse than letting it finish: follow it with `{}`, "
                                 "then check the version table (`rollback db status --env ...`)",
                                 follow));
    out.status(fmt::format("task {}: {} ({})", short_id(outcome.task_arn), outcome.last_status, format_duration(waited)));
    if (!clock.sleep_for(delay))
      return interrupted_error(fmt::format("interrupted while task {} runs; it was left running: follow it with `{}`",
                                           short_id(outcome.task_arn), follow));
    delay = std::min(delay * 2, kTaskPollMax);
    auto task = ecs.describe_task(plan.cluster, outcome.task_arn);
    if (!task) {
      // A transient failure to read: keep waiting (the AWS client already retried).
      log_debug("DescribeTasks failed: {}", task.error().message);
      continue;
    }
    std::string status = json_string(*task, "lastStatus");
    if (!status.empty() && status != outcome.last_status) {
      outcome.last_status = status;
      out.clear_status();
      emit(fmt::format("task {}: {}", short_id(outcome.task_arn), status));
    }
    if (status != "STOPPED") continue;
    outcome.stop_code = json_string(*task, "stopCode");
    outcome.stopped_reason = json_string(*task, "stoppedReason");
    for (const auto& c : objects(*task, "containers")) {
      if (json_string(c, "name") != plan.container) continue;
      // Exit codes are 0-255 (signals 128+n); anything outside an int is not one.
      constexpr long long kNoCode = std::numeric_limits<long long>::min();
      long long code = json_integer(c, "exitCode", kNoCode);
      if (code != kNoCode && code >= std::numeric_limits<int>::min() && code <= std::numeric_limits<int>::max())
        outcome.exit_code = static_cast<int>(code);
      outcome.container_reason = json_string(c, "reason");
    }
    outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    out.clear_status();
    return outcome;
  }
}

}  // namespace rb::db
