#include <gtest/gtest.h>

#include <deque>

#include "aws/rds.hpp"
#include "db/pitr.hpp"
#include "util/strings.hpp"
#include "../support/fake_clock.hpp"

using namespace rb;
using namespace rb::db;
using std::chrono::system_clock;

namespace {

system_clock::time_point at(const char* iso) { return system_clock::from_time_t(*parse_iso8601(iso)); }

aws::DbInstance source() {
  aws::DbInstance d;
  d.identifier = "connect2-prod";
  d.status = "available";
  d.instance_class = "db.r6g.large";
  d.allocated_storage_gib = 250;
  d.create_time = "2026-01-01T00:00:00Z";
  d.latest_restorable_time = "2026-11-30T10:10:00Z";
  d.backup_retention_days = 7;
  d.subnet_group = "connect2-db";
  d.security_groups = {"sg-1", "sg-2"};
  d.parameter_group = "connect2-pg16";
  return d;
}

// Replies to restore() then describe() from a script of statuses.
class FakeRestore : public RestoreGateway {
 public:
  std::deque<std::string> statuses;
  std::optional<Error> restore_error;
  bool describe_finds_target = true;
  std::vector<std::string> calls;
  aws::PointInTimeRestore sent;

  Result<aws::DbInstance> describe(const std::string& name) override {
    calls.push_back("describe " + name);
    if (!describe_finds_target)
      return Error{ExitCode::Failed, "DBInstance " + name + " not found", {}, "DBInstanceNotFound"};
    return next(name);
  }
  Result<aws::DbInstance> restore(const aws::PointInTimeRestore& r) override {
    calls.push_back("restore " + r.target);
    sent = r;
    if (restore_error) return *restore_error;
    return next(r.target);
  }

 private:
  aws::DbInstance next(const std::string& name) {
    aws::DbInstance d;
    d.identifier = name;
    d.status = statuses.front();
    if (statuses.size() > 1) statuses.pop_front();
    return d;
  }
};

}  // namespace

TEST(db_pitr, TheWindowIsTheRetentionBackFromTheLatestRestorableTime) {
  auto w = restore_window(source());
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(iso8601(w->latest), "2026-11-30T10:10:00Z");
  EXPECT_EQ(iso8601(w->earliest), "2026-11-23T10:10:00Z");
  // A young instance: its creation bounds the window.
  auto young = source();
  young.create_time = "2026-11-29T08:00:00Z";
  EXPECT_EQ(iso8601(restore_window(young)->earliest), "2026-11-29T08:00:00Z");
}

TEST(db_pitr, NoWindowWithoutAutomatedBackupsOrALatestTime) {
  auto off = source();
  off.backup_retention_days = 0;
  auto w = restore_window(off);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ExitCode::Refused);
  EXPECT_NE(w.error().message.find("automated backups are off"), std::string::npos);
  auto fresh = source();
  fresh.latest_restorable_time.clear();
  ASSERT_FALSE(restore_window(fresh).ok());
  EXPECT_EQ(restore_window(fresh).error().code, ExitCode::Refused);
}

TEST(db_pitr, RestoreTimesAreZonedIsoOrAgo) {
  const auto now = at("2026-11-30T10:15:00Z");
  EXPECT_EQ(iso8601(*parse_restore_time("2026-11-30T09:15:00Z", now)), "2026-11-30T09:15:00Z");
  EXPECT_EQ(iso8601(*parse_restore_time("2026-11-30T10:15:00+01:00", now)), "2026-11-30T09:15:00Z");
  EXPECT_EQ(iso8601(*parse_restore_time("2026-11-30T05:15:00-04:00", now)), "2026-11-30T09:15:00Z");
  EXPECT_EQ(iso8601(*parse_restore_time("45m ago", now)), "2026-11-30T09:30:00Z");
  EXPECT_EQ(iso8601(*parse_restore_time(" 1h30m ago ", now)), "2026-11-30T08:45:00Z");
  for (const char* bad : {"2026-11-30T09:15:00", "yesterday", "", "ago", "soon ago", "2026-11-30", "09:15Z"}) {
    auto t = parse_restore_time(bad, now);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.error().code, ExitCode::Usage) << bad;
  }
}

TEST(db_pitr, TimesOutsideTheWindowAreRefusedNamingIt) {
  auto w = *restore_window(source());
  EXPECT_TRUE(check_in_window(at("2026-11-30T10:10:00Z"), w, "RDS instance connect2-prod").ok());
  EXPECT_TRUE(check_in_window(at("2026-11-23T10:10:00Z"), w, "RDS instance connect2-prod").ok());
  auto late = check_in_window(at("2026-11-30T10:10:01Z"), w, "RDS instance connect2-prod");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ExitCode::Refused);
  EXPECT_NE(late.error().message.find("2026-11-23T10:10:00Z .. 2026-11-30T10:10:00Z"), std::string::npos);
  EXPECT_NE(late.error().hint.find("latest restorable time"), std::string::npos);
  auto early = check_in_window(at("2026-11-01T00:00:00Z"), w, "RDS instance connect2-prod");
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().hint.find("snapshot"), std::string::npos);
}

TEST(db_pitr, TheNewInstanceIsNamedAfterTheSourceAndTimeWithinRdsRules) {
  const auto t = at("2026-11-30T09:15:42Z");
  EXPECT_EQ(restored_instance_name("connect2-prod", t), "connect2-prod-pitr-20261130-0915");
  std::string long_name = "Connect2-" + std::string(60, 'a');
  auto name = restored_instance_name(long_name, t);
  EXPECT_LE(name.size(), aws::kMaxRdsIdentifier);
  EXPECT_TRUE(aws::check_rds_identifier(name).ok()) << name;
  EXPECT_EQ(name.rfind("connect2-", 0), 0u);
  // Shortening never leaves two hyphens in a row.
  std::string hyphen_at_cut = std::string(44, 'a') + "-bbbbbbbbbbbbbbbbbbbb";
  EXPECT_TRUE(aws::check_rds_identifier(restored_instance_name(hyphen_at_cut, t)).ok());
}

TEST(db_pitr, TheRequestCopiesTheSourcesNetworkAndTagsTheRollback) {
  auto r = restore_request(source(), "connect2-prod-pitr-20261130-0915", at("2026-11-30T09:15:00Z"), "20261130-101500-ab12");
  EXPECT_EQ(r.source, "connect2-prod");
  EXPECT_EQ(r.restore_time, "2026-11-30T09:15:00Z");
  EXPECT_EQ(r.instance_class, "db.r6g.large");
  EXPECT_EQ(r.subnet_group, "connect2-db");
  EXPECT_EQ(r.security_groups, (std::vector<std::string>{"sg-1", "sg-2"}));
  EXPECT_EQ(r.parameter_group, "connect2-pg16");
  EXPECT_FALSE(r.multi_az);
  ASSERT_FALSE(r.tags.empty());
  EXPECT_EQ(r.tags[0], (std::pair<std::string, std::string>{"rollback:id", "20261130-101500-ab12"}));
  // The estimate grows with the storage.
  auto small = source();
  small.allocated_storage_gib = 20;
  EXPECT_LT(estimate_restore(small), estimate_restore(source()));
}

TEST(db_pitr, FollowsTheRestoreToAvailableWithOneLinePerChange) {
  FakeRestore g;
  g.statuses = {"creating", "creating", "backing-up", "available"};
  rb::testing::FakeClock clock;
  std::vector<std::string> lines;
  auto request = restore_request(source(), "connect2-prod-pitr-20261130-0915", at("2026-11-30T09:15:00Z"), "id");
  auto d = restore_and_wait(g, clock, request, kRestoreTimeout, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->status, "available");
  EXPECT_EQ(g.calls.front(), "restore connect2-prod-pitr-20261130-0915");
  EXPECT_EQ(lines, (std::vector<std::string>{"instance connect2-prod-pitr-20261130-0915: creating",
                                             "instance connect2-prod-pitr-20261130-0915: backing-up",
                                             "instance connect2-prod-pitr-20261130-0915: available"}));
  ASSERT_EQ(clock.sleeps.size(), 3u);
  EXPECT_EQ(clock.sleeps[0], kRestoreFirstPolls[0]);
}

TEST(db_pitr, FailedSlowInterruptedAndLostRestores) {
  auto request = restore_request(source(), "connect2-prod-pitr-x", at("2026-11-30T09:15:00Z"), "id");
  auto quiet = [](const std::string&) {};
  {
    FakeRestore g;
    g.statuses = {"creating", "incompatible-restore"};
    rb::testing::FakeClock clock;
    auto d = restore_and_wait(g, clock, request, kRestoreTimeout, quiet);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().tag, "restore-failed");
    EXPECT_NE(d.error().message.find("'incompatible-restore'"), std::string::npos);
  }
  {
    FakeRestore g;
    g.statuses = {"creating"};
    rb::testing::FakeClock clock;
    auto d = restore_and_wait(g, clock, request, std::chrono::minutes(5), quiet);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().tag, "restore-failed");
    EXPECT_NE(d.error().message.find("still 'creating'"), std::string::npos);
  }
  {
    FakeRestore g;
    g.statuses = {"creating"};
    rb::testing::FakeClock clock;
    clock.interrupt_sleeps = true;
    auto d = restore_and_wait(g, clock, request, kRestoreTimeout, quiet);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, ExitCode::Interrupted);
    EXPECT_NE(d.error().message.find("goes on in RDS"), std::string::npos);
  }
  {
    // The reply to the restore was lost: the target is read, and followed when it is there.
    FakeRestore g;
    g.restore_error = Error{ExitCode::Failed, "connection reset", {}, "ambiguous"};
    g.statuses = {"creating", "available"};
    rb::testing::FakeClock clock;
    auto d = restore_and_wait(g, clock, request, kRestoreTimeout, quiet);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(g.calls[1], "describe connect2-prod-pitr-x");
  }
  {
    // Lost and not there: the restore's own error, naming source and target.
    FakeRestore g;
    g.restore_error = Error{ExitCode::Failed, "connection reset", {}, "ambiguous"};
    g.describe_finds_target = false;
    g.statuses = {"creating"};
    rb::testing::FakeClock clock;
    auto d = restore_and_wait(g, clock, request, kRestoreTimeout, quiet);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("connect2-prod into connect2-prod-pitr-x"), std::string::npos);
    EXPECT_NE(d.error().message.find("connection reset"), std::string::npos);
  }
}

TEST(db_pitr, TheRestoredUrlKeepsCredentialsAndTakesTheEndpoint) {
  auto live = DatabaseUrl::parse("postgresql+psycopg2://app:s3cret-pw@db.internal:5432/connect2?sslmode=require&host=/run/pg");
  ASSERT_TRUE(live.ok());
  auto u = restored_url(*live, "connect2-prod-pitr.abc.us-east-1.rds.amazonaws.com", 5433);
  EXPECT_EQ(u.host, "connect2-prod-pitr.abc.us-east-1.rds.amazonaws.com");
  EXPECT_EQ(u.port, 5433);
  EXPECT_EQ(u.user, "app");
  EXPECT_EQ(u.password, "s3cret-pw");
  EXPECT_EQ(u.database, "connect2");
  EXPECT_EQ(u.query_value("sslmode"), "require");
  EXPECT_FALSE(u.query_value("host").has_value());
  EXPECT_EQ(u.redacted().find("s3cret-pw"), std::string::npos);
}

TEST(db_pitr, ParsesADescribeDBInstancesReply) {
  // The shape of botocore's rds/2014-10-31 DescribeDBInstances output (trimmed).
  const std::string xml = R"(<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBInstancesResult><DBInstances><DBInstance>
    <DBInstanceIdentifier>connect2-prod</DBInstanceIdentifier>
    <DBInstanceClass>db.r6g.large</DBInstanceClass>
    <Engine>postgres</Engine>
    <DBInstanceStatus>available</DBInstanceStatus>
    <Endpoint><Address>connect2-prod.abc.us-east-1.rds.amazonaws.com</Address><Port>5432</Port></Endpoint>
    <AllocatedStorage>250</AllocatedStorage>
    <InstanceCreateTime>2026-01-01T00:00:00.123Z</InstanceCreateTime>
    <BackupRetentionPeriod>7</BackupRetentionPeriod>
    <VpcSecurityGroups>
      <VpcSecurityGroupMembership><VpcSecurityGroupId>sg-1</VpcSecurityGroupId><Status>active</Status></VpcSecurityGroupMembership>
      <VpcSecurityGroupMembership><VpcSecurityGroupId>sg-2</VpcSecurityGroupId><Status>active</Status></VpcSecurityGroupMembership>
    </VpcSecurityGroups>
    <DBParameterGroups><DBParameterGroup><DBParameterGroupName>connect2-pg16</DBParameterGroupName></DBParameterGroup></DBParameterGroups>
    <DBSubnetGroup><DBSubnetGroupName>connect2-db</DBSubnetGroupName></DBSubnetGroup>
    <LatestRestorableTime>2026-11-30T10:10:00Z</LatestRestorableTime>
    <MultiAZ>true</MultiAZ>
    <PubliclyAccessible>false</PubliclyAccessible>
  </DBInstance></DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>)";
  auto d = aws::parse_db_instance(xml, "DescribeDBInstances");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->identifier, "connect2-prod");
  EXPECT_EQ(d->address, "connect2-prod.abc.us-east-1.rds.amazonaws.com");
  EXPECT_EQ(d->port, 5432);
  EXPECT_EQ(d->allocated_storage_gib, 250);
  EXPECT_EQ(d->backup_retention_days, 7);
  EXPECT_EQ(d->security_groups, (std::vector<std::string>{"sg-1", "sg-2"}));
  EXPECT_EQ(d->parameter_group, "connect2-pg16");
  EXPECT_EQ(d->subnet_group, "connect2-db");
  EXPECT_TRUE(d->multi_az);
  EXPECT_TRUE(d->cluster.empty());
  EXPECT_EQ(iso8601(restore_window(*d)->earliest), "2026-11-23T10:10:00Z");
  // Odd replies are errors, never exceptions.
  for (const char* bad : {"", "<x/>", "<DBInstance><DBInstanceIdentifier>a</DBInstanceIdentifier></DBInstance>", "<<<"})
    EXPECT_FALSE(aws::parse_db_instance(bad, "DescribeDBInstances").ok()) << bad;
}
