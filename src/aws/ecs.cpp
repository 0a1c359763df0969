#include "aws/ecs.hpp"

#include <fmt/format.h>

#include <set>

#include "util/hash.hpp"

namespace rb::aws {

namespace {

// A paging loop that never ends means a server bug; stop well past any real listing
// (100 results per page).
constexpr int kMaxPages = 1000;

Error paging_error(std::string_view operation, std::string_view why) {
  return Error{ExitCode::Failed, fmt::format("ECS {} paging stopped: {}", operation, why),
               "report this; the server returned a nextToken that does not progress", "bad-response"};
}

void append_array(nlohmann::json& into, const nlohmann::json& from, const char* key) {
  if (!into.contains(key)) into[key] = nlohmann::json::array();
  if (auto it = from.find(key); it != from.end() && it->is_array())
    for (const auto& item : *it) into[key].push_back(item);
}

std::string next_token_of(const nlohmann::json& page) {
  auto it = page.find("nextToken");
  return it != page.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<nlohmann::json> EcsClient::call(std::string_view operation, const nlohmann::json& input, CallOptions opts) {
  RB_TRY_ASSIGN(auto response, client_.json_call(kEcsTargetPrefix, operation, input, opts));
  // Every ECS response is a JSON object; anything else (an array, a string from a proxy) would
  // make callers' field reads meaningless, so it is an error here, once for all of them.
  if (!response.is_object())
    return Error{ExitCode::Failed, fmt::format("ECS {} returned a response that is not a JSON object", operation),
                 "check that the ECS endpoint (AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL) really is ECS", "bad-response"};
  return response;
}

Result<nlohmann::json> EcsClient::list_task_definitions(const std::string& family, const std::string& status,
                                                        const std::string& sort, int max_results,
                                                        const std::string& next_token) {
  nlohmann::json input = nlohmann::json::object();
  if (!family.empty()) input["familyPrefix"] = family;
  if (!status.empty()) input["status"] = status;
  if (!sort.empty()) input["sort"] = sort;
  if (max_results > 0) input["maxResults"] = max_results;
  if (!next_token.empty()) input["nextToken"] = next_token;
  return call("ListTaskDefinitions", input);
}

Result<std::vector<std::string>> EcsClient::list_all_task_definition_arns(const std::string& family,
                                                                          const std::string& status) {
  std::vector<std::string> arns;
  std::string token;
  std::set<std::string> seen_tokens;
  for (int page = 0; page < kMaxPages; ++page) {
    RB_TRY_ASSIGN(auto response, list_task_definitions(family, status, "ASC", kEcsMaxListResults, token));
    if (auto it = response.find("taskDefinitionArns"); it != response.end() && it->is_array())
      for (const auto& arn : *it)
        if (arn.is_string()) arns.push_back(arn.get<std::string>());
    token = next_token_of(response);
    if (token.empty()) return arns;
    if (!seen_tokens.insert(token).second) return paging_error("ListTaskDefinitions", "a nextToken came back twice");
  }
  return paging_error("ListTaskDefinitions", fmt::format("more than {} pages", kMaxPages));
}

Result<nlohmann::json> EcsClient::describe_task_definition(const std::string& task_definition) {
  return call("DescribeTaskDefinition", {{"taskDefinition", task_definition}, {"include", nlohmann::json::array({"TAGS"})}});
}

Result<nlohmann::json> EcsClient::describe_services(const std::string& cluster,
                                                    const std::vector<std::string>& services) {
  nlohmann::json merged = {{"services", nlohmann::json::array()}, {"failures", nlohmann::json::array()}};
  for (size_t i = 0; i < services.size(); i += kEcsDescribeServicesBatch) {
    std::vector<std::string> batch(services.begin() + static_cast<std::ptrdiff_t>(i),
                                   services.begin() + static_cast<std::ptrdiff_t>(std::min(services.size(), i + kEcsDescribeServicesBatch)));
    nlohmann::json input = {{"services", batch}};
    if (!cluster.empty()) input["cluster"] = cluster;
    RB_TRY_ASSIGN(auto response, call("DescribeServices", input));
    append_array(merged, response, "services");
    append_array(merged, response, "failures");
  }
  return merged;
}

Result<nlohmann::json> EcsClient::update_service(const std::string& cluster, const std::string& service,
                                                 const std::string& task_definition, bool force_new_deployment,
                                                 CallOptions opts) {
  nlohmann::json input = {{"service", service}, {"forceNewDeployment", force_new_deployment}};
  if (!cluster.empty()) input["cluster"] = cluster;
  if (!task_definition.empty()) input["taskDefinition"] = task_definition;
  return call("UpdateService", input, opts);
}

Result<std::vector<std::string>> EcsClient::list_tasks(const std::string& cluster, const ListTasksFilter& filter) {
  std::vector<std::string> arns;
  std::string token;
  std::set<std::string> seen_tokens;
  for (int page = 0; page < kMaxPages; ++page) {
    nlohmann::json input = {{"maxResults", kEcsMaxListResults}};
    if (!cluster.empty()) input["cluster"] = cluster;
    if (!filter.service_name.empty()) input["serviceName"] = filter.service_name;
    if (!filter.family.empty()) input["family"] = filter.family;
    if (!filter.desired_status.empty()) input["desiredStatus"] = filter.desired_status;
    if (!filter.started_by.empty()) input["startedBy"] = filter.started_by;
    if (!token.empty()) input["nextToken"] = token;
    RB_TRY_ASSIGN(auto response, call("ListTasks", input));
    if (auto it = response.find("taskArns"); it != response.end() && it->is_array())
      for (const auto& arn : *it)
        if (arn.is_string()) arns.push_back(arn.get<std::string>());
    token = next_token_of(response);
    if (token.empty()) return arns;
    if (!seen_tokens.insert(token).second) return paging_error("ListTasks", "a nextToken came back twice");
  }
  return paging_error("ListTasks", fmt::format("more than {} pages", kMaxPages));
}

Result<nlohmann::json> EcsClient::describe_tasks(const std::string& cluster, const std::vector<std::string>& task_arns) {
  nlohmann::json merged = {{"tasks", nlohmann::json::array()}, {"failures", nlohmann::json::array()}};
  for (size_t i = 0; i < task_arns.size(); i += kEcsDescribeTasksBatch) {
    std::vector<std::string> batch(task_arns.begin() + static_cast<std::ptrdiff_t>(i),
                                   task_arns.begin() + static_cast<std::ptrdiff_t>(std::min(task_arns.size(), i + kEcsDescribeTasksBatch)));
    nlohmann::json input = {{"tasks", batch}};
    if (!cluster.empty()) input["cluster"] = cluster;
    RB_TRY_ASSIGN(auto response, call("DescribeTasks", input));
    append_array(merged, response, "tasks");
    append_array(merged, response, "failures");
  }
  return merged;
}

Result<std::vector<nlohmann::json>> EcsClient::list_service_deployments(const std::string& cluster,
                                                                       const std::string& service) {
  std::vector<nlohmann::json> out;
  std::string token;
  std::set<std::string> seen_tokens;
  for (int page = 0; page < kMaxPages; ++page) {
    nlohmann::json input = {{"service", service}, {"maxResults", kEcsMaxServiceDeploymentResults}};
    if (!cluster.empty()) input["cluster"] = cluster;
    if (!token.empty()) input["nextToken"] = token;
    RB_TRY_ASSIGN(auto response, call("ListServiceDeployments", input));
    if (auto it = response.find("serviceDeployments"); it != response.end() && it->is_array())
      for (const auto& brief : *it)
        if (brief.is_object()) out.push_back(brief);
    token = next_token_of(response);
    if (token.empty()) return out;
    if (!seen_tokens.insert(token).second) return paging_error("ListServiceDeployments", "a nextToken came back twice");
  }
  return paging_error("ListServiceDeployments", fmt::format("more than {} pages", kMaxPages));
}

namespace {

Result<nlohmann::json> describe_in_batches(EcsClient& ecs, std::string_view operation, const char* input_key,
                                           const char* output_key, const std::vector<std::string>& arns) {
  nlohmann::json merged = {{output_key, nlohmann::json::array()}, {"failures", nlohmann::json::array()}};
  for (size_t i = 0; i < arns.size(); i += kEcsDescribeServiceDeploymentsBatch) {
    std::vector<std::string> batch(arns.begin() + static_cast<std::ptrdiff_t>(i),
                                   arns.begin() + static_cast<std::ptrdiff_t>(
                                                      std::min(arns.size(), i + kEcsDescribeServiceDeploymentsBatch)));
    RB_TRY_ASSIGN(auto response, ecs.call(operation, {{input_key, batch}}));
    append_array(merged, response, output_key);
    append_array(merged, response, "failures");
  }
  return merged;
}

}  // namespace

Result<nlohmann::json> EcsClient::describe_service_deployments(const std::vector<std::string>& arns) {
  return describe_in_batches(*this, "DescribeServiceDeployments", "serviceDeploymentArns", "serviceDeployments", arns);
}

Result<nlohmann::json> EcsClient::describe_service_revisions(const std::vector<std::string>& arns) {
  return describe_in_batches(*this, "DescribeServiceRevisions", "serviceRevisionArns", "serviceRevisions", arns);
}

Result<nlohmann::json> EcsClient::stop_service_deployment(const std::string& arn, const std::string& stop_type) {
  return call("StopServiceDeployment", {{"serviceDeploymentArn", arn}, {"stopType", stop_type}},
              CallOptions{.idempotent = false});
}

Result<nlohmann::json> EcsClient::continue_service_deployment(const std::string& arn, const std::string& hook_id,
                                                              const std::string& action) {
  return call("ContinueServiceDeployment", {{"serviceDeploymentArn", arn}, {"hookId", hook_id}, {"action", action}},
              CallOptions{.idempotent = false});
}

Result<nlohmann::json> EcsClient::run_task(nlohmann::json input, CallOptions opts) {
  if (!input.is_object()) input = nlohmann::json::object();
  // ECS accepts up to 64 ASCII characters; 32 hex digits of randomness.
  if (!input.contains("clientToken")) input["clientToken"] = random_hex(16);
  return call("RunTask", input, opts);
}

}  // namespace rb::aws
