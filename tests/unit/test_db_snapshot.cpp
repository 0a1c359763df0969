#include <gtest/gtest.h>

#include <deque>

#include "aws/rds.hpp"
#include "db/snapshot.hpp"
#include "../support/fake_clock.hpp"

using namespace rb;
using namespace rb::db;

namespace {

// Replies to create() then describe() from a script of statuses.
class FakeGateway : public SnapshotGateway {
 public:
  std::deque<std::pair<std::string, int>> statuses;  // status, percent
  std::optional<Error> create_error;
  std::vector<std::string> calls;

  Result<aws::DbSnapshot> create(const std::string& name) override {
    calls.push_back("create " + name);
    if (create_error) return *create_error;
    return next(name);
  }
  Result<aws::DbSnapshot> describe(const std::string& name) override {
    calls.push_back("describe " + name);
    return next(name);
  }
  std::string target() const override { return "RDS instance connect2-prod"; }

 private:
  aws::DbSnapshot next(const std::string& name) {
    aws::DbSnapshot s;
    s.identifier = name;
    s.arn = "arn:aws:rds:us-east-1:123456789012:snapshot:" + name;
    auto [status, percent] = statuses.front();
    if (statuses.size() > 1) statuses.pop_front();
    s.status = status;
    s.percent_progress = percent;
    return s;
  }
};

AnalyzedPlan plan_with(bool destroys, Severity severity) {
  AnalyzedPlan p;
  p.destroys_data = destroys;
  p.severity = severity;
  return p;
}

EnvironmentConfig prod_with_database() {
  EnvironmentConfig e;
  e.name = "prod";
  e.is_protected = true;
  e.database.rds_instance = "connect2-prod";
  return e;
}

}  // namespace

TEST(db_snapshot, FollowsTheSnapshotToAvailableWithProgress) {
  FakeGateway g;
  g.statuses = {{"creating", 0}, {"creating", 40}, {"creating", 40}, {"available", 100}};
  rb::testing::FakeClock clock;
  std::vector<std::string> lines;
  auto s = take_snapshot(g, clock, "rollback-20261130-071158-3f9a", kSnapshotTimeout,
                         [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->status, "available");
  EXPECT_NE(s->arn.find(":snapshot:rollback-20261130-071158-3f9a"), std::string::npos);
  EXPECT_EQ(g.calls.size(), 4u);
  EXPECT_EQ(g.calls[0], "create rollback-20261130-071158-3f9a");
  // One line per change, not per poll.
  EXPECT_EQ(lines, (std::vector<std::string>{"snapshot rollback-20261130-071158-3f9a: creating (0%)",
                                             "snapshot rollback-20261130-071158-3f9a: creating (40%)",
                                             "snapshot rollback-20261130-071158-3f9a: available"}));
  ASSERT_EQ(clock.sleeps.size(), 3u);
  EXPECT_EQ(clock.sleeps[0], kSnapshotPollInterval);
}

TEST(db_snapshot, AFailedOrSlowOrRefusedSnapshotIsAnError) {
  {
    FakeGateway g;
    g.statuses = {{"creating", 10}, {"failed", 10}};
    rb::testing::FakeClock clock;
    auto s = take_snapshot(g, clock, "rollback-x", kSnapshotTimeout, [](const std::string&) {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().tag, "snapshot-failed");
    EXPECT_NE(s.error().message.find("'failed'"), std::string::npos);
  }
  {
    FakeGateway g;
    g.statuses = {{"creating", 10}};
    rb::testing::FakeClock clock;
    auto s = take_snapshot(g, clock, "rollback-x", std::chrono::minutes(2), [](const std::string&) {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().tag, "snapshot-failed");
    EXPECT_NE(s.error().message.find("still 'creating'"), std::string::npos);
    EXPECT_EQ(clock.sleeps.size(), 4u);  // 2 minutes of 30 s polls
  }
  {
    FakeGateway g;
    g.create_error = Error{ExitCode::Failed, "RDS CreateDBSnapshot failed: DBInstanceNotFound", {}, "DBInstanceNotFound"};
    rb::testing::FakeClock clock;
    auto s = take_snapshot(g, clock, "rollback-x", kSnapshotTimeout, [](const std::string&) {});
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("RDS instance connect2-prod"), std::string::npos);
    EXPECT_NE(s.error().message.find("DBInstanceNotFound"), std::string::npos);
  }
  {
    FakeGateway g;
    g.statuses = {{"creating", 10}};
    rb::testing::FakeClock clock;
    clock.interrupt_sleeps = true;
    auto s = take_snapshot(g, clock, "rollback-x", kSnapshotTimeout, [](const std::string&) {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ExitCode::Interrupted);
  }
}

TEST(db_snapshot, DecidesFromTheEnvironmentThePlanAndTheFlags) {
  auto prod = prod_with_database();
  EXPECT_TRUE(decide_snapshot(prod, plan_with(true, Severity::High), std::nullopt)->take);
  EXPECT_TRUE(decide_snapshot(prod, plan_with(false, Severity::Medium), std::nullopt)->take);
  EXPECT_FALSE(decide_snapshot(prod, plan_with(false, Severity::Low), std::nullopt)->take);
  EXPECT_FALSE(decide_snapshot(prod, plan_with(true, Severity::High), false)->take);
  EXPECT_TRUE(decide_snapshot(prod, plan_with(false, Severity::None), true)->take);
  auto staging = prod;
  staging.is_protected = false;
  EXPECT_FALSE(decide_snapshot(staging, plan_with(true, Severity::High), std::nullopt)->take);
  auto bare = prod;
  bare.database = {};
  EXPECT_FALSE(decide_snapshot(bare, plan_with(true, Severity::High), std::nullopt)->take);
  auto asked = decide_snapshot(bare, plan_with(true, Severity::High), true);
  ASSERT_FALSE(asked.ok());
  EXPECT_EQ(asked.error().code, ExitCode::Usage);
}

TEST(db_snapshot, NamesAndIdentifiers) {
  EXPECT_EQ(snapshot_name("20261130-071158-3f9a"), "rollback-20261130-071158-3f9a");
  EXPECT_EQ(snapshot_name("A_b--c-"), "rollback-a-b-c");
  EXPECT_TRUE(aws::check_rds_identifier(snapshot_name("20261130-071158-3f9a")).ok());
  for (const char* bad : {"", "1abc", "a--b", "a-", "a_b", "a b"}) EXPECT_FALSE(aws::check_rds_identifier(bad).ok()) << bad;
  EXPECT_FALSE(aws::check_rds_identifier(std::string(64, 'a')).ok());
  EXPECT_TRUE(aws::check_rds_identifier("connect2-prod").ok());
}

TEST(aws_rds, ParsesSnapshotRepliesOfBothKinds) {
  // The shape of botocore's rds/2014-10-31 model (CreateDBSnapshotResult > DBSnapshot).
  const std::string instance = R"(<CreateDBSnapshotResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <CreateDBSnapshotResult><DBSnapshot>
    <DBSnapshotIdentifier>rollback-1</DBSnapshotIdentifier><DBInstanceIdentifier>connect2-prod</DBInstanceIdentifier>
    <Status>creating</Status><PercentProgress>12</PercentProgress>
    <DBSnapshotArn>arn:aws:rds:us-east-1:123456789012:snapshot:rollback-1</DBSnapshotArn>
  </DBSnapshot></CreateDBSnapshotResult>
  <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></CreateDBSnapshotResponse>)";
  auto s = aws::parse_db_snapshot(instance, "CreateDBSnapshot", false);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->identifier, "rollback-1");
  EXPECT_EQ(s->source, "connect2-prod");
  EXPECT_EQ(s->status, "creating");
  EXPECT_EQ(s->percent_progress, 12);
  EXPECT_EQ(s->arn, "arn:aws:rds:us-east-1:123456789012:snapshot:rollback-1");

  const std::string cluster = R"(<DescribeDBClusterSnapshotsResponse><DescribeDBClusterSnapshotsResult>
  <DBClusterSnapshots><DBClusterSnapshot><DBClusterSnapshotIdentifier>rollback-2</DBClusterSnapshotIdentifier>
  <DBClusterIdentifier>aurora</DBClusterIdentifier><Status>available</Status>
  <DBClusterSnapshotArn>arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rollback-2</DBClusterSnapshotArn>
  </DBClusterSnapshot></DBClusterSnapshots></DescribeDBClusterSnapshotsResult></DescribeDBClusterSnapshotsResponse>)";
  auto c = aws::parse_db_snapshot(cluster, "DescribeDBClusterSnapshots", true);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->cluster);
  EXPECT_EQ(c->source, "aurora");
  EXPECT_EQ(c->percent_progress, 0);

  EXPECT_FALSE(aws::parse_db_snapshot("<x/>", "CreateDBSnapshot", false).ok());
  EXPECT_FALSE(aws::parse_db_snapshot("not xml", "CreateDBSnapshot", false).ok());
}
