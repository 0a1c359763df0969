// A thin ECS client: one method per API call the rollback layers use, JSON in and out (the ecs
// layer interprets the responses). Paging and the per-call batch limits are handled here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"

namespace rb::aws {

// X-Amz-Target prefix of the ECS JSON 1.1 API (botocore data/ecs/2014-11-13/service-2.json).
inline constexpr std::string_view kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113";
// API limits (ECS API reference): ListTaskDefinitions maxResults, DescribeServices services,
// DescribeTasks tasks.
inline constexpr int kEcsMaxListResults = 100;
inline constexpr size_t kEcsDescribeServicesBatch = 10;
inline constexpr size_t kEcsDescribeTasksBatch = 100;
// DescribeServiceDeployments and DescribeServiceRevisions take at most 20 ARNs per call
// (botocore's ECS model documentation of serviceDeploymentArns / serviceRevisionArns).
inline constexpr size_t kEcsDescribeServiceDeploymentsBatch = 20;
// ListServiceDeployments maxResults: at most 100 (ECS API reference; the default is 20).
inline constexpr int kEcsMaxServiceDeploymentResults = 100;

struct ListTasksFilter {
  std::string service_name{};    // serviceName
  std::string family{};          // family
  std::string desired_status{};  // "RUNNING" (ECS default), "STOPPED", "PENDING"; empty: not sent
  std::string started_by{};      // startedBy
};

class EcsClient {
 public:
  explicit EcsClient(AwsClient client) : client_(std::move(client)) {}

  // Any ECS operation, for calls without a dedicated method (RegisterTaskDefinition, ...).
  Result<nlohmann::json> call(std::string_view operation, const nlohmann::json& input, CallOptions opts = {});

  // One page of ListTaskDefinitions. `status` "ACTIVE"/"INACTIVE", `sort` "ASC"/"DESC"; empty
  // strings and max_results 0 are not sent.
  Result<nlohmann::json> list_task_definitions(const std::string& family, const std::string& status = "ACTIVE",
                                               const std::string& sort = "ASC", int max_results = kEcsMaxListResults,
                                               const std::string& next_token = {});
  // Every task definition ARN of the family with that status, following nextToken to the end,
  // in the order the server returns them (callers order by revision themselves).
  Result<std::vector<std::string>> list_all_task_definition_arns(const std::string& family,
                                                                 const std::string& status = "ACTIVE");
  // `task_definition`: family, family:revision or ARN. Returns the whole response
  // ({"taskDefinition": {...}, "tags": [...]}).
  Result<nlohmann::json> describe_task_definition(const std::string& task_definition);
  // Batches of 10; returns {"services": [...], "failures": [...]} merged. A missing service is a
  // failure entry with reason "MISSING", not an error.
  Result<nlohmann::json> describe_services(const std::string& cluster, const std::vector<std::string>& services);
  // Not idempotent by default: with force_new_deployment a resend starts another deployment.
  Result<nlohmann::json> update_service(const std::string& cluster, const std::string& service,
                                        const std::string& task_definition, bool force_new_deployment,
                                        CallOptions opts = CallOptions{.idempotent = false});
  // Every task ARN matching the filter, following nextToken.
  Result<std::vector<std::string>> list_tasks(const std::string& cluster, const ListTasksFilter& filter);
  // Batches of 100; returns {"tasks": [...], "failures": [...]} merged.
  Result<nlohmann::json> describe_tasks(const std::string& cluster, const std::vector<std::string>& task_arns);
  // Every ListServiceDeployments brief of the service, following nextToken, in the server's
  // order (undocumented: callers sort by time themselves).
  Result<std::vector<nlohmann::json>> list_service_deployments(const std::string& cluster, const std::string& service);
  // Batches of 20; returns {"serviceDeployments": [...], "failures": [...]} merged.
  Result<nlohmann::json> describe_service_deployments(const std::vector<std::string>& arns);
  // Batches of 20; returns {"serviceRevisions": [...], "failures": [...]} merged.
  Result<nlohmann::json> describe_service_revisions(const std::vector<std::string>& arns);
  // StopServiceDeployment(stopType ROLLBACK | ABORT). Not resent after an ambiguous failure:
  // the caller reads the deployment's status instead.
  Result<nlohmann::json> stop_service_deployment(const std::string& arn, const std::string& stop_type);
  // ContinueServiceDeployment(hookId, action CONTINUE | ROLLBACK) on a deployment paused at a hook.
  Result<nlohmann::json> continue_service_deployment(const std::string& arn, const std::string& hook_id,
                                                     const std::string& action);
  // RunTask with `input` as the request. A clientToken is added when absent so that ECS
  // deduplicates a resend, which makes retrying safe.
  Result<nlohmann::json> run_task(nlohmann::json input, CallOptions opts = {});

  AwsClient& client() { return client_; }

 private:
  AwsClient client_;
};

}  // namespace rb::aws
