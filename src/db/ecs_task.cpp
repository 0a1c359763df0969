#include "db/ecs_task.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "aws/ecs.hpp"
#include "aws/http.hpp"
#include "ecs/model.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace {

// Attempts per AWS call, as for `rollback ecs` (ecs/aws_gateway.cpp): a rollback should ride out
// a throttling storm longer than the SDKs' 3. AWS_MAX_ATTEMPTS, when set, still decides.
constexpr int kTaskMaxAttempts = 5;

class AwsTaskGateway final : public TaskGateway {
 public:
  AwsTaskGateway(aws::AwsClientConfig config, Clock& clock)
      : transport_(std::make_unique<aws::CurlTransport>()),
        region_(config.region),
        ecs_(aws::AwsClient(std::move(config), *transport_, clock)) {}

  Result<nlohmann::json> describe_service(const std::string& cluster, const std::string& service) override {
    auto r = ecs_.describe_services(cluster, {service});
    if (!r) {
      Error e = r.take_error();
      if (e.tag == "ClusterNotFoundException")
        return refusal(fmt::format("cluster {} does not exist in {}", cluster, region_),
                       "check the environment's cluster (and region) in rollback.yaml");
      return e;
    }
    for (const auto& f : (*r)["failures"])
      return refusal(fmt::format("service {} is {} in cluster {} ({})", service,
                                 f.value("reason", "") == "MISSING" ? "missing" : f.value("reason", "unavailable"),
                                 cluster, region_),
                     "check the environment's service and cluster in rollback.yaml");
    if ((*r)["services"].empty()) return refusal(fmt::format("service {} was not found in cluster {}", service, cluster));
    return (*r)["services"][0];
  }

  Result<nlohmann::json> describe_task_definition(const std::string& task_definition) override {
    RB_TRY_ASSIGN(auto j, ecs_.describe_task_definition(task_definition));
    return j.value("taskDefinition", nlohmann::json::object());
  }

  Result<nlohmann::json> run_task(const nlohmann::json& request) override { return ecs_.run_task(request); }

  Result<nlohmann::json> describe_task(const std::string& cluster, const std::string& task_arn) override {
    RB_TRY_ASSIGN(auto j, ecs_.describe_tasks(cluster, {task_arn}));
    if (j["tasks"].empty()) {
      std::string reason = j["failures"].empty() ? "not found" : j["failures"][0].value("reason", "not found");
      return failure(fmt::format("ECS DescribeTasks: task {} {}", task_arn, reason));
    }
    return j["tasks"][0];
  }

 private:
  std::unique_ptr<aws::CurlTransport> transport_;
  std::string region_;
  aws::EcsClient ecs_;
};

std::string short_id(const std::string& arn) { return ecs::short_task_id(arn); }

}  // namespace

Result<std::unique_ptr<TaskGateway>> make_aws_task_gateway(const Config& config, const EnvironmentConfig& env,
                                                           Clock& clock) {
  RB_TRY_ASSIGN(auto credentials, aws::resolve_credentials(env.aws_profile));
  RB_TRY_ASSIGN(auto region, aws::resolve_region(env.aws_profile, env.region.empty() ? config.region : env.region));
  aws::RetryPolicy retry;
  const char* env_attempts = std::getenv("AWS_MAX_ATTEMPTS");
  if (!env_attempts || !*env_attempts) retry.max_attempts = kTaskMaxAttempts;
  auto client_config = aws::AwsClientConfig::for_service("ecs", region, std::move(credentials), retry);
  log_debug("ECS endpoint {} (region {}) for the downgrade task", client_config.endpoint, region);
  return std::unique_ptr<TaskGateway>(new AwsTaskGateway(std::move(client_config), clock));
}

nlohmann::json run_task_request(const nlohmann::json& service, const std::string& task_definition,
                                const std::string& container, const std::vector<std::string>& command) {
  nlohmann::json req = {{"cluster", service.value("clusterArn", "")}, {"taskDefinition", task_definition}, {"count", 1}};
  if (service.contains("launchType") && service["launchType"].is_string() && !service["launchType"].get<std::string>().empty())
    req["launchType"] = service["launchType"];
  else if (service.contains("capacityProviderStrategy") && !service["capacityProviderStrategy"].empty())
    req["capacityProviderStrategy"] = service["capacityProviderStrategy"];
  if (service.contains("platformVersion") && service["platformVersion"].is_string())
    req["platformVersion"] = service["platformVersion"];
  if (service.contains("networkConfiguration") && !service["networkConfiguration"].is_null())
    req["networkConfiguration"] = service["networkConfiguration"];
  req["overrides"] = {{"containerOverrides", nlohmann::json::array({{{"name", container}, {"command", command}}})}};
  return req;
}

std::string log_location(const nlohmann::json& task_definition, const std::string& container) {
  for (const auto& c : task_definition.value("containerDefinitions", nlohmann::json::array())) {
    if (c.value("name", "") != container) continue;
    auto lc = c.value("logConfiguration", nlohmann::json::object());
    if (lc.value("logDriver", "") != "awslogs") return {};
    auto opts = lc.value("options", nlohmann::json::object());
    std::string group = opts.value("awslogs-group", "");
    std::string prefix = opts.value("awslogs-stream-prefix", "");
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
  for (const auto& c : td.value("containerDefinitions", nlohmann::json::array())) names.push_back(c.value("name", ""));
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
  if (!response.value("failures", nlohmann::json::array()).empty() || response.value("tasks", nlohmann::json::array()).empty()) {
    std::vector<std::string> reasons;
    for (const auto& f : response.value("failures", nlohmann::json::array()))
      reasons.push_back(f.value("reason", "?") + (f.contains("detail") ? " (" + f.value("detail", "") + ")" : ""));
    return failure(fmt::format("ECS RunTask started no task: {}", reasons.empty() ? "no task and no reason" : join(reasons, "; ")),
                   "nothing ran; the database is unchanged. Check the cluster's capacity and the service's network "
                   "configuration, then try again");
  }
  TaskOutcome outcome;
  outcome.task_arn = response["tasks"][0].value("taskArn", "");
  outcome.last_status = response["tasks"][0].value("lastStatus", "PROVISIONING");
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
    std::string status = task->value("lastStatus", "");
    if (!status.empty() && status != outcome.last_status) {
      outcome.last_status = status;
      out.clear_status();
      emit(fmt::format("task {}: {}", short_id(outcome.task_arn), status));
    }
    if (status != "STOPPED") continue;
    outcome.stop_code = task->value("stopCode", "");
    outcome.stopped_reason = task->value("stoppedReason", "");
    for (const auto& c : task->value("containers", nlohmann::json::array())) {
      if (c.value("name", "") != plan.container) continue;
      if (c.contains("exitCode") && c["exitCode"].is_number_integer()) outcome.exit_code = c["exitCode"].get<int>();
      outcome.container_reason = c.value("reason", "");
    }
    outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    out.clear_status();
    return outcome;
  }
}

}  // namespace rb::db
