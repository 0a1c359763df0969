// Team mode's pure logic: the `team:` block, the breaker's expiry judgement, the DynamoDB item
// layout of locks and journal entries, and the notification payloads.
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "core/notify.hpp"
#include "core/team_journal.hpp"
#include "core/team_lock.hpp"
#include "core/team_store.hpp"
#include "util/redact.hpp"

using namespace rb;
using namespace std::chrono_literals;

namespace {

std::string with_team(const std::string& team_block) {
  return "app: connect2-api\nregion: us-east-1\n" + team_block +
         "environments:\n  dev: { branch: development }\n  prod: { branch: main, protected: true }\n";
}

team::TeamLockItem lock_item(const std::string& holder_id, long version) {
  team::TeamLockItem i;
  i.holder_id = holder_id;
  i.version = version;
  i.holder.user = "alice";
  i.holder.host = "laptop-a";
  i.holder.pid = 4242;
  i.holder.command = "rollback ecs --env prod";
  i.holder.since = "2026-11-30T03:00:00Z";
  i.identity = "arn:aws:iam::123456789012:user/alice";
  i.heartbeat_at = "2026-11-30T03:00:20Z";
  i.lease_ms = 60000;
  return i;
}

}  // namespace

TEST(TeamConfig, AbsentMeansLocalMode) {
  auto cfg = parse_config(with_team(""), "/r/rollback.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_FALSE(cfg->team.has_value());
}

TEST(TeamConfig, TableLeaseAndTargets) {
  auto cfg = parse_config(with_team("team:\n  table: rollback-team\n  lease: 3s\n  notify:\n"
                                    "    - slack: { webhook_env: ROLLBACK_SLACK_WEBHOOK }\n"
                                    "    - webhook: { url_env: ROLLBACK_HOOK_URL }\n"),
                          "/r/rollback.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_TRUE(cfg->team.has_value());
  EXPECT_EQ(cfg->team->table, "rollback-team");
  EXPECT_EQ(cfg->team->lease, 3000ms);
  ASSERT_EQ(cfg->team->notify.size(), 2u);
  EXPECT_EQ(cfg->team->notify[0].kind, "slack");
  EXPECT_EQ(cfg->team->notify[0].url_env, "ROLLBACK_SLACK_WEBHOOK");
  EXPECT_EQ(cfg->team->notify[1].kind, "webhook");
  EXPECT_EQ(cfg->team->notify[1].url_env, "ROLLBACK_HOOK_URL");
  auto defaults = parse_config(with_team("team: { table: t }\n"), "/r/rollback.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->team->lease, kDefaultTeamLease);
}

TEST(TeamConfig, ErrorsNameTheProblemAndTheFix) {
  auto missing = parse_config(with_team("team: { lease: 60s }\n"), "/r/rollback.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ExitCode::Usage);
  EXPECT_NE(missing.error().message.find("needs 'table'"), std::string::npos);
  EXPECT_NE(missing.error().hint.find("rollback team init"), std::string::npos);

  auto typo = parse_config(with_team("team: { table: t, leese: 3s }\n"), "/r/rollback.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().hint.find("did you mean 'lease'"), std::string::npos);

  auto url_in_file = parse_config(with_team("team:\n  table: t\n  notify:\n    - slack: { url: https://hooks.x/y }\n"),
                                  "/r/rollback.yaml");
  ASSERT_FALSE(url_in_file.ok());
  EXPECT_NE(url_in_file.error().message.find("environment variable"), std::string::npos);
  EXPECT_EQ(url_in_file.error().message.find("hooks.x"), std::string::npos);

  auto short_lease = parse_config(with_team("team: { table: t, lease: 500ms }\n"), "/r/rollback.yaml");
  ASSERT_FALSE(short_lease.ok());
  EXPECT_NE(short_lease.error().message.find("at least"), std::string::npos);

  auto kind = parse_config(with_team("team:\n  table: t\n  notify:\n    - slak: { webhook_env: X }\n"), "/r/rollback.yaml");
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.error().hint.find("slack"), std::string::npos);
}

TEST(TeamLock, ExpiryNeedsAFullLeaseUnchangedOnOurOwnClock) {
  auto t0 = std::chrono::system_clock::time_point(std::chrono::hours(1000));
  auto item = lock_item("h1", 7);
  // First look: nothing observed yet, never expired however old the holder's timestamps are.
  auto first = team::judge_expiry(std::nullopt, item, t0, 60s);
  EXPECT_FALSE(first.expired);
  EXPECT_EQ(first.unchanged_for, 0ms);
  // Same holder and version, 59 s later: not yet.
  auto later = team::judge_expiry(first.observation, item, t0 + 59s, 60s);
  EXPECT_FALSE(later.expired);
  EXPECT_EQ(later.unchanged_for, 59s);
  // A full lease: expired.
  EXPECT_TRUE(team::judge_expiry(first.observation, item, t0 + 60s, 60s).expired);
  // A renewal (new version) starts the watch again.
  auto renewed = team::judge_expiry(first.observation, lock_item("h1", 8), t0 + 120s, 60s);
  EXPECT_FALSE(renewed.expired);
  EXPECT_EQ(renewed.observation.first_seen, t0 + 120s);
  // A new holder with the same version number too.
  EXPECT_FALSE(team::judge_expiry(first.observation, lock_item("h2", 7), t0 + 120s, 60s).expired);
  // Our clock went backwards since we looked: start again rather than trust it.
  EXPECT_FALSE(team::judge_expiry(first.observation, item, t0 - 3600s, 60s).expired);
}

TEST(TeamLock, ItemRoundTripAndDescription) {
  auto item = lock_item("h1", 3);
  item.holder.rollback_id = "20261130-030000-abcd";
  auto json = item.to_item("connect2-api", "prod");
  EXPECT_EQ(json["pk"]["S"], "LOCK#connect2-api#prod");
  EXPECT_EQ(json["sk"]["S"], "LOCK");
  EXPECT_EQ(json["version"]["N"], "3");
  auto back = team::TeamLockItem::from_item(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->holder_id, "h1");
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->holder.pid, 4242);
  EXPECT_EQ(back->holder.rollback_id, "20261130-030000-abcd");
  std::string d = back->describe();
  for (const char* want : {"alice", "arn:aws:iam::123456789012:user/alice", "laptop-a", "pid 4242",
                           "`rollback ecs --env prod`", "since 2026-11-30T03:00:00Z", "last heartbeat 2026-11-30T03:00:20Z",
                           "rollback 20261130-030000-abcd"})
    EXPECT_NE(d.find(want), std::string::npos) << want << " in " << d;
}

TEST(TeamStore, KeysAndTable) {
  EXPECT_EQ(team::env_pk("a", "prod"), "ENV#a#prod");
  EXPECT_EQ(team::entry_sk("20261130-030000-abcd"), "R#20261130-030000-abcd");
  EXPECT_EQ(team::event_sk(42, "host"), "E#000042#host");
  auto t = team::create_table_input("rollback-team");
  EXPECT_EQ(t["BillingMode"], "PAY_PER_REQUEST");
  EXPECT_EQ(t["KeySchema"][0]["AttributeName"], "pk");
  EXPECT_EQ(t["KeySchema"][0]["KeyType"], "HASH");
  EXPECT_EQ(t["KeySchema"][1]["AttributeName"], "sk");
  EXPECT_EQ(t["KeySchema"][1]["KeyType"], "RANGE");
}

TEST(TeamJournal, EntryItemsRoundTripRedactedWithoutEmptyAttributes) {
  register_secret("SECRETtokenInAReason123");
  JournalEntry e;
  e.id = "20261130-030000-abcd";
  e.app = "connect2-api";
  e.env = "prod";
  e.layer = "ecs";
  e.user = "alice";
  e.host = "laptop-a";
  e.from = "arn:aws:ecs:us-east-1:1:task-definition/connect2-api-prod:6";
  e.to = "arn:aws:ecs:us-east-1:1:task-definition/connect2-api-prod:4";
  e.reason = "leaked SECRETtokenInAReason123";
  e.started_at = "2026-11-30T03:00:00Z";
  e.outcome = kOutcomeRunning;
  e.details = {{"deployed_task_definition", e.to}};
  auto item = team::entry_item(e, team::env_pk(e.app, e.env), team::entry_sk(e.id));
  EXPECT_FALSE(item.contains("ended_at"));  // empty: not sent
  EXPECT_EQ(item.dump().find("SECRETtokenInAReason123"), std::string::npos);
  auto back = team::entry_from_item(item);
  EXPECT_EQ(back.id, e.id);
  EXPECT_EQ(back.to, e.to);
  EXPECT_EQ(back.outcome, kOutcomeRunning);
  EXPECT_EQ(back.ended_at, "");
  EXPECT_EQ(back.details["deployed_task_definition"], e.to);
}

TEST(Notify, SlackBlocksCarryTheFactsAndNoSecret) {
  register_secret("https://hooks.slack.com/services/T000/B000/SECRETxyz");
  Notice n;
  n.phase = kOutcomeFailed;
  n.entry.app = "connect2-api";
  n.entry.env = "prod";
  n.entry.user = "alice";
  n.entry.host = "laptop-a";
  n.entry.from = "connect2-api-prod:6";
  n.entry.to = "connect2-api-prod:4";
  n.entry.reason = "see https://hooks.slack.com/services/T000/B000/SECRETxyz";
  n.entry.id = "20261130-030000-abcd";
  n.failure = "the deployment was rolled back by the ECS circuit breaker";
  n.duration_seconds = 95;
  auto j = slack_message(n);
  std::string text = j.dump();
  EXPECT_EQ(text.find("SECRETxyz"), std::string::npos);
  ASSERT_TRUE(j["blocks"].is_array());
  std::string fields;
  for (const auto& b : j["blocks"])
    if (b["type"] == "section")
      for (const auto& f : b["fields"]) fields += f["text"].get<std::string>() + "|";
  for (const char* want : {"*Environment*\nprod", "*Who*\nalice@laptop-a", "connect2-api-prod:6 → connect2-api-prod:4",
                           "*Why*", "failed: the deployment was rolled back", "*Duration*\n1m35s"})
    EXPECT_NE(fields.find(want), std::string::npos) << want << " in " << fields;
  auto hook = webhook_message(n);
  EXPECT_EQ(hook["event"], "rollback.failed");
  EXPECT_EQ(hook["entry"]["env"], "prod");
  EXPECT_EQ(hook["failure"], n.failure);
  EXPECT_EQ(hook.dump().find("SECRETxyz"), std::string::npos);
}

TEST(Notify, AnUnsetVariableIsReportedNotSent) {
  std::vector<NotifyTarget> targets{{"webhook", "ROLLBACK_TEST_SURELY_UNSET_HOOK"}};
  Notice n;
  n.phase = "test";
  auto results = send_notifications(targets, n);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_NE(results[0].detail.find("ROLLBACK_TEST_SURELY_UNSET_HOOK is not set"), std::string::npos);
  EXPECT_EQ(results[0].target, "webhook (ROLLBACK_TEST_SURELY_UNSET_HOOK)");
}
