// The storage interfaces of storage.hpp over the real AWS clients: the state bucket through
// aws::S3Client, Terraform's lock table through aws::DynamoDbClient. Plus the factory that builds
// both for an environment from rollback.yaml (credentials, region and endpoints resolved like the
// AWS CLI, as the ECS gateway does).
#pragma once

#include <memory>
#include <string>

#include "aws/dynamodb.hpp"
#include "aws/http.hpp"
#include "aws/s3.hpp"
#include "core/config.hpp"
#include "infra/s3_backend.hpp"
#include "infra/storage.hpp"
#include "util/clock.hpp"

namespace rb::infra {

// StateObjectStore over S3. Error tags are the S3 error codes ("NoSuchKey", "NoSuchVersion",
// "PreconditionFailed", "AccessDenied", ...), "ambiguous" when a conditional put may or may not
// have happened.
class S3StateObjectStore final : public StateObjectStore {
 public:
  explicit S3StateObjectStore(aws::S3Client client) : s3_(std::move(client)) {}

  Result<std::vector<S3ObjectVersion>> list_object_versions(const std::string& bucket, const std::string& prefix) override;
  Result<std::string> get_object(const std::string& bucket, const std::string& key, const std::string& version_id) override;
  Result<std::string> put_object(const std::string& bucket, const std::string& key, const std::string& body,
                                 bool if_none_match) override;
  Status delete_object(const std::string& bucket, const std::string& key) override;
  Result<std::string> bucket_versioning(const std::string& bucket) override;

 private:
  aws::S3Client s3_;
};

// LockTable over DynamoDB (hash key LockID, type S, like Terraform's lock table). A failed
// condition has tag "ConditionalCheckFailedException"; a missing table "ResourceNotFoundException".
class DynamoDbLockTable final : public LockTable {
 public:
  explicit DynamoDbLockTable(aws::DynamoDbClient client) : ddb_(std::move(client)) {}

  Status put_item(const std::string& table, const std::string& lock_id, const std::string& attribute,
                  const std::string& value, bool only_if_absent) override;
  Result<std::optional<std::string>> get_item(const std::string& table, const std::string& lock_id,
                                              const std::string& attribute) override;
  Status delete_item(const std::string& table, const std::string& lock_id) override;

 private:
  aws::DynamoDbClient ddb_;
};

// The S3 backend of one environment, ready to use: where its state lives and clients for it.
// Owns the HTTP transports (one per client: a transport is not thread-safe).
struct StateBackend {
  S3BackendConfig config;
  std::string workspace;
  StateLocation location;
  std::string region;
  std::string s3_endpoint;
  std::unique_ptr<aws::HttpTransport> s3_transport;
  std::unique_ptr<aws::HttpTransport> ddb_transport;
  std::unique_ptr<StateObjectStore> store;
  std::unique_ptr<LockTable> locks;  // null when the environment has no dynamodb_table

  // "s3://bucket/key"
  std::string url() const { return "s3://" + location.bucket + "/" + location.key; }
};

// The backend config of `env` (terraform.state in rollback.yaml) as the S3 backend sees it.
S3BackendConfig backend_config(const EnvironmentConfig& env);

// Resolves credentials (env.aws_profile), region (env.region, else config.region) and the S3 and
// DynamoDB endpoints (AWS_ENDPOINT_URL_S3 / _DYNAMODB / AWS_ENDPOINT_URL honoured), and the state
// location for the configured workspace. Usage errors for a backend configuration Terraform
// would reject. `clock` must outlive the result.
Result<StateBackend> make_state_backend(const Config& config, const EnvironmentConfig& env, Clock& clock);

}  // namespace rb::infra
