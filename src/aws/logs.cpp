#include "aws/logs.hpp"

#include <algorithm>

#include "aws/endpoint.hpp"
#include "util/json.hpp"

namespace rb::aws {

LogEventsPage parse_filter_log_events(const nlohmann::json& reply) {
  LogEventsPage page;
  page.next_token = json_string(reply, "nextToken");
  if (!reply.is_object()) return page;
  auto events = reply.find("events");
  if (events == reply.end() || !events->is_array()) return page;
  for (const auto& e : *events) {
    if (!e.is_object()) continue;
    LogEvent ev;
    ev.stream = json_string(e, "logStreamName");
    ev.message = json_string(e, "message");
    auto ts = e.find("timestamp");
    if (ts != e.end() && ts->is_number()) ev.timestamp_ms = ts->get<std::int64_t>();
    page.events.push_back(std::move(ev));
  }
  return page;
}

AwsClientConfig logs_config(const std::string& region, Credentials credentials, RetryPolicy retry) {
  auto config = AwsClientConfig::for_service("logs", region, std::move(credentials), std::move(retry));
  config.endpoint = endpoint_url("cloudwatch logs", region, "logs");
  return config;
}

Result<std::pair<std::vector<LogEvent>, bool>> filter_log_events(AwsClient& client, const LogFilter& filter) {
  std::vector<LogEvent> all;
  std::string token;
  // A token that repeats would loop forever on a misbehaving endpoint: stop at the first repeat.
  std::string previous;
  while (true) {
    int want = static_cast<int>(std::min<size_t>(kMaxLogEventsPage, std::max<size_t>(1, filter.max_events - all.size())));
    nlohmann::json request = {{"logGroupName", filter.group},
                              {"startTime", filter.start_ms},
                              {"endTime", filter.end_ms},
                              {"limit", want}};
    if (!filter.pattern.empty()) request["filterPattern"] = filter.pattern;
    if (!token.empty()) request["nextToken"] = token;
    RB_TRY_ASSIGN(auto reply, client.json_call(kLogsTargetPrefix, "FilterLogEvents", request));
    auto page = parse_filter_log_events(reply);
    for (auto& e : page.events) all.push_back(std::move(e));
    if (all.size() >= filter.max_events) return std::pair{std::move(all), !page.next_token.empty()};
    if (page.next_token.empty() || page.next_token == previous) break;
    previous = token = page.next_token;
  }
  return std::pair{std::move(all), false};
}

}  // namespace rb::aws
