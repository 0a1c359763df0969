#include "aws/dynamodb.hpp"

namespace rb::aws {

namespace {

void add_write_options(nlohmann::json& input, const DynamoDbWrite& write) {
  if (!write.condition_expression.empty()) input["ConditionExpression"] = write.condition_expression;
  if (write.attribute_names.is_object() && !write.attribute_names.empty())
    input["ExpressionAttributeNames"] = write.attribute_names;
  if (write.attribute_values.is_object() && !write.attribute_values.empty())
    input["ExpressionAttributeValues"] = write.attribute_values;
  if (!write.return_values.empty()) input["ReturnValues"] = write.return_values;
}

CallOptions options_for(const DynamoDbWrite& write, bool default_idempotent) {
  return CallOptions{.idempotent = write.idempotent.value_or(default_idempotent && write.condition_expression.empty())};
}

}  // namespace

Result<nlohmann::json> DynamoDbClient::call(std::string_view operation, const nlohmann::json& input, CallOptions opts) {
  return client_.json_call(kDynamoDbTargetPrefix, operation, input, opts);
}

Result<nlohmann::json> DynamoDbClient::get_item(const std::string& table, const nlohmann::json& key,
                                                bool consistent_read) {
  return call("GetItem", {{"TableName", table}, {"Key", key}, {"ConsistentRead", consistent_read}});
}

Result<nlohmann::json> DynamoDbClient::put_item(const std::string& table, const nlohmann::json& item,
                                                const DynamoDbWrite& write) {
  nlohmann::json input = {{"TableName", table}, {"Item", item}};
  add_write_options(input, write);
  return call("PutItem", input, options_for(write, true));
}

Result<nlohmann::json> DynamoDbClient::delete_item(const std::string& table, const nlohmann::json& key,
                                                   const DynamoDbWrite& write) {
  nlohmann::json input = {{"TableName", table}, {"Key", key}};
  add_write_options(input, write);
  return call("DeleteItem", input, options_for(write, true));
}

Result<nlohmann::json> DynamoDbClient::update_item(const std::string& table, const nlohmann::json& key,
                                                   const std::string& update_expression, const DynamoDbWrite& write) {
  nlohmann::json input = {{"TableName", table}, {"Key", key}, {"UpdateExpression", update_expression}};
  add_write_options(input, write);
  // "SET n = n + :one" is not safe to resend; callers that know better say so.
  return call("UpdateItem", input, options_for(write, false));
}

}  // namespace rb::aws
