#include "core/checklist.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "util/json.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb {

namespace {

constexpr std::pair<CheckResult, std::string_view> kResultNames[] = {
    {CheckResult::Pass, "pass"},           {CheckResult::Fail, "fail"},
    {CheckResult::Warn, "warn"},           {CheckResult::Confirmed, "confirmed"},
    {CheckResult::Given, "given (--yes)"}, {CheckResult::Skipped, "skipped"},
};

// "5 error lines", "at least 1000 error lines".
std::string count_text(const LogWindow& w) {
  return fmt::format("{}{} error line{}", w.truncated ? "at least " : "", w.errors, w.errors == 1 ? "" : "s");
}

std::string top_text(const LogWindow& w) {
  std::vector<std::string> parts;
  for (const auto& [message, n] : w.top) parts.push_back(fmt::format("{}x \"{}\"", n, message));
  return join(parts, "; ");
}

}  // namespace

std::string_view check_result_name(CheckResult r) {
  for (const auto& [value, name] : kResultNames)
    if (value == r) return name;
  return "skipped";
}

std::optional<CheckResult> parse_check_result(std::string_view name) {
  for (const auto& [value, n] : kResultNames)
    if (n == name) return value;
  return std::nullopt;
}

nlohmann::json CheckItem::to_json() const {
  return {{"item", item}, {"phase", phase}, {"result", std::string(check_result_name(result))}, {"evidence", evidence}};
}

nlohmann::json checklist_to_json(const std::vector<CheckItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : items) out.push_back(i.to_json());
  return out;
}

std::vector<CheckItem> checklist_from_json(const nlohmann::json& checklist) {
  std::vector<CheckItem> items;
  if (!checklist.is_array()) return items;
  for (const auto& j : checklist) {
    if (!j.is_object() || !j.contains("item") || !j["item"].is_string()) continue;
    CheckItem i;
    i.item = json_string(j, "item");
    i.phase = json_string(j, "phase");
    i.result = parse_check_result(json_string(j, "result")).value_or(CheckResult::Skipped);
    i.evidence = json_string(j, "evidence");
    items.push_back(std::move(i));
  }
  return items;
}

std::vector<std::string> checklist_lines(const std::vector<CheckItem>& items) {
  std::vector<std::string> lines;
  for (const auto& i : items)
    lines.push_back(fmt::format("  [{}] {}: {}", check_result_name(i.result), i.item, i.evidence));
  return lines;
}

bool checklist_has_failure(const std::vector<CheckItem>& items) {
  return std::any_of(items.begin(), items.end(), [](const CheckItem& i) { return i.result == CheckResult::Fail; });
}

CheckItem manual_item(std::string_view item, std::string_view phase, ManualAnswer answer, const std::string& question) {
  CheckItem i{std::string(item), std::string(phase), CheckResult::Skipped, ""};
  switch (answer) {
    case ManualAnswer::Yes:
      i.result = CheckResult::Confirmed;
      i.evidence = fmt::format("confirmed by the operator on a terminal ({})", question);
      break;
    case ManualAnswer::No:
      i.result = CheckResult::Fail;
      i.answered_no = true;
      i.evidence = fmt::format("the operator answered no ({})", question);
      break;
    case ManualAnswer::YesFlag:
      i.result = CheckResult::Given;
      i.evidence = fmt::format("taken as given with --yes, nobody was asked ({})", question);
      break;
    case ManualAnswer::NoTerminal:
      i.evidence = fmt::format("not confirmed: no terminal to ask and no --yes ({})", question);
      break;
    case ManualAnswer::DryRun:
      i.evidence = fmt::format("dry run: would ask ({})", question);
      break;
  }
  return i;
}

bool issue_seen(const IssueSignals& s) {
  return (s.healthy && !*s.healthy) || !s.alarms_in_alarm.empty() || !s.stopped_tasks.empty();
}

CheckItem judge_issue(const IssueSignals& s, ManualAnswer manual) {
  std::vector<std::string> seen;
  if (s.health_url.empty()) seen.push_back("no health URL configured");
  else if (!s.healthy) seen.push_back(fmt::format("health URL {} not probed", s.health_url));
  else seen.push_back(fmt::format("health URL {} answered {}", s.health_url, s.health_answer));
  if (!s.alarms_error.empty()) seen.push_back("alarms not read: " + s.alarms_error);
  else if (s.alarms_checked.empty()) seen.push_back("no verify.alarms configured");
  else if (s.alarms_in_alarm.empty()) seen.push_back(fmt::format("none of {} alarm(s) in ALARM", s.alarms_checked.size()));
  else seen.push_back("in ALARM: " + join(s.alarms_in_alarm, ", "));
  if (!s.tasks_checked) seen.push_back("stopped tasks not checked");
  else if (!s.tasks_error.empty()) seen.push_back("stopped tasks not read: " + s.tasks_error);
  else if (s.stopped_tasks.empty()) seen.push_back("no task stopped since the last deployment");
  else {
    std::vector<std::string> first(s.stopped_tasks.begin(),
                                   s.stopped_tasks.begin() + static_cast<long>(std::min<size_t>(2, s.stopped_tasks.size())));
    seen.push_back(fmt::format("{} task(s) stopped since the last deployment ({})", s.stopped_tasks.size(), join(first, "; ")));
  }
  std::string evidence = join(seen, "; ");
  if (!s.reason.empty()) evidence += fmt::format("; reason: {}", s.reason);
  CheckItem item;
  if (issue_seen(s)) {
    item = {std::string(kItemIssueConfirmed), std::string(kPhaseBefore), CheckResult::Pass, evidence};
  } else {
    item = manual_item(kItemIssueConfirmed, kPhaseBefore, manual, "no signal shows the problem; is it confirmed?");
    item.evidence = evidence + "; " + item.evidence;
  }
  if (s.is_protected && s.reason.empty() && item.result != CheckResult::Fail) {
    item.result = CheckResult::Warn;
    item.evidence += "; no --reason recorded on a protected environment";
  }
  return item;
}

bool manual_confirmation(std::string_view answer, bool is_protected) {
  const std::string a = to_lower(trim(answer));
  return a == "yes" || (!is_protected && a == "y");
}

Status require_reason(std::string_view env, bool is_protected, std::string_view reason, std::string_view command) {
  if (!is_protected || !trim(reason).empty()) return {};
  return usage_error(fmt::format("{} is a protected environment: `rollback {}` there needs --reason (why this "
                                 "rollback; the journal, the notifications and the incident report record it); "
                                 "nothing was changed",
                                 env, command),
                     "run it again with --reason \"what broke and why this rollback fixes it\" (a --dry-run "
                     "needs none)");
}

std::string reason_required_note(std::string_view env, bool is_protected, std::string_view reason,
                                 std::string_view command) {
  if (!is_protected || !trim(reason).empty()) return "";
  return fmt::format("note: {} is a protected environment: the real `rollback {}` needs --reason \"why\"", env, command);
}

bool is_error_message(std::string_view message) {
  return contains(message, "ERROR") || contains(message, "Error") || contains(message, "error") ||
         contains(message, "Exception");
}

LogWindow summarise_log_window(const std::vector<std::string>& messages, bool truncated, size_t top_n) {
  LogWindow w;
  w.truncated = truncated;
  std::map<std::string, size_t> counts;
  std::vector<std::string> order;  // first seen first, so ties keep the log's order
  for (const auto& m : messages) {
    if (!is_error_message(m)) continue;
    ++w.errors;
    std::string_view line(m);
    line = line.substr(0, line.find('\n'));
    std::string quoted = printable_inline(to_valid_utf8(trim(line.substr(0, kMaxQuotedMessage))));
    if (counts[quoted]++ == 0) order.push_back(quoted);
  }
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) { return counts[a] > counts[b]; });
  for (size_t i = 0; i < order.size() && i < top_n; ++i) w.top.emplace_back(order[i], counts[order[i]]);
  return w;
}

CheckItem judge_logs(const std::string& group, std::chrono::milliseconds window, const LogWindow& before,
                     const LogWindow& after) {
  CheckItem item{std::string(kItemMonitorLogs), std::string(kPhaseAfter), CheckResult::Pass, ""};
  std::string span = format_duration(window);
  item.evidence = fmt::format("{}: {} in the {} before the rollback, {} in the {} after it", group, count_text(before),
                              span, count_text(after), span);
  if (after.errors == 0) {
    if (!before.top.empty()) item.evidence += "; gone: " + top_text(before);
    return item;
  }
  item.result = after.errors < before.errors && !after.truncated ? CheckResult::Warn : CheckResult::Fail;
  item.evidence += fmt::format("; {}: {}", item.result == CheckResult::Warn ? "fewer, but still" : "still failing",
                               top_text(after));
  return item;
}

}  // namespace rb
