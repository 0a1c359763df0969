#include "ecs/aws_gateway.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "aws/ecs.hpp"
#include "aws/http.hpp"
#include "util/log.hpp"

namespace rb::ecs {

namespace {

// Attempts per AWS call (first try included). The SDKs' standard mode makes 3; an emergency
// rollback should ride out a throttling storm a little longer (backoff caps at 1+2+4+8 s).
// AWS_MAX_ATTEMPTS, when set, still decides.
constexpr int kRollbackMaxAttempts = 5;

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
    auto r = ecs_.describe_services(cluster, {service});
    if (!r) {
      Error e = r.take_error();
      if (e.tag == "ClusterNotFoundException")
        return refusal(fmt::format("cluster {} does not exist in {} ({})", cluster, region_, endpoint_),
                       "check the environment's cluster (and region) in rollback.yaml");
      return e;
    }
    for (const auto& f : (*r)["failures"]) {
      std::string reason = f.value("reason", "");
      return refusal(fmt::format("service {} is {} in cluster {} ({})", service, reason == "MISSING" ? "missing" : reason,
                                 cluster, region_),
                     "check the environment's service and cluster in rollback.yaml (`rollback status` shows them)");
    }
    if ((*r)["services"].empty())
      return refusal(fmt::format("service {} was not found in cluster {}", service, cluster));
    return parse_service((*r)["services"][0]);
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

  Result<std::vector<StoppedTask>> stopped_tasks(const std::string& cluster, const std::string& service,
                                                 const std::string& deployment_id) override {
    aws::ListTasksFilter filter;
    filter.service_name = service;
    filter.desired_status = "STOPPED";
    RB_TRY_ASSIGN(auto arns, ecs_.list_tasks(cluster, filter));
    std::vector<StoppedTask> out;
    if (arns.empty()) return out;
    RB_TRY_ASSIGN(auto j, ecs_.describe_tasks(cluster, arns));
    for (const auto& t : j["tasks"]) {
      StoppedTask task = parse_task(t);
      if (deployment_id.empty() || task.started_by == deployment_id) out.push_back(std::move(task));
    }
    return out;
  }

 private:
  std::unique_ptr<aws::CurlTransport> transport_;
  std::string region_, endpoint_;
  aws::EcsClient ecs_;
};

}  // namespace

Result<std::unique_ptr<EcsGateway>> make_aws_gateway(const Config& config, const EnvironmentConfig& env, Clock& clock) {
  RB_TRY_ASSIGN(auto credentials, aws::resolve_credentials(env.aws_profile));
  RB_TRY_ASSIGN(auto region, aws::resolve_region(env.aws_profile, env.region.empty() ? config.region : env.region));
  aws::RetryPolicy retry;
  const char* env_attempts = getenv("AWS_MAX_ATTEMPTS");
  if (!env_attempts || !*env_attempts) retry.max_attempts = kRollbackMaxAttempts;
  auto client_config = aws::AwsClientConfig::for_service("ecs", region, std::move(credentials), retry);
  log_debug("ECS endpoint {} (region {})", client_config.endpoint, region);
  return std::unique_ptr<EcsGateway>(new AwsEcsGateway(std::move(client_config), clock));
}

std::chrono::milliseconds health_budget(std::chrono::milliseconds timeout, std::chrono::milliseconds elapsed) {
  constexpr std::chrono::milliseconds kMinimum{5000};
  auto left = timeout > elapsed ? timeout - elapsed : std::chrono::milliseconds(0);
  return std::min(kHealthTimeout, std::max(left, kMinimum));
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
