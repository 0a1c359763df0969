#include <gtest/gtest.h>

#include "core/report.hpp"
#include "util/redact.hpp"

using namespace rb;

namespace {

ReportRollback rollback(std::string id, std::string layer, std::string outcome, std::string start, std::string end,
                        std::vector<JournalEvent> events = {}) {
  ReportRollback r;
  r.entry.id = std::move(id);
  r.entry.app = "connect2-api";
  r.entry.env = "prod";
  r.entry.layer = std::move(layer);
  r.entry.user = "alice";
  r.entry.host = "laptop";
  r.entry.from = "arn:aws:ecs:us-east-1:123456789012:task-definition/connect2-api-prod:6";
  r.entry.to = "arn:aws:ecs:us-east-1:123456789012:task-definition/connect2-api-prod:4";
  r.entry.outcome = std::move(outcome);
  r.entry.started_at = std::move(start);
  r.entry.ended_at = std::move(end);
  r.events = std::move(events);
  return r;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST(Report, StepsPairStartedAndDoneAndMarkWhatNeverFinished) {
  auto r = rollback("r1", "state", "interrupted", "2026-11-30T10:00:00Z", "2026-11-30T10:01:00Z",
                    {{"2026-11-30T10:00:01Z", "started:lock"},
                     {"2026-11-30T10:00:03Z", "done:lock {\"id\":1}"},
                     {"2026-11-30T10:00:04Z", "started:write"},
                     {"2026-11-30T10:00:05Z", "a message that is not a step"}});
  auto steps = report_steps(r);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].name, "lock");
  EXPECT_EQ(steps[0].end - steps[0].start, 2);
  EXPECT_TRUE(steps[0].finished);
  EXPECT_EQ(steps[1].name, "write");
  EXPECT_FALSE(steps[1].finished);
  EXPECT_EQ(steps[1].end - steps[1].start, 56);  // until the rollback ended
}

TEST(Report, WithoutStepEventsTheRollbackIsOneStep) {
  auto steps = report_steps(rollback("r1", "ecs", "succeeded", "2026-11-30T10:00:00Z", "2026-11-30T10:00:42Z"));
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].name, "ecs rollback");
  EXPECT_EQ(steps[0].end - steps[0].start, 42);
}

TEST(Report, TimeToRecoverRunsFromTheFirstActionToTheLastSuccess) {
  ReportInput in;
  in.app = "connect2-api";
  in.env = "prod";
  in.is_protected = true;
  // Given out of order: the report sorts by start.
  in.rollbacks.push_back(rollback("r2", "ecs", "succeeded", "2026-11-30T10:05:00Z", "2026-11-30T10:07:30Z"));
  in.rollbacks.push_back(rollback("r1", "ecs", "failed", "2026-11-30T10:00:00Z", "2026-11-30T10:03:00Z"));
  Report rep = render_report(in);
  EXPECT_TRUE(rep.summary["recovered"].get<bool>());
  EXPECT_EQ(rep.summary["time_to_recover_seconds"].get<long long>(), 450);
  EXPECT_EQ(rep.summary["rollbacks"], nlohmann::json({"r1", "r2"}));
  EXPECT_NE(rep.markdown.find("| Time to recover | 7m30s"), std::string::npos) << rep.markdown;
  EXPECT_NE(rep.markdown.find("Schedule a post-mortem"), std::string::npos);
  EXPECT_NE(rep.markdown.find("`r1` ended **failed**"), std::string::npos) << rep.markdown;
  EXPECT_LT(rep.markdown.find("`r1` ecs rollback"), rep.markdown.find("`r2` ecs rollback"));
}

TEST(Report, NotRecoveredWhenTheLastRollbackFailed) {
  ReportInput in;
  in.env = "prod";
  in.rollbacks.push_back(rollback("r1", "ecs", "succeeded", "2026-11-30T10:00:00Z", "2026-11-30T10:01:00Z"));
  in.rollbacks.push_back(rollback("r2", "db", "failed", "2026-11-30T10:02:00Z", "2026-11-30T10:03:00Z"));
  Report rep = render_report(in);
  EXPECT_FALSE(rep.summary["recovered"].get<bool>());
  EXPECT_TRUE(rep.summary["time_to_recover_seconds"].is_null());
  EXPECT_NE(rep.markdown.find("not recovered: the last rollback ended failed"), std::string::npos) << rep.markdown;
  EXPECT_NE(rep.markdown.find("Post-mortem if needed"), std::string::npos);
}

TEST(Report, RecordedTextCannotInjectMarkupOrLeakSecrets) {
  register_secret("PLANTEDreportSECRET12345");
  ReportInput in;
  in.env = "prod";
  auto r = rollback("r1", "ecs", "succeeded", "2026-11-30T10:00:00Z", "2026-11-30T10:00:10Z",
                    {{"2026-11-30T10:00:02Z", "health check https://h/x?token=abc answered <b>500</b> | key PLANTEDreportSECRET12345"}});
  r.entry.reason = "500s | <img src=x onerror=alert(1)> `rm` \"q\"\nforged line";
  in.rollbacks.push_back(r);
  Report rep = render_report(in);
  for (const std::string& out : {rep.markdown, rep.svg}) {
    EXPECT_EQ(out.find("PLANTEDreportSECRET12345"), std::string::npos);
    EXPECT_EQ(out.find("<img"), std::string::npos);
    EXPECT_EQ(out.find("<b>"), std::string::npos);
    EXPECT_EQ(out.find("\nforged line"), std::string::npos);
  }
  EXPECT_NE(rep.markdown.find("500s \\| &lt;img src=x onerror=alert(1)&gt; \\`rm\\`"), std::string::npos) << rep.markdown;
  EXPECT_NE(rep.svg.find("&quot;q&quot;"), std::string::npos);
  // Every table row keeps its four cells: no '|' from the text splits one.
  for (size_t at = rep.markdown.find("\n| "); at != std::string::npos; at = rep.markdown.find("\n| ", at + 1)) {
    std::string row = rep.markdown.substr(at + 1, rep.markdown.find('\n', at + 1) - at - 1);
    if (row.find("`r1`") == std::string::npos || row.find("| time") != std::string::npos) continue;
    std::string unescaped;
    for (size_t i = 0; i < row.size(); ++i) {
      if (row[i] == '\\') { ++i; continue; }
      unescaped += row[i];
    }
    EXPECT_GE(count(unescaped, "|"), 5u) << row;
  }
}

TEST(Report, FollowUpNamesTheCommitOfTheImageUntilTheCodeIsReverted) {
  ReportInput in;
  in.env = "prod";
  auto ecs = rollback("r1", "ecs", "succeeded", "2026-11-30T10:00:00Z", "2026-11-30T10:01:00Z");
  ecs.entry.details = {{"from_image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/connect2-api:d95d4c5-unhealthy"}};
  in.rollbacks.push_back(ecs);
  Report rep = render_report(in);
  EXPECT_NE(rep.markdown.find("`rollback app --env prod --commit d95d4c5`"), std::string::npos) << rep.markdown;

  // An image tag that is not a commit: no invented commit, the command without it.
  in.rollbacks[0].entry.details = {{"from_image", "registry:5000/connect2-api:latest"}};
  rep = render_report(in);
  EXPECT_EQ(rep.markdown.find("--commit"), std::string::npos);
  EXPECT_NE(rep.markdown.find("`rollback app --env prod`"), std::string::npos);

  // Once the code revert succeeded, the follow-up is gone.
  in.rollbacks.push_back(rollback("r2", "app", "succeeded", "2026-11-30T10:02:00Z", "2026-11-30T10:03:00Z"));
  rep = render_report(in);
  EXPECT_EQ(rep.markdown.find("still on the branch"), std::string::npos);
}

TEST(Report, TimelinePictureHasOneBarPerRollbackColouredByOutcome) {
  ReportInput in;
  in.env = "prod";
  in.timeline_file = "incident.svg";
  in.rollbacks.push_back(rollback("r1", "ecs", "failed", "2026-11-30T10:00:00Z", "2026-11-30T10:02:00Z",
                                  {{"2026-11-30T10:00:30Z", "UpdateService sent"}}));
  in.rollbacks.push_back(rollback("r2", "ecs", "succeeded", "2026-11-30T10:03:00Z", "2026-11-30T10:04:00Z"));
  Report rep = render_report(in);
  EXPECT_EQ(rep.svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(rep.svg.substr(rep.svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count(rep.svg, "fill=\"#c62828\"><title>r1"), 1u) << rep.svg;
  EXPECT_EQ(count(rep.svg, "fill=\"#2e7d32\"><title>r2"), 1u) << rep.svg;
  EXPECT_EQ(count(rep.svg, "<title>2026-11-30T10:00:30Z UpdateService sent</title>"), 1u);
  EXPECT_NE(rep.markdown.find("](incident.svg)"), std::string::npos);
  // The axis spans the incident: its first label is the first action.
  EXPECT_NE(rep.svg.find(">10:00:00</text>"), std::string::npos);
}

TEST(Report, LongTimelinesKeepTheFirstAndLastEvents) {
  ReportInput in;
  in.env = "dev";
  std::vector<JournalEvent> events;
  for (int i = 0; i < 500; ++i) events.push_back({"2026-11-30T10:00:01Z", "poll " + std::to_string(i)});
  in.rollbacks.push_back(rollback("r1", "ecs", "succeeded", "2026-11-30T10:00:00Z", "2026-11-30T10:10:00Z", events));
  Report rep = render_report(in);
  EXPECT_NE(rep.markdown.find("| poll 0 |"), std::string::npos);
  EXPECT_NE(rep.markdown.find("| poll 499 |"), std::string::npos);
  EXPECT_EQ(rep.markdown.find("| poll 250 |"), std::string::npos);
  EXPECT_NE(rep.markdown.find("380 more events"), std::string::npos);
}

TEST(Report, StagingOverrideIsShownAndOddTypesAreIgnored) {
  ReportInput in;
  in.env = "prod";
  auto db = rollback("r1", "db", "succeeded", "2026-11-30T10:00:00Z", "2026-11-30T10:01:00Z");
  db.entry.details = {{"staging_check", {{"skipped", true}, {"skip_reason", "hotfix, staging is down"}}}};
  in.rollbacks.push_back(db);
  Report rep = render_report(in);
  EXPECT_NE(rep.markdown.find("**Staging first** (`r1`): skipped (--skip-staging-check): hotfix, staging is down"),
            std::string::npos) << rep.markdown;
  EXPECT_EQ(staging_check_note({{"staging_check", {{"skipped", "yes"}, {"evidence", 3}}}}), "");
  EXPECT_EQ(staging_check_note({{"staging_check", {{"evidence", {{"rollback_id", "r0"}, {"env", "staging"}}}}}}),
            "passed: rollback r0 on staging");
}
