// The ECS calls a rollback makes, behind an interface: the real one speaks to AWS (or the
// sandbox) through aws::EcsClient; unit tests substitute a fake.
#pragma once

#include <string>
#include <vector>

#include "ecs/model.hpp"
#include "util/result.hpp"

namespace rb::ecs {

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
};

}  // namespace rb::ecs
