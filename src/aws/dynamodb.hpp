// A thin DynamoDB client (JSON 1.0) for single-item reads and conditional writes, in DynamoDB's
// attribute-value JSON ({"LockID": {"S": "bucket/key"}}).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"

namespace rb::aws {

// X-Amz-Target prefix of the DynamoDB API (botocore data/dynamodb/2012-08-10/service-2.json).
inline constexpr std::string_view kDynamoDbTargetPrefix = "DynamoDB_20120810";

// The optional parts of a write. A failed condition is an error tagged
// "ConditionalCheckFailedException".
struct DynamoDbWrite {
  std::string condition_expression{};                          // "attribute_not_exists(LockID)"
  nlohmann::json attribute_names = nlohmann::json::object();   // {"#d": "Digest"}
  nlohmann::json attribute_values = nlohmann::json::object();  // {":v": {"S": "..."}}
  std::string return_values{};                                 // "ALL_OLD", ...; empty: not sent
  // Whether a resend is safe. Default: only when there is no condition (a conditional write
  // resent after it succeeded would fail against itself); update_item: never by default.
  std::optional<bool> idempotent{};
};

class DynamoDbClient {
 public:
  explicit DynamoDbClient(AwsClient client) : client_(std::move(client)) {}

  // Any DynamoDB operation (CreateTable, DescribeTable, ...).
  Result<nlohmann::json> call(std::string_view operation, const nlohmann::json& input, CallOptions opts = {});

  // The response: {"Item": {...}} or {} when there is no such item.
  Result<nlohmann::json> get_item(const std::string& table, const nlohmann::json& key, bool consistent_read = true);
  Result<nlohmann::json> put_item(const std::string& table, const nlohmann::json& item, const DynamoDbWrite& write = {});
  Result<nlohmann::json> delete_item(const std::string& table, const nlohmann::json& key,
                                     const DynamoDbWrite& write = {});
  // `update_expression`: "SET #d = :v".
  Result<nlohmann::json> update_item(const std::string& table, const nlohmann::json& key,
                                     const std::string& update_expression, const DynamoDbWrite& write = {});

  AwsClient& client() { return client_; }

 private:
  AwsClient client_;
};

}  // namespace rb::aws
