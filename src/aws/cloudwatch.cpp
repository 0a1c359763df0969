#include "aws/cloudwatch.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <algorithm>
#include <set>

#include "util/strings.hpp"

namespace rb::aws {

namespace {

// Pages followed per batch of names: 100 names fit in one page of 100 records; a few more
// pages bound a server that keeps answering with a NextToken.
constexpr int kMaxAlarmPages = 20;

Error bad_reply(std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("CloudWatch DescribeAlarms returned a reply without {}", what),
               "check that the CloudWatch endpoint (AWS_ENDPOINT_URL_CLOUDWATCH / AWS_ENDPOINT_URL) really is "
               "CloudWatch",
               "bad-response"};
}

std::string text_of(const pugi::xml_node& parent, const char* name) { return trim(parent.child_value(name)); }

}  // namespace

Result<AlarmPage> parse_describe_alarms(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("valid XML");
  pugi::xml_node result = doc.select_node("//DescribeAlarmsResult").node();
  if (!result) return bad_reply("a DescribeAlarmsResult");
  AlarmPage page;
  for (const char* list : {"MetricAlarms", "CompositeAlarms"}) {
    for (pugi::xml_node m : result.child(list).children("member")) {
      AlarmState a{text_of(m, "AlarmName"), text_of(m, "StateValue"), text_of(m, "StateReason"),
                   text_of(m, "StateUpdatedTimestamp"), std::string_view(list) == "CompositeAlarms"};
      if (a.name.empty() || a.state.empty()) return bad_reply("an AlarmName and StateValue for every alarm");
      page.alarms.push_back(std::move(a));
    }
  }
  page.next_token = text_of(result, "NextToken");
  return page;
}

Result<std::vector<AlarmState>> describe_alarms(AwsClient& client, const std::vector<std::string>& names) {
  std::vector<AlarmState> out;
  for (size_t i = 0; i < names.size(); i += kDescribeAlarmsBatch) {
    QueryParams base = {{"AlarmTypes.member.1", "MetricAlarm"}, {"AlarmTypes.member.2", "CompositeAlarm"}};
    size_t end = std::min(names.size(), i + kDescribeAlarmsBatch);
    for (size_t k = i; k < end; ++k) base.emplace_back(fmt::format("AlarmNames.member.{}", k - i + 1), names[k]);
    std::string token;
    std::set<std::string> seen_tokens;
    for (int page_no = 0;; ++page_no) {
      if (page_no >= kMaxAlarmPages)
        return failure(fmt::format("CloudWatch DescribeAlarms: more than {} pages for {} names", kMaxAlarmPages, end - i));
      QueryParams params = base;
      if (!token.empty()) params.emplace_back("NextToken", token);
      RB_TRY_ASSIGN(std::string body, client.query_call("DescribeAlarms", kCloudWatchApiVersion, params));
      RB_TRY_ASSIGN(auto page, parse_describe_alarms(body));
      for (auto& a : page.alarms) out.push_back(std::move(a));
      if (page.next_token.empty()) break;
      if (!seen_tokens.insert(page.next_token).second)
        return failure("CloudWatch DescribeAlarms: a NextToken came back twice");
      token = page.next_token;
    }
  }
  return out;
}

}  // namespace rb::aws
