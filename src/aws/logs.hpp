// A thin CloudWatch Logs client (JSON 1.1; botocore data/logs/2014-03-28): FilterLogEvents,
// read-only, for the runbook's "Monitor logs for errors" after a rollback.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "util/result.hpp"

namespace rb::aws {

inline constexpr std::string_view kLogsTargetPrefix = "Logs_20140328";
// FilterLogEvents' largest page (botocore's EventsLimit: 1 to 10000).
inline constexpr int kMaxLogEventsPage = 10000;

struct LogEvent {
  std::string stream;
  std::int64_t timestamp_ms = 0;
  std::string message;
};

struct LogEventsPage {
  std::vector<LogEvent> events;
  std::string next_token;  // "" at the end
};

// FilterLogEvents' reply (pure; exposed for tests). Members of another type than the model's
// are read as absent, never thrown on.
LogEventsPage parse_filter_log_events(const nlohmann::json& reply);

// The CloudWatch Logs client config for `region`: endpoint from AWS_ENDPOINT_URL_CLOUDWATCH_LOGS
// (the service id "CloudWatch Logs") or AWS_ENDPOINT_URL, host prefix "logs".
AwsClientConfig logs_config(const std::string& region, Credentials credentials, RetryPolicy retry = {});

struct LogFilter {
  std::string group;
  std::int64_t start_ms = 0, end_ms = 0;  // [start, end] in milliseconds since the epoch
  std::string pattern;                    // a CloudWatch Logs filter pattern; "" matches every event
  size_t max_events = 1000;               // stop reading pages once this many were read
};

// FilterLogEvents over every stream of the group, following nextToken until the end or
// `max_events`. The bool says whether the limit cut the reading short.
Result<std::pair<std::vector<LogEvent>, bool>> filter_log_events(AwsClient& client, const LogFilter& filter);

}  // namespace rb::aws
