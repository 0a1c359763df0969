// The runbook's checklists ("Before Rollback", "After Rollback") as data: each item with its
// result and the evidence behind it, recorded in a journal entry's details["checklist"] where
// the incident report (core/report.hpp) reads it. Pure: the machine checks are gathered by the
// layers (ecs, db) and the command line; this module only judges and serialises them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb {

// How an item was settled.
enum class CheckResult {
  Pass,       // checked by machine: fine
  Fail,       // checked by machine: not fine
  Warn,       // checked by machine: in doubt (or only partly checkable)
  Confirmed,  // a manual item the operator confirmed on a terminal
  Given,      // a manual item taken as given with --yes (nobody was asked)
  Skipped,    // not checked; the evidence says why
};

// "pass", "fail", "warn", "confirmed", "given (--yes)", "skipped": the words the journal and the
// report show.
std::string_view check_result_name(CheckResult r);
// The inverse; nullopt for anything else.
std::optional<CheckResult> parse_check_result(std::string_view name);

// The runbook's items, word for word.
inline constexpr std::string_view kItemIssueConfirmed = "Issue is confirmed and rollback will fix it";
inline constexpr std::string_view kItemKnowTarget = "You know which commit/PR to revert";
inline constexpr std::string_view kItemAwsAccess = "You have AWS access";
inline constexpr std::string_view kItemDatabasePlan = "Database rollback plan";
inline constexpr std::string_view kItemTeamNotified = "Team is notified";
inline constexpr std::string_view kItemVerifyApi = "Verify API is working";
inline constexpr std::string_view kItemMonitorLogs = "Monitor logs for errors";
inline constexpr std::string_view kItemVerifyDatabase = "Verify database integrity";
inline constexpr std::string_view kItemIncidentReport = "Create incident report if production was affected";
inline constexpr std::string_view kItemPostMortem = "Schedule post-mortem";

inline constexpr std::string_view kPhaseBefore = "before";
inline constexpr std::string_view kPhaseAfter = "after";

struct CheckItem {
  std::string item;
  std::string phase;  // kPhaseBefore | kPhaseAfter
  CheckResult result = CheckResult::Skipped;
  std::string evidence;
  bool answered_no = false;  // the operator answered no on a terminal (not journaled: the result says fail)
  // {"item", "phase", "result", "evidence"}: what details["checklist"] holds.
  nlohmann::json to_json() const;
};

// details["checklist"]: an array of items in order.
nlohmann::json checklist_to_json(const std::vector<CheckItem>& items);
// Reads details["checklist"] back. Items of an unexpected shape are left out, never thrown on
// (the journal may be a copy from elsewhere); an unknown result reads as Skipped.
std::vector<CheckItem> checklist_from_json(const nlohmann::json& checklist);
// One line per item for the terminal: "  [pass] Verify API is working: 3 signal checks passed".
std::vector<std::string> checklist_lines(const std::vector<CheckItem>& items);
// Whether any item failed.
bool checklist_has_failure(const std::vector<CheckItem>& items);

// How a manual item was settled on the command line.
enum class ManualAnswer {
  Yes,         // the operator answered yes on a terminal
  No,          // the operator answered no on a terminal
  YesFlag,     // --yes: taken as given, nobody asked
  NoTerminal,  // no terminal to ask and no --yes: not settled
  DryRun,      // a dry run: would be asked
};

// Whether a typed answer to a manual item confirms it: "y" or "yes"; on a protected environment
// only the whole word "yes" (a typed confirmation, not a reflex), as the runbook's items ask.
bool manual_confirmation(std::string_view answer, bool is_protected);

// A manual item from its answer: Confirmed, Given (--yes), Fail (answered no) or Skipped.
// `question` is what was (or would be) asked; it becomes the evidence.
CheckItem manual_item(std::string_view item, std::string_view phase, ManualAnswer answer, const std::string& question);

// "Issue is confirmed and rollback will fix it": what the machine saw before the rollback.
struct IssueSignals {
  std::string health_url;             // "" when none is configured
  std::optional<bool> healthy;        // nullopt: not probed
  std::string health_answer;          // "HTTP 500", "connection refused", ...
  std::vector<std::string> alarms_checked;
  std::vector<std::string> alarms_in_alarm;
  std::string alarms_error;           // the read failed
  std::vector<std::string> stopped_tasks;  // one line each, since the last deployment
  std::string tasks_error;            // the read failed
  bool tasks_checked = true;          // false: this layer reads no ECS tasks
  std::string reason;                 // --reason
  bool is_protected = false;
};
// Whether any signal shows the problem: the health URL not 2xx, an alarm in ALARM, or tasks
// stopped since the last deployment.
bool issue_seen(const IssueSignals& s);
// Pass with the evidence when a signal shows the problem; otherwise the manual answer decides
// (the operator confirms what the machine cannot see). On a protected environment a missing
// --reason turns a pass into a warning: the journal should say what broke.
CheckItem judge_issue(const IssueSignals& s, ManualAnswer manual);

// The gate before "Issue is confirmed": on a protected environment every command that changes
// something says why (--reason), so the journal, the team's notifications and the incident report
// name the cause. A usage error (exit 2) naming the environment, the command and the fix when
// `reason` is blank there; fine elsewhere. Callers check it before the lock and before any change.
Status require_reason(std::string_view env, bool is_protected, std::string_view reason, std::string_view command);
// What a dry run prints instead of refusing: "" when nothing is missing.
std::string reason_required_note(std::string_view env, bool is_protected, std::string_view reason,
                                 std::string_view command);

// "Monitor logs for errors": CloudWatch Logs error lines in a window before and after.
// The filter pattern sent to FilterLogEvents: any of the terms (CloudWatch Logs' "?term" OR).
inline constexpr std::string_view kErrorFilterPattern = "?ERROR ?Error ?error ?Exception";
// The same terms, matched here too: an endpoint that ignores or approximates the pattern (an
// emulator) cannot turn ordinary lines into errors.
bool is_error_message(std::string_view message);
// How many distinct messages the evidence names.
inline constexpr size_t kTopLogMessages = 3;
// The longest message quoted in the evidence (the first line, cut here).
inline constexpr size_t kMaxQuotedMessage = 120;

struct LogWindow {
  size_t errors = 0;
  bool truncated = false;  // the reading stopped at its limit: "at least `errors`"
  std::vector<std::pair<std::string, size_t>> top;  // message (first line, cut), count; most frequent first
};
// Counts the error lines among `messages` (is_error_message) and keeps the most frequent ones.
LogWindow summarise_log_window(const std::vector<std::string>& messages, bool truncated, size_t top_n = kTopLogMessages);
// Pass when no error line came after the rollback; Warn when fewer came than in the same window
// before it; Fail when as many or more.
CheckItem judge_logs(const std::string& group, std::chrono::milliseconds window, const LogWindow& before,
                     const LogWindow& after);

}  // namespace rb
