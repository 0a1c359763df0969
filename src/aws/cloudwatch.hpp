// A thin CloudWatch client (Query protocol, XML replies): the alarm states a verification gate
// reads. Nothing about rollbacks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"
#include "util/result.hpp"

namespace rb::aws {

// The Query API version of CloudWatch (botocore data/cloudwatch/2010-08-01/service-2.json).
inline constexpr std::string_view kCloudWatchApiVersion = "2010-08-01";
// The signing name and endpoint prefix of CloudWatch (the model's endpointPrefix): the API is
// served by monitoring.<region>.amazonaws.com. Its AWS_ENDPOINT_URL_* override is
// AWS_ENDPOINT_URL_CLOUDWATCH (the model's serviceId).
inline constexpr std::string_view kCloudWatchSigningName = "monitoring";
inline constexpr std::string_view kCloudWatchServiceId = "cloudwatch";
// DescribeAlarms takes at most 100 AlarmNames per call (the model's AlarmNames: max 100).
inline constexpr size_t kDescribeAlarmsBatch = 100;

struct AlarmState {
  std::string name;
  std::string state;   // OK | ALARM | INSUFFICIENT_DATA
  std::string reason;  // StateReason
  std::string updated;  // StateUpdatedTimestamp, as sent
  bool composite = false;
};

// One DescribeAlarms page, parsed: metric and composite alarms, and the NextToken ("" at the end).
struct AlarmPage {
  std::vector<AlarmState> alarms;
  std::string next_token;
};
Result<AlarmPage> parse_describe_alarms(const std::string& xml);

// DescribeAlarms(AlarmNames, AlarmTypes=[MetricAlarm, CompositeAlarm]) for every name, in
// batches of 100, following NextToken. Names CloudWatch does not know are simply absent from the
// answer (the caller decides what a missing alarm means).
Result<std::vector<AlarmState>> describe_alarms(AwsClient& client, const std::vector<std::string>& names);

}  // namespace rb::aws
