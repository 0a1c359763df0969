#include <gtest/gtest.h>

#include <fmt/format.h>

#include "aws/logs.hpp"
#include "core/checklist.hpp"
#include "core/config.hpp"
#include "ecs/verify.hpp"

using namespace rb;
using namespace std::chrono_literals;

TEST(Checklist, ResultsRoundTripThroughTheJournalShape) {
  std::vector<CheckItem> items = {
      {std::string(kItemAwsAccess), std::string(kPhaseBefore), CheckResult::Pass, "arn:aws:iam::1:user/a"},
      {std::string(kItemTeamNotified), std::string(kPhaseBefore), CheckResult::Given, "taken as given"},
      {std::string(kItemMonitorLogs), std::string(kPhaseAfter), CheckResult::Warn, "fewer"},
  };
  auto j = checklist_to_json(items);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  // The keys the incident report reads (core/report.cpp: item, result, evidence).
  EXPECT_EQ(j[0]["item"], "You have AWS access");
  EXPECT_EQ(j[0]["result"], "pass");
  EXPECT_EQ(j[0]["evidence"], "arn:aws:iam::1:user/a");
  EXPECT_EQ(j[1]["result"], "given (--yes)");
  EXPECT_EQ(j[2]["phase"], "after");
  auto back = checklist_from_json(j);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].result, CheckResult::Given);
  EXPECT_EQ(back[2].result, CheckResult::Warn);
  EXPECT_EQ(back[2].item, "Monitor logs for errors");
}

TEST(Checklist, ReadingAForeignShapeNeverThrows) {
  auto j = nlohmann::json::parse(R"([1, null, {"item": 3}, {"item": "x", "result": "maybe"}, {"item": "y"}])");
  auto items = checklist_from_json(j);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].result, CheckResult::Skipped);  // an unknown result
  EXPECT_TRUE(checklist_from_json(nlohmann::json::object()).empty());
}

TEST(Checklist, ManualItemsSayHowTheyWereSettled) {
  EXPECT_EQ(manual_item(kItemTeamNotified, kPhaseBefore, ManualAnswer::Yes, "q").result, CheckResult::Confirmed);
  EXPECT_EQ(manual_item(kItemTeamNotified, kPhaseBefore, ManualAnswer::No, "q").result, CheckResult::Fail);
  EXPECT_TRUE(manual_item(kItemTeamNotified, kPhaseBefore, ManualAnswer::No, "q").answered_no);  // refuses the rollback
  auto given = manual_item(kItemTeamNotified, kPhaseBefore, ManualAnswer::YesFlag, "q");
  EXPECT_EQ(given.result, CheckResult::Given);
  EXPECT_NE(given.evidence.find("--yes"), std::string::npos);
  auto unasked = manual_item(kItemTeamNotified, kPhaseBefore, ManualAnswer::NoTerminal, "q");
  EXPECT_EQ(unasked.result, CheckResult::Skipped);
  EXPECT_NE(unasked.evidence.find("no terminal"), std::string::npos);
  EXPECT_NE(manual_item(kItemTeamNotified, kPhaseBefore, ManualAnswer::DryRun, "q").evidence.find("dry run"),
            std::string::npos);
  EXPECT_TRUE(checklist_has_failure({manual_item(kItemTeamNotified, kPhaseBefore, ManualAnswer::No, "q")}));
  EXPECT_FALSE(checklist_has_failure({given, unasked}));
}

TEST(Checklist, TheIssueIsConfirmedByAnySignalElseByTheOperator) {
  IssueSignals s;
  s.health_url = "https://api/health";
  s.healthy = true;
  s.health_answer = "HTTP 200";
  s.alarms_checked = {"api-5xx"};
  s.reason = "500s";
  EXPECT_FALSE(issue_seen(s));
  auto asked = judge_issue(s, ManualAnswer::Yes);
  EXPECT_EQ(asked.result, CheckResult::Confirmed);
  EXPECT_NE(asked.evidence.find("answered HTTP 200"), std::string::npos) << asked.evidence;
  EXPECT_NE(asked.evidence.find("reason: 500s"), std::string::npos);
  EXPECT_EQ(judge_issue(s, ManualAnswer::YesFlag).result, CheckResult::Given);
  EXPECT_TRUE(judge_issue(s, ManualAnswer::No).answered_no);

  s.alarms_in_alarm = {"api-5xx"};
  EXPECT_TRUE(issue_seen(s));
  auto seen = judge_issue(s, ManualAnswer::NoTerminal);
  EXPECT_EQ(seen.result, CheckResult::Pass);
  EXPECT_NE(seen.evidence.find("in ALARM: api-5xx"), std::string::npos) << seen.evidence;

  IssueSignals tasks;
  tasks.stopped_tasks = {"task 1a2b: EssentialContainerExited"};
  auto by_tasks = judge_issue(tasks, ManualAnswer::NoTerminal);
  EXPECT_EQ(by_tasks.result, CheckResult::Pass);
  EXPECT_NE(by_tasks.evidence.find("1 task(s) stopped"), std::string::npos) << by_tasks.evidence;

  IssueSignals unhealthy;
  unhealthy.health_url = "https://api/health";
  unhealthy.healthy = false;
  unhealthy.health_answer = "HTTP 503";
  unhealthy.is_protected = true;  // without --reason: a warning, the journal should say what broke
  auto warned = judge_issue(unhealthy, ManualAnswer::YesFlag);
  EXPECT_EQ(warned.result, CheckResult::Warn);
  EXPECT_NE(warned.evidence.find("no --reason"), std::string::npos);
}

TEST(Checklist, AProtectedEnvironmentRefusesAChangeWithoutAReason) {
  // Protected and no (or a blank) reason: a usage error (exit 2) naming the environment, the
  // command and the fix.
  for (const char* blank : {"", "   "}) {
    auto st = require_reason("prod", true, blank, "ecs");
    ASSERT_FALSE(st) << "reason \"" << blank << "\"";
    EXPECT_EQ(st.error().code, ExitCode::Usage);
    EXPECT_NE(st.error().message.find("prod is a protected environment"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("`rollback ecs`"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("nothing was changed"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().hint.find("--reason \""), std::string::npos) << st.error().hint;
  }
  // With a reason, or on an unprotected environment, nothing is required.
  EXPECT_TRUE(require_reason("prod", true, "500s after deploy", "app"));
  EXPECT_TRUE(require_reason("staging", false, "", "app"));
  // A dry run's note says the same without refusing; nothing to say when nothing is missing.
  EXPECT_NE(reason_required_note("prod", true, "", "release").find("`rollback release` needs --reason"),
            std::string::npos);
  EXPECT_EQ(reason_required_note("prod", true, "why", "release"), "");
  EXPECT_EQ(reason_required_note("dev", false, "", "release"), "");
}

TEST(Checklist, ErrorLinesAreCountedAndTheFrequentOnesNamed) {
  EXPECT_TRUE(is_error_message("ERROR db timeout"));
  EXPECT_TRUE(is_error_message("java.lang.IllegalStateException: x"));
  EXPECT_TRUE(is_error_message("level=error msg=boom"));
  EXPECT_FALSE(is_error_message("INFO GET /health 200"));
  auto w = summarise_log_window({"INFO ok", "ERROR b", "ERROR a\nstack line 1", "ERROR a\nstack line 2", "ERROR c"}, false, 2);
  EXPECT_EQ(w.errors, 4u);
  ASSERT_EQ(w.top.size(), 2u);
  EXPECT_EQ(w.top[0].first, "ERROR a");  // the first line only, most frequent first
  EXPECT_EQ(w.top[0].second, 2u);
  EXPECT_EQ(w.top[1].first, "ERROR b");  // ties keep the log's order
  auto long_line = summarise_log_window({std::string(500, 'x') + " error"}, false);
  EXPECT_EQ(long_line.top[0].first.size(), kMaxQuotedMessage);
}

TEST(Checklist, LogsPassWhenNoErrorFollowsTheRollbackAndFailWhenAsManyDo) {
  auto before = summarise_log_window({"ERROR a", "ERROR a", "ERROR b"}, false);
  auto none = summarise_log_window({"INFO ok"}, false);
  auto fewer = summarise_log_window({"ERROR a"}, false);
  auto more = summarise_log_window({"ERROR x", "ERROR x", "ERROR x", "ERROR y"}, false);

  auto pass = judge_logs("/ecs/api", 30s, before, none);
  EXPECT_EQ(pass.result, CheckResult::Pass);
  EXPECT_EQ(pass.item, "Monitor logs for errors");
  EXPECT_NE(pass.evidence.find("/ecs/api: 3 error lines in the 30s before the rollback, 0 error lines in the 30s after it"),
            std::string::npos) << pass.evidence;
  EXPECT_NE(pass.evidence.find("2x \"ERROR a\""), std::string::npos) << pass.evidence;

  EXPECT_EQ(judge_logs("/ecs/api", 30s, before, fewer).result, CheckResult::Warn);
  auto fail = judge_logs("/ecs/api", 30s, before, more);
  EXPECT_EQ(fail.result, CheckResult::Fail);
  EXPECT_NE(fail.evidence.find("3x \"ERROR x\""), std::string::npos) << fail.evidence;
  EXPECT_EQ(judge_logs("/ecs/api", 30s, none, fewer).result, CheckResult::Fail);  // new errors
  // A cut-short reading is "at least", and never counts as fewer.
  auto cut = summarise_log_window({"ERROR a"}, true);
  auto judged = judge_logs("/ecs/api", 30s, before, cut);
  EXPECT_EQ(judged.result, CheckResult::Fail);
  EXPECT_NE(judged.evidence.find("at least 1 error line "), std::string::npos) << judged.evidence;
}

TEST(Checklist, LogGroupComesFromTheContainersAwslogsConfiguration) {
  auto td = nlohmann::json::parse(R"({"containerDefinitions": [
      {"name": "sidecar", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/side"}}},
      {"name": "api", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api"}}},
      {"name": "fluent", "logConfiguration": {"logDriver": "awsfirelens", "options": {"awslogs-group": "/x"}}}]})");
  EXPECT_EQ(ecs::awslogs_group_of(td, "api"), "/ecs/api");
  EXPECT_EQ(ecs::awslogs_group_of(td, "missing"), "/ecs/side");  // the first container's
  EXPECT_EQ(ecs::awslogs_group_of(td, "fluent"), "");          // not awslogs
  EXPECT_EQ(ecs::awslogs_group_of(nlohmann::json::parse(R"({"containerDefinitions": [{"name": "api"}]})"), "api"), "");
  EXPECT_EQ(ecs::awslogs_group_of(nlohmann::json::parse(R"({"containerDefinitions": "x"})"), "api"), "");
}

TEST(Checklist, FilterLogEventsRepliesAreReadTolerantly) {
  auto page = aws::parse_filter_log_events(nlohmann::json::parse(R"({"events": [
      {"logStreamName": "api/1", "timestamp": 1700000000000, "message": "ERROR a", "eventId": "1"},
      {"logStreamName": "api/1", "timestamp": "soon", "message": null}, 3],
      "nextToken": "t2", "searchedLogStreams": []})"));
  ASSERT_EQ(page.events.size(), 2u);
  EXPECT_EQ(page.events[0].message, "ERROR a");
  EXPECT_EQ(page.events[0].timestamp_ms, 1700000000000);
  EXPECT_EQ(page.events[1].timestamp_ms, 0);
  EXPECT_EQ(page.next_token, "t2");
  EXPECT_TRUE(aws::parse_filter_log_events(nlohmann::json::parse(R"({"events": null})")).events.empty());
}

TEST(Checklist, LogsWindowIsConfigurable) {
  auto cfg = parse_config("app: a\nenvironments:\n  prod: { branch: main, verify: { logs_window: 30s } }\n"
                          "  dev: { branch: d }\n",
                          "/r/rollback.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg->environment("prod"))->verify.logs_window, 30s);
  EXPECT_EQ((*cfg->environment("dev"))->verify.logs_window, kDefaultLogsWindow);
  for (const char* bad : {"logs_window: soon", "logs_window: 2h", "logs_window: [1]"}) {
    auto r = parse_config(fmt::format("app: a\nenvironments:\n  prod: {{ branch: main, verify: {{ {} }} }}\n", bad),
                          "/r/rollback.yaml");
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(Checklist, AProtectedEnvironmentTakesOnlyTheTypedWordYes) {
  EXPECT_TRUE(manual_confirmation("y", false));
  EXPECT_TRUE(manual_confirmation(" YES\n", false));
  EXPECT_FALSE(manual_confirmation("", false));
  EXPECT_FALSE(manual_confirmation("n", false));
  // prod: a reflexive "y" is not a typed confirmation.
  EXPECT_FALSE(manual_confirmation("y", true));
  EXPECT_FALSE(manual_confirmation("ye", true));
  EXPECT_FALSE(manual_confirmation("yes please", true));
  EXPECT_TRUE(manual_confirmation("yes", true));
  EXPECT_TRUE(manual_confirmation(" Yes ", true));
}
