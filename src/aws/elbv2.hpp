// A thin Elastic Load Balancing v2 client (Query protocol, XML replies): target groups, their
// attributes and their targets' health. Nothing about rollbacks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"
#include "util/result.hpp"

namespace rb::aws {

// The Query API version of ELBv2 (botocore data/elbv2/2015-12-01/service-2.json).
inline constexpr std::string_view kElbv2ApiVersion = "2015-12-01";
// The signing name and endpoint prefix (the model's endpointPrefix); the AWS_ENDPOINT_URL_*
// override follows the serviceId "Elastic Load Balancing v2".
inline constexpr std::string_view kElbv2SigningName = "elasticloadbalancing";
inline constexpr std::string_view kElbv2ServiceId = "elastic load balancing v2";

struct TargetHealthInfo {
  std::string id;            // an IP address (awsvpc tasks) or an instance id
  int port = 0;
  std::string state;         // initial | healthy | unhealthy | unhealthy.draining | unused | draining | unavailable
  std::string reason;        // Target.FailedHealthChecks, Target.DeregistrationInProgress, ...
  std::string description;
};

struct TargetGroupInfo {
  std::string arn, name;
  int health_check_interval_seconds = 0;  // 0 when absent
  int healthy_threshold = 0;              // 0 when absent
};

Result<std::vector<TargetHealthInfo>> parse_describe_target_health(const std::string& xml);
Result<std::vector<TargetGroupInfo>> parse_describe_target_groups(const std::string& xml);
// The value of `key` in a DescribeTargetGroupAttributes reply; nullopt when absent.
Result<std::optional<std::string>> parse_target_group_attribute(const std::string& xml, std::string_view key);

// DescribeTargetHealth(TargetGroupArn): every registered target.
Result<std::vector<TargetHealthInfo>> describe_target_health(AwsClient& client, const std::string& target_group_arn);
// DescribeTargetGroups(TargetGroupArns=[arn]): the one group.
Result<TargetGroupInfo> describe_target_group(AwsClient& client, const std::string& target_group_arn);
// deregistration_delay.timeout_seconds of the group, from DescribeTargetGroupAttributes.
Result<std::optional<int>> deregistration_delay_seconds(AwsClient& client, const std::string& target_group_arn);

}  // namespace rb::aws
