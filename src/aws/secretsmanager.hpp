// A thin Secrets Manager client (JSON 1.1; botocore data/secretsmanager/2017-10-17): whether a
// secret exists, is scheduled for deletion, and when it last changed. Read-only, and it never
// reads a secret's value (there is no GetSecretValue here on purpose: diagnose must not be able
// to print one).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "util/result.hpp"

namespace rb::aws {

inline constexpr std::string_view kSecretsManagerTargetPrefix = "secretsmanager";
// The error code of a secret that does not exist (or was deleted for good).
inline constexpr std::string_view kSecretNotFound = "ResourceNotFoundException";

// DescribeSecret's metadata: names and dates only (the reply has no value).
struct SecretDescription {
  std::string arn, name;
  // Seconds since the epoch; 0 when absent. deleted_at: DeletedDate, set while the secret is
  // scheduled for deletion (within its recovery window).
  double created_at = 0, last_changed_at = 0, deleted_at = 0;
};

// DescribeSecret's reply (pure; exposed for tests). Fields of another type than the model's
// (null, strings) are read as absent, never thrown on.
SecretDescription parse_secret_description(const nlohmann::json& reply);

// The Secrets Manager client config for `region`: endpoint from AWS_ENDPOINT_URL_SECRETS_MANAGER
// (the service id "Secrets Manager", as the AWS CLI names it) or AWS_ENDPOINT_URL.
AwsClientConfig secretsmanager_config(const std::string& region, Credentials credentials, RetryPolicy retry = {});

// DescribeSecret(SecretId = a name or ARN); a missing secret is an error tagged kSecretNotFound.
Result<SecretDescription> describe_secret(AwsClient& client, const std::string& secret_id);

}  // namespace rb::aws
