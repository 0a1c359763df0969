#include "aws/secretsmanager.hpp"

#include "aws/endpoint.hpp"
#include "util/json.hpp"

namespace rb::aws {

SecretDescription parse_secret_description(const nlohmann::json& reply) {
  SecretDescription s;
  s.arn = json_string(reply, "ARN");
  s.name = json_string(reply, "Name");
  s.created_at = json_number(reply, "CreatedDate");
  s.last_changed_at = json_number(reply, "LastChangedDate");
  s.deleted_at = json_number(reply, "DeletedDate");
  return s;
}

AwsClientConfig secretsmanager_config(const std::string& region, Credentials credentials, RetryPolicy retry) {
  auto config = AwsClientConfig::for_service("secretsmanager", region, std::move(credentials), std::move(retry));
  config.endpoint = endpoint_url("secrets manager", region, "secretsmanager");
  return config;
}

Result<SecretDescription> describe_secret(AwsClient& client, const std::string& secret_id) {
  RB_TRY_ASSIGN(auto reply, client.json_call(kSecretsManagerTargetPrefix, "DescribeSecret", {{"SecretId", secret_id}}));
  return parse_secret_description(reply);
}

}  // namespace rb::aws
