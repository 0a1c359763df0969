#include "aws/secretsmanager.hpp"

#include "aws/endpoint.hpp"
#include "util/json.hpp"

namespace rb::aws {

namespace {

double seconds_of(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

}  // namespace

SecretDescription parse_secret_description(const nlohmann::json& reply) {
  SecretDescription s;
  s.arn = json_string(reply, "ARN");
  s.name = json_string(reply, "Name");
  s.created_at = seconds_of(reply, "CreatedDate");
  s.last_changed_at = seconds_of(reply, "LastChangedDate");
  s.deleted_at = seconds_of(reply, "DeletedDate");
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
