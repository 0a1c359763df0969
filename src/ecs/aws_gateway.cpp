#include "ecs/aws_gateway.hpp"

#include <algorithm>
#include <map>
#include <fmt/format.h>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "aws/ecs.hpp"
#include "aws/http.hpp"
#include "core/aws_env.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace rb::ecs {

namespace {

// The newest service deployments read for target choice: far more than the few a rollback looks
// back over, and a bounded number of Describe calls (20 ARNs each) however long the history.
constexpr size_t kMaxHistoryDeployments = 100;

Error bad_response(std::string_view operation, std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("ECS {} returned a malformed response: {}", operation, what),
               "check that the ECS endpoint (AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL) really is ECS", "bad-response"};
}

Error unsupported(std::string_view what, const Error& e) {
  return Error{ExitCode::Failed,
               fmt::format("ECS at this endpoint has no {} ({})", what, e.tag.empty() ? e.message : e.tag),
               "the service deployment APIs came to ECS in late 2024 and 2025", std::string(kTagUnsupportedApi)};
}

// Between health probes while the load balancer starts sending traffic to the new tasks.
constexpr auto kHealthProbeInterval = std::chrono::milliseconds(2000);

class AwsEcsGateway final : public EcsGateway {
 public:
  AwsEcsGateway(aws::AwsClientConfig config, Clock& clock)
      : transport_(std::make_unique<aws::CurlTransport>()),
        region_(config.region),
        endpoint_(config.endpoint),
        ecs_(aws::AwsClient(std::move(config), *transport_, clock)) {}

  Result<Service> describe_service(const std::string& cluster, const std::string& service) override {
    RB_TRY_ASSIGN(auto j, describe_service_json(cluster, service));
    return parse_service(j);
  }

  Result<nlohmann::json> describe_task_definition_json(const std::string& task_definition) override {
    RB_TRY_ASSIGN(auto j, ecs_.describe_task_definition(task_definition));
    auto it = j.find("taskDefinition");
    if (it == j.end() || !it->is_object())
      return bad_response("DescribeTaskDefinition", "no taskDefinition object");
    return *it;
  }

  Result<nlohmann::json> run_task(const nlohmann::json& request) override {
    RB_TRY_ASSIGN(auto j, ecs_.run_task(request));
    nlohmann::json out = {{"tasks", nlohmann::json::array()}, {"failures", nlohmann::json::array()}};
    for (const char* key : {"tasks", "failures"}) {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) continue;
      if (!it->is_array()) return bad_response("RunTask", fmt::format("'{}' is not a list", key));
      for (const auto& item : *it) {
        if (!item.is_object()) return bad_response("RunTask", fmt::format("an entry of '{}' is not an object", key));
        out[key].push_back(item);
      }
    }
    return out;
  }

  Result<nlohmann::json> describe_task(const std::string& cluster, const std::string& task_arn) override {
    RB_TRY_ASSIGN(auto j, ecs_.describe_tasks(cluster, {task_arn}));
    for (const auto& t : j["tasks"])
      if (t.is_object()) return t;
    std::string reason = "not found";
    for (const auto& f : j["failures"])
      if (auto r = json_string(f, "reason"); !r.empty()) reason = r;
    return failure(fmt::format("ECS DescribeTasks: task {} {}", task_arn, reason));
  }

  Result<nlohmann::json> describe_service_json(const std::string& cluster, const std::string& service) override {
    auto r = ecs_.describe_services(cluster, {service});
    if (!r) {
      Error e = r.take_error();
      if (e.tag == "ClusterNotFoundException")
        return refusal(fmt::format("cluster {} does not exist in {} ({})", cluster, region_, endpoint_),
                       "check the environment's cluster (and region) in rollback.yaml");
      return e;
    }
    for (const auto& f : (*r)["failures"]) {
      std::string reason = json_string(f, "reason");
      return refusal(fmt::format("service {} is {} in cluster {} ({})", service, reason == "MISSING" ? "missing" : reason,
                                 cluster, region_),
                     "check the environment's service and cluster in rollback.yaml (`rollback status` shows them)");
    }
    for (const auto& svc : (*r)["services"])
      if (svc.is_object()) return svc;
    return refusal(fmt::format("service {} was not found in cluster {}", service, cluster));
  }

  Result<std::vector<RevisionInfo>> list_revisions(const std::string& family) override {
    std::vector<RevisionInfo> out;
    for (const char* status : {"ACTIVE", "INACTIVE"}) {
      RB_TRY_ASSIGN(auto arns, ecs_.list_all_task_definition_arns(family, status));
      for (const auto& arn : arns) {
        auto ref = parse_task_def(arn);
        // familyPrefix matches other families that start with the same name: keep ours only.
        if (ref && ref->family == family) out.push_back({*ref, status});
      }
    }
    // Never rely on the server's order: the revision number says it.
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ref.revision > b.ref.revision; });
    return out;
  }

  Result<TaskDefinition> describe_task_definition(const std::string& task_definition) override {
    RB_TRY_ASSIGN(auto j, ecs_.describe_task_definition(task_definition));
    return parse_task_definition(j);
  }

  Status update_service(const std::string& cluster, const std::string& service, const std::string& arn) override {
    auto r = ecs_.update_service(cluster, service, arn, true);
    if (!r) return r.take_error();
    return {};
  }

  Result<std::vector<ServiceDeploymentInfo>> service_deployments(const std::string& cluster,
                                                                 const std::string& service) override {
    auto briefs = ecs_.list_service_deployments(cluster, service);
    if (!briefs) {
      if (is_unsupported_api(briefs.error())) return unsupported("ListServiceDeployments", briefs.error());
      return briefs.take_error();
    }
    auto time_of = [](const nlohmann::json& b) {
      double created = b.contains("createdAt") ? parse_timestamp(b["createdAt"]) : 0;
      return created != 0 ? created : (b.contains("startedAt") ? parse_timestamp(b["startedAt"]) : 0);
    };
    std::sort(briefs->begin(), briefs->end(), [&](const auto& a, const auto& b) { return time_of(a) > time_of(b); });
    if (briefs->size() > kMaxHistoryDeployments) briefs->resize(kMaxHistoryDeployments);
    std::vector<std::string> arns;
    for (const auto& b : *briefs)
      if (auto it = b.find("serviceDeploymentArn"); it != b.end() && it->is_string()) arns.push_back(*it);
    std::vector<ServiceDeploymentInfo> out;
    if (arns.empty()) return out;
    auto described = ecs_.describe_service_deployments(arns);
    if (!described) {
      if (is_unsupported_api(described.error())) return unsupported("DescribeServiceDeployments", described.error());
      return described.take_error();
    }
    for (const auto& j : (*described)["serviceDeployments"]) {
      RB_TRY_ASSIGN(auto d, parse_service_deployment(j));
      out.push_back(std::move(d));
    }
    RB_TRY(fill_task_definitions(out));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return (a.created_at ? a.created_at : a.started_at) > (b.created_at ? b.created_at : b.started_at);
    });
    return out;
  }

  Result<ServiceDeploymentInfo> describe_service_deployment(const std::string& arn) override {
    auto described = ecs_.describe_service_deployments({arn});
    if (!described) {
      if (is_unsupported_api(described.error())) return unsupported("DescribeServiceDeployments", described.error());
      return described.take_error();
    }
    for (const auto& j : (*described)["serviceDeployments"]) {
      RB_TRY_ASSIGN(auto d, parse_service_deployment(j));
      std::vector<ServiceDeploymentInfo> one{std::move(d)};
      RB_TRY(fill_task_definitions(one));
      return std::move(one.front());
    }
    return failure(fmt::format("ECS does not know the service deployment {}", arn),
                   "`rollback status` shows the service's deployments");
  }

  Status stop_service_deployment(const std::string& arn) override {
    auto r = ecs_.stop_service_deployment(arn, "ROLLBACK");
    if (!r) {
      if (is_unsupported_api(r.error())) return unsupported("StopServiceDeployment", r.error());
      return r.take_error();
    }
    return {};
  }

  Status continue_service_deployment(const std::string& arn, const std::string& hook_id,
                                     const std::string& action) override {
    auto r = ecs_.continue_service_deployment(arn, hook_id, action);
    if (!r) {
      if (is_unsupported_api(r.error())) return unsupported("ContinueServiceDeployment", r.error());
      return r.take_error();
    }
    return {};
  }

  Result<std::vector<StoppedTask>> running_tasks(const std::string& cluster, const std::string& service) override {
    return service_tasks(cluster, service, "RUNNING");
  }

  Result<std::vector<StoppedTask>> stopped_tasks(const std::string& cluster, const std::string& service,
                                                 const std::string& deployment_id) override {
    RB_TRY_ASSIGN(auto tasks, service_tasks(cluster, service, "STOPPED"));
    if (deployment_id.empty()) return tasks;
    std::vector<StoppedTask> out;
    for (auto& t : tasks)
      if (t.started_by == deployment_id) out.push_back(std::move(t));
    return out;
  }

 private:
  // The service's tasks with that desired status (ListTasks, then DescribeTasks), parsed.
  Result<std::vector<StoppedTask>> service_tasks(const std::string& cluster, const std::string& service,
                                                 const char* desired_status) {
    aws::ListTasksFilter filter;
    filter.service_name = service;
    filter.desired_status = desired_status;
    RB_TRY_ASSIGN(auto arns, ecs_.list_tasks(cluster, filter));
    std::vector<StoppedTask> out;
    if (arns.empty()) return out;
    RB_TRY_ASSIGN(auto j, ecs_.describe_tasks(cluster, arns));
    for (const auto& t : j["tasks"]) out.push_back(parse_task(t));
    return out;
  }

  // Fills target/source/rollback task definitions from DescribeServiceRevisions.
  Status fill_task_definitions(std::vector<ServiceDeploymentInfo>& deployments) {
    std::vector<std::string> arns;
    for (const auto& d : deployments) {
      for (const auto* a : {&d.target_revision_arn, &d.rollback_revision_arn})
        if (!a->empty()) arns.push_back(*a);
      for (const auto& a : d.source_revision_arns) arns.push_back(a);
    }
    std::sort(arns.begin(), arns.end());
    arns.erase(std::unique(arns.begin(), arns.end()), arns.end());
    if (arns.empty()) return {};
    auto r = ecs_.describe_service_revisions(arns);
    if (!r) {
      if (is_unsupported_api(r.error())) return unsupported("DescribeServiceRevisions", r.error());
      return r.take_error();
    }
    std::map<std::string, std::string> task_definition_of;
    for (const auto& rev : (*r)["serviceRevisions"]) {
      if (!rev.is_object()) continue;
      auto a = rev.find("serviceRevisionArn");
      auto t = rev.find("taskDefinition");
      if (a != rev.end() && a->is_string() && t != rev.end() && t->is_string()) task_definition_of[*a] = *t;
    }
    auto lookup = [&](const std::string& arn) {
      auto it = task_definition_of.find(arn);
      return it == task_definition_of.end() ? std::string() : it->second;
    };
    for (auto& d : deployments) {
      d.target_task_definition = lookup(d.target_revision_arn);
      d.rollback_task_definition = lookup(d.rollback_revision_arn);
      d.source_task_definitions.clear();
      for (const auto& a : d.source_revision_arns)
        if (auto td = lookup(a); !td.empty()) d.source_task_definitions.push_back(td);
    }
    return {};
  }

  std::unique_ptr<aws::CurlTransport> transport_;
  std::string region_, endpoint_;
  aws::EcsClient ecs_;
};

}  // namespace

bool is_unsupported_api(const Error& e) {
  return e.tag == kTagUnsupportedApi || e.tag == "UnknownOperationException" || e.tag == "UnknownOperation" ||
         e.tag == "InvalidAction" || e.tag == "UnsupportedOperation";
}

Result<std::vector<ServiceDeploymentInfo>> EcsGateway::service_deployments(const std::string&, const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway has no service deployment history", {}, std::string(kTagUnsupportedApi)};
}
Result<ServiceDeploymentInfo> EcsGateway::describe_service_deployment(const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway has no DescribeServiceDeployments", {}, std::string(kTagUnsupportedApi)};
}
Status EcsGateway::stop_service_deployment(const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway has no StopServiceDeployment", {}, std::string(kTagUnsupportedApi)};
}
Status EcsGateway::continue_service_deployment(const std::string&, const std::string&, const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway has no ContinueServiceDeployment", {}, std::string(kTagUnsupportedApi)};
}

Result<std::vector<StoppedTask>> EcsGateway::running_tasks(const std::string&, const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway does not list running tasks", {}, std::string(kTagUnsupportedApi)};
}
Result<nlohmann::json> EcsGateway::describe_service_json(const std::string&, const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway has no raw DescribeServices", {}, std::string(kTagUnsupportedApi)};
}
Result<nlohmann::json> EcsGateway::describe_task_definition_json(const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway has no raw DescribeTaskDefinition", {}, std::string(kTagUnsupportedApi)};
}
Result<nlohmann::json> EcsGateway::run_task(const nlohmann::json&) {
  return Error{ExitCode::Failed, "this ECS gateway has no RunTask", {}, std::string(kTagUnsupportedApi)};
}
Result<nlohmann::json> EcsGateway::describe_task(const std::string&, const std::string&) {
  return Error{ExitCode::Failed, "this ECS gateway has no DescribeTasks", {}, std::string(kTagUnsupportedApi)};
}

Result<std::unique_ptr<EcsGateway>> make_aws_gateway(const Config& config, const EnvironmentConfig& env, Clock& clock) {
  RB_TRY_ASSIGN(auto aws_env, environment_aws(config, env));
  auto& credentials = aws_env.credentials;
  const std::string& region = aws_env.region;
  auto client_config = aws::AwsClientConfig::for_service("ecs", region, std::move(credentials), aws::default_retry_policy());
  log_debug("ECS endpoint {} (region {})", client_config.endpoint, region);
  return std::unique_ptr<EcsGateway>(new AwsEcsGateway(std::move(client_config), clock));
}

std::chrono::milliseconds health_budget(std::chrono::milliseconds timeout, std::chrono::milliseconds elapsed) {
  constexpr std::chrono::milliseconds kMinimum{5000};
  auto left = timeout > elapsed ? timeout - elapsed : std::chrono::milliseconds(0);
  return std::min(kHealthTimeout, std::max(left, kMinimum));
}

HealthAnswer probe_health_once(const std::string& url) {
  aws::CurlTransport transport(kProbeConnectTimeout, kProbeRequestTimeout);
  auto r = transport.send(aws::HttpRequest{"GET", url, {}, {}});
  if (!r) return {false, std::nullopt, r.error().message};
  return {r->status >= 200 && r->status < 300, r->status, fmt::format("HTTP {}", r->status)};
}

Status check_health(const std::string& url, Clock& clock, std::chrono::milliseconds timeout,
                    const std::function<void(const std::string&)>& emit) {
  aws::CurlTransport transport;
  auto start = clock.now();
  std::string last;
  for (int attempt = 1;; ++attempt) {
    auto r = transport.send(aws::HttpRequest{"GET", url, {}, {}});
    if (r && r->status >= 200 && r->status < 300) {
      emit(fmt::format("health check: {} answered HTTP {}", url, r->status));
      return {};
    }
    last = r ? fmt::format("HTTP {}", r->status) : r.error().message;
    if (attempt == 1) emit(fmt::format("health check: {} answered {}; trying again for up to {}s", url, last,
                                       std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
    if (clock.now() - start >= timeout)
      return failure(fmt::format("ECS is steady but the health check failed: {} answered {} for {}s", url, last,
                                 std::chrono::duration_cast<std::chrono::seconds>(timeout).count()),
                     "the target revision may be bad too: check the service's logs, and `rollback status`");
    if (!clock.sleep_for(kHealthProbeInterval)) return interrupted_error("interrupted during the health check");
  }
}

}  // namespace rb::ecs
