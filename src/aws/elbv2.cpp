#include "aws/elbv2.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include "util/strings.hpp"

namespace rb::aws {

namespace {

Error bad_reply(std::string_view operation, std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("ELBv2 {} returned a reply without {}", operation, what),
               "check that the ELBv2 endpoint (AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 / AWS_ENDPOINT_URL) "
               "really is Elastic Load Balancing",
               "bad-response"};
}

std::string text_of(const pugi::xml_node& parent, const char* name) { return trim(parent.child_value(name)); }

// A small non-negative integer element; 0 when absent or not a number.
int int_of(const pugi::xml_node& parent, const char* name) {
  auto v = parse_decimal(text_of(parent, name), 0, 1'000'000, name);
  return v ? static_cast<int>(*v) : 0;
}

}  // namespace

Result<std::vector<TargetHealthInfo>> parse_describe_target_health(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("DescribeTargetHealth", "valid XML");
  pugi::xml_node result = doc.select_node("//DescribeTargetHealthResult").node();
  if (!result) return bad_reply("DescribeTargetHealth", "a DescribeTargetHealthResult");
  std::vector<TargetHealthInfo> out;
  for (pugi::xml_node m : result.child("TargetHealthDescriptions").children("member")) {
    pugi::xml_node target = m.child("Target"), health = m.child("TargetHealth");
    TargetHealthInfo t{text_of(target, "Id"), int_of(target, "Port"), text_of(health, "State"),
                       text_of(health, "Reason"), text_of(health, "Description")};
    if (t.id.empty() || t.state.empty()) return bad_reply("DescribeTargetHealth", "a target Id and State");
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<TargetGroupInfo>> parse_describe_target_groups(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("DescribeTargetGroups", "valid XML");
  pugi::xml_node result = doc.select_node("//DescribeTargetGroupsResult").node();
  if (!result) return bad_reply("DescribeTargetGroups", "a DescribeTargetGroupsResult");
  std::vector<TargetGroupInfo> out;
  for (pugi::xml_node m : result.child("TargetGroups").children("member"))
    out.push_back({text_of(m, "TargetGroupArn"), text_of(m, "TargetGroupName"), int_of(m, "HealthCheckIntervalSeconds"),
                   int_of(m, "HealthyThresholdCount")});
  return out;
}

Result<std::optional<std::string>> parse_target_group_attribute(const std::string& xml, std::string_view key) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("DescribeTargetGroupAttributes", "valid XML");
  pugi::xml_node result = doc.select_node("//DescribeTargetGroupAttributesResult").node();
  if (!result) return bad_reply("DescribeTargetGroupAttributes", "a DescribeTargetGroupAttributesResult");
  for (pugi::xml_node m : result.child("Attributes").children("member"))
    if (text_of(m, "Key") == key) return std::optional<std::string>(text_of(m, "Value"));
  return std::optional<std::string>();
}

Result<std::vector<TargetHealthInfo>> describe_target_health(AwsClient& client, const std::string& target_group_arn) {
  RB_TRY_ASSIGN(std::string body,
                client.query_call("DescribeTargetHealth", kElbv2ApiVersion, {{"TargetGroupArn", target_group_arn}}));
  return parse_describe_target_health(body);
}

Result<TargetGroupInfo> describe_target_group(AwsClient& client, const std::string& target_group_arn) {
  RB_TRY_ASSIGN(std::string body, client.query_call("DescribeTargetGroups", kElbv2ApiVersion,
                                                    {{"TargetGroupArns.member.1", target_group_arn}}));
  RB_TRY_ASSIGN(auto groups, parse_describe_target_groups(body));
  for (auto& g : groups)
    if (g.arn == target_group_arn) return std::move(g);
  return failure(fmt::format("ELBv2 DescribeTargetGroups does not know target group {}", target_group_arn),
                 "check the service's loadBalancers (`aws ecs describe-services`)");
}

Result<std::optional<int>> deregistration_delay_seconds(AwsClient& client, const std::string& target_group_arn) {
  RB_TRY_ASSIGN(std::string body, client.query_call("DescribeTargetGroupAttributes", kElbv2ApiVersion,
                                                    {{"TargetGroupArn", target_group_arn}}));
  RB_TRY_ASSIGN(auto value, parse_target_group_attribute(body, "deregistration_delay.timeout_seconds"));
  if (!value) return std::optional<int>();
  auto n = parse_decimal(*value, 0, 3600, "deregistration_delay.timeout_seconds");
  if (!n) return std::optional<int>();
  return std::optional<int>(static_cast<int>(*n));
}

}  // namespace rb::aws
