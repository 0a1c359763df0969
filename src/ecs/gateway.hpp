// The ECS calls a rollback makes, behind an interface: the real one speaks to AWS (or the
// sandbox) through aws::EcsClient; unit tests substitute a fake.
#pragma once

#include <string>
#include <vector>

#include "ecs/model.hpp"
#include "util/result.hpp"

namespace rb::ecs {

// The tag of an error saying that this ECS (or endpoint) has no such API: the service
// deployment calls came in late 2024 / 2025 and are missing from older endpoints and emulators.
inline constexpr std::string_view kTagUnsupportedApi = "unsupported-api";

// Whether an AWS error means "this operation does not exist here" (UnknownOperationException,
// InvalidAction, ...), as opposed to a refusal of this particular request.
bool is_unsupported_api(const Error& e);

class EcsGateway {
 public:
  virtual ~EcsGateway() = default;
  // The service, or an error (code Refused) naming the missing cluster or service.
  virtual Result<Service> describe_service(const std::string& cluster, const std::string& service) = 0;
  // Every revision of the family, ACTIVE and INACTIVE, newest first (by revision number).
  virtual Result<std::vector<RevisionInfo>> list_revisions(const std::string& family) = 0;
  virtual Result<TaskDefinition> describe_task_definition(const std::string& task_definition) = 0;
  // One UpdateService(taskDefinition, forceNewDeployment=true), never retried after an
  // ambiguous failure: such an error carries tag "ambiguous" and the caller decides.
  virtual Status update_service(const std::string& cluster, const std::string& service,
                                const std::string& task_definition_arn) = 0;
  // Stopped tasks started by a deployment (startedBy = deployment id), newest first.
  virtual Result<std::vector<StoppedTask>> stopped_tasks(const std::string& cluster, const std::string& service,
                                                         const std::string& deployment_id) = 0;

  // The service's tasks that ECS keeps running (desiredStatus RUNNING), with their private IPs:
  // the verification gate tells the target revision's targets from the old ones by them.
  virtual Result<std::vector<StoppedTask>> running_tasks(const std::string& cluster, const std::string& service);

  // ECS's service deployment history (ListServiceDeployments, DescribeServiceDeployments,
  // DescribeServiceRevisions), newest first by creation time, each with the task definitions of
  // its revisions. Where the API is missing: an error tagged kTagUnsupportedApi.
  virtual Result<std::vector<ServiceDeploymentInfo>> service_deployments(const std::string& cluster,
                                                                         const std::string& service);
  // One service deployment, read again (to follow a rollback that ECS runs).
  virtual Result<ServiceDeploymentInfo> describe_service_deployment(const std::string& arn);
  // StopServiceDeployment(stopType=ROLLBACK): ECS returns the in-flight deployment to the source
  // revision. Sent once; an ambiguous failure carries tag "ambiguous" and the caller reads.
  virtual Status stop_service_deployment(const std::string& arn);
  // ContinueServiceDeployment(hookId, action): `action` CONTINUE or ROLLBACK.
  virtual Status continue_service_deployment(const std::string& arn, const std::string& hook_id,
                                             const std::string& action);

  // For one-off tasks (`db --via ecs-task`), the same client and retry policy as the rollback.
  // The service object of DescribeServices as ECS sent it (an object), or the same refusals as
  // describe_service.
  virtual Result<nlohmann::json> describe_service_json(const std::string& cluster, const std::string& service);
  // The taskDefinition object of DescribeTaskDefinition; an error when the reply has none.
  virtual Result<nlohmann::json> describe_task_definition_json(const std::string& task_definition);
  // RunTask (a clientToken makes a resend safe): {"tasks": [objects], "failures": [objects]},
  // both always arrays of objects; a reply of another shape is an error.
  virtual Result<nlohmann::json> run_task(const nlohmann::json& request);
  // The task object of DescribeTasks, or an error naming ECS's failure reason.
  virtual Result<nlohmann::json> describe_task(const std::string& cluster, const std::string& task_arn);
};

}  // namespace rb::ecs
