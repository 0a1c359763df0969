#include <gtest/gtest.h>

#include "db/staging.hpp"

using namespace rb;
using namespace rb::db;

namespace {

Config config() {
  Config c;
  c.app = "connect2-api";
  EnvironmentConfig dev, staging, prod;
  dev.name = "dev";
  staging.name = "staging";
  prod.name = "prod";
  prod.is_protected = true;
  c.environments = {dev, staging, prod};
  return c;
}

JournalEntry db_entry(std::string id, std::string env, std::vector<std::string> heads, std::string target,
                      std::string outcome = kOutcomeSucceeded) {
  JournalEntry e;
  e.id = std::move(id);
  e.app = "connect2-api";
  e.env = std::move(env);
  e.layer = "db";
  e.user = "alice";
  e.host = "laptop";
  e.outcome = std::move(outcome);
  e.started_at = "2026-11-30T06:00:00Z";
  e.ended_at = "2026-11-30T06:01:00Z";
  e.to = target;
  std::string from;
  for (const auto& h : heads) from += (from.empty() ? "" : ", ") + h;
  e.from = from;
  e.details = {{"from_heads", heads}, {"to_revision", target}};
  return e;
}

}  // namespace

TEST(db_staging, FindsTheSameDowngradeOnANonProtectedEnvironment) {
  DowngradeKey key{{"b", "a"}, "t"};
  std::vector<JournalEntry> entries = {
      db_entry("1-wrong-target", "staging", {"a", "b"}, "other"),
      db_entry("2-wrong-start", "staging", {"a"}, "t"),
      db_entry("3-failed", "staging", {"a", "b"}, "t", kOutcomeFailed),
      db_entry("4-on-prod", "prod", {"a", "b"}, "t"),
      db_entry("5-removed-env", "qa", {"a", "b"}, "t"),
      db_entry("6-match", "staging", {"b", "a"}, "t"),
      db_entry("7-older-match", "dev", {"a", "b"}, "t"),
  };
  auto other_app = db_entry("0-other-app", "staging", {"a", "b"}, "t");
  other_app.app = "billing";
  entries.insert(entries.begin(), other_app);
  auto ecs = db_entry("0-ecs", "staging", {"a", "b"}, "t");
  ecs.layer = "ecs";
  entries.insert(entries.begin(), ecs);

  auto found = find_staging_run(entries, config(), key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, "6-match");
}

TEST(db_staging, NoMatchMeansTheGateBlocksAndTheRefusalNamesTheStagingCommand) {
  std::vector<JournalEntry> entries = {db_entry("1", "staging", {"a"}, "other")};
  DowngradeKey key{{"a"}, "t"};
  EXPECT_FALSE(find_staging_run(entries, config(), key).has_value());

  StagingCheck c;
  c.required = true;
  c.key = key;
  c.unprotected_envs = {"dev", "staging"};
  EXPECT_TRUE(c.blocks());
  Error e = c.refusal_error("prod", "local");
  EXPECT_EQ(e.code, ExitCode::Refused);
  EXPECT_EQ(e.tag, "staging-first");
  EXPECT_NE(e.hint.find("rollback db --env dev --to t"), std::string::npos) << e.hint;
  EXPECT_NE(e.hint.find("--skip-staging-check"), std::string::npos);
  EXPECT_EQ(c.staging_command("ecs-task"), "rollback db --env dev --to t --via ecs-task");

  c.skipped = true;
  c.skip_reason = "outage";
  EXPECT_FALSE(c.blocks());
  EXPECT_NE(c.describe().find("outage"), std::string::npos);
  c.skipped = false;
  c.evidence = db_entry("20261130-060000-abcd", "staging", {"a"}, "t");
  EXPECT_FALSE(c.blocks());
  EXPECT_NE(c.describe().find("alice@laptop"), std::string::npos) << c.describe();
  EXPECT_NE(c.describe().find("20261130-060000-abcd"), std::string::npos);
  c.required = false;
  c.evidence.reset();
  EXPECT_FALSE(c.blocks());
}

TEST(db_staging, OlderEntriesAreMatchedByFromAndTo) {
  JournalEntry e = db_entry("old", "staging", {}, "t");
  e.details = nlohmann::json::object();
  e.from = "b, a";
  e.to = "t";
  auto key = key_of_entry(e);
  EXPECT_EQ(key.from_heads, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(key.target, "t");
  EXPECT_TRUE(find_staging_run({e}, config(), DowngradeKey{{"a", "b"}, "t"}).has_value());
}
