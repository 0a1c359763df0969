#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>

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

aws::DbCluster source_cluster() {
  aws::DbCluster c;
  c.identifier = "connect2-aurora";
  c.status = "available";
  c.engine = "aurora-postgresql";
  c.endpoint = "connect2-aurora.cluster-abc.us-east-1.rds.amazonaws.com";
  c.port = 5432;
  c.earliest_restorable_time = "2026-11-28T03:00:00.5Z";
  c.latest_restorable_time = "2026-11-30T10:10:00Z";
  c.backup_retention_days = 7;
  c.subnet_group = "connect2-db";
  c.security_groups = {"sg-1", "sg-2"};
  c.parameter_group = "connect2-apg16";
  c.members = {{"connect2-aurora-b", false}, {"connect2-aurora-a", true}};
  return c;
}

// Replies to restore() then describe() from a script of statuses; a cluster's calls from a
// script of their own.
class FakeRestore : public RestoreGateway {
 public:
  std::deque<std::string> statuses;
  std::deque<std::string> cluster_statuses = {"available"};
  std::optional<Error> restore_error;
  std::optional<Error> create_error;
  bool describe_finds_target = true;
  bool describe_finds_cluster = true;
  std::vector<std::string> calls;
  aws::PointInTimeRestore sent;
  aws::ClusterPointInTimeRestore sent_cluster;
  aws::ClusterInstance sent_instance;
  std::map<std::string, aws::DbInstance> instances;  // what describe() returns by name, when set
  std::map<std::string, aws::DbCluster> clusters;    // what describe_cluster() returns by name, when set

  Result<aws::DbCluster> describe_cluster(const std::string& name) override {
    calls.push_back("describe-cluster " + name);
    if (auto it = clusters.find(name); it != clusters.end()) return it->second;
    if (!describe_finds_cluster)
      return Error{ExitCode::Failed, "DBCluster " + name + " not found", {}, "DBClusterNotFoundFault"};
    return next_cluster(name);
  }
  Result<aws::DbCluster> restore_cluster(const aws::ClusterPointInTimeRestore& r) override {
    calls.push_back("restore-cluster " + r.target);
    sent_cluster = r;
    if (restore_error) return *restore_error;
    return next_cluster(r.target);
  }
  Result<aws::DbInstance> create_instance(const aws::ClusterInstance& r) override {
    calls.push_back("create-instance " + r.identifier);
    sent_instance = r;
    if (create_error) return *create_error;
    return next(r.identifier);
  }

  Result<aws::DbInstance> describe(const std::string& name) override {
    calls.push_back("describe " + name);
    if (auto it = instances.find(name); it != instances.end()) return it->second;
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
    d.address = name + ".abc.us-east-1.rds.amazonaws.com";
    d.port = 5432;
    if (statuses.size() > 1) statuses.pop_front();
    return d;
  }
  aws::DbCluster next_cluster(const std::string& name) {
    aws::DbCluster c = source_cluster();
    c.identifier = name;
    c.members.clear();
    c.endpoint = name + ".cluster-abc.us-east-1.rds.amazonaws.com";
    c.status = cluster_statuses.front();
    if (cluster_statuses.size() > 1) cluster_statuses.pop_front();
    return c;
  }
};

aws::DbInstance writer() {
  aws::DbInstance d = source();
  d.identifier = "connect2-aurora-a";
  d.cluster = "connect2-aurora";
  d.engine = "aurora-postgresql";
  d.instance_class = "db.r6g.xlarge";
  return d;
}

PitrSource cluster_source() {
  PitrSource s;
  s.is_cluster = true;
  s.cluster = source_cluster();
  s.instance = writer();
  return s;
}

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

TEST(db_pitr, AClustersWindowIsWhatRdsReports) {
  auto w = restore_window(source_cluster());
  ASSERT_TRUE(w.ok()) << w.error().message;
  // 03:00:00.5: the window starts at the next whole second, never before RDS's.
  EXPECT_EQ(iso8601(w->earliest), "2026-11-28T03:00:01Z");
  EXPECT_EQ(iso8601(w->latest), "2026-11-30T10:10:00Z");
  EXPECT_FALSE(check_in_window(at("2026-11-28T03:00:00Z"), *w, "Aurora cluster connect2-aurora").ok());
  EXPECT_TRUE(check_in_window(at("2026-11-29T00:00:00Z"), *w, "Aurora cluster connect2-aurora").ok());
  auto fresh = source_cluster();
  fresh.earliest_restorable_time.clear();
  auto none = restore_window(fresh);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ExitCode::Refused);
  EXPECT_NE(none.error().message.find("Aurora cluster connect2-aurora"), std::string::npos);
}

TEST(db_pitr, AClusterSourceIsReadWithItsWriter) {
  DatabaseConfig db;
  db.rds_cluster = "connect2-aurora";
  FakeRestore g;
  g.instances["connect2-aurora-a"] = writer();
  g.clusters["connect2-aurora"] = source_cluster();
  auto s = read_source(g, db, "prod");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->is_cluster);
  EXPECT_EQ(s->identifier(), "connect2-aurora");
  EXPECT_EQ(s->describe(), "Aurora cluster connect2-aurora");
  EXPECT_EQ(g.calls, (std::vector<std::string>{"describe-cluster connect2-aurora", "describe connect2-aurora-a"}));
  EXPECT_EQ(s->instance.instance_class, "db.r6g.xlarge");
}

TEST(db_pitr, ClusterSourcesWithoutAWriterOrNotFoundAreRefusedWithAHint) {
  DatabaseConfig db;
  db.rds_cluster = "connect2-aurora";
  {
    FakeRestore g;  // the fake's clusters have no members
    auto s = read_source(g, db, "prod");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ExitCode::Refused);
    EXPECT_NE(s.error().message.find("no writer instance"), std::string::npos);
  }
  {
    FakeRestore g;
    g.describe_finds_cluster = false;
    auto s = read_source(g, db, "prod");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().hint.find("database.rds_cluster"), std::string::npos);
  }
  {
    // An instance that belongs to a cluster: the cluster is restored whole, named in the hint.
    DatabaseConfig member;
    member.rds_instance = "connect2-aurora-a";
    FakeRestore g;
    g.instances["connect2-aurora-a"] = writer();
    auto s = read_source(g, member, "prod");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().hint.find("rds_cluster: connect2-aurora"), std::string::npos);
  }
}

TEST(db_pitr, TheClusterRequestCopiesTheSourcesNetworkAndTheWritersClass) {
  auto r = pitr_request(cluster_source(), "connect2-aurora-pitr-20261130-0915", at("2026-11-30T09:15:00Z"), "rid");
  ASSERT_TRUE(r.is_cluster);
  EXPECT_EQ(r.target(), "connect2-aurora-pitr-20261130-0915");
  EXPECT_EQ(r.cluster.source, "connect2-aurora");
  EXPECT_EQ(r.cluster.restore_time, "2026-11-30T09:15:00Z");
  EXPECT_EQ(r.cluster.subnet_group, "connect2-db");
  EXPECT_EQ(r.cluster.security_groups, (std::vector<std::string>{"sg-1", "sg-2"}));
  EXPECT_EQ(r.cluster.parameter_group, "connect2-apg16");
  EXPECT_EQ(r.cluster.tags[0], (std::pair<std::string, std::string>{"rollback:id", "rid"}));
  EXPECT_EQ(r.cluster_instance.identifier, "connect2-aurora-pitr-20261130-0915-1");
  EXPECT_EQ(r.cluster_instance.cluster, "connect2-aurora-pitr-20261130-0915");
  EXPECT_EQ(r.cluster_instance.engine, "aurora-postgresql");
  EXPECT_EQ(r.cluster_instance.instance_class, "db.r6g.xlarge");
  EXPECT_EQ(r.cluster_instance.tags, r.cluster.tags);
  // The instance's name stays within RDS's rules when the cluster's is as long as allowed.
  const std::string longest = "a" + std::string(60, 'b') + "-c";
  ASSERT_EQ(longest.size(), aws::kMaxRdsIdentifier);
  EXPECT_TRUE(aws::check_rds_identifier(cluster_instance_name(longest)).ok()) << cluster_instance_name(longest);
  EXPECT_EQ(cluster_instance_name("x"), "x-1");
  // An instance source still makes an instance request.
  PitrSource plain;
  plain.instance = source();
  auto ri = pitr_request(plain, "t", at("2026-11-30T09:15:00Z"), "rid");
  EXPECT_FALSE(ri.is_cluster);
  EXPECT_EQ(ri.instance.instance_class, "db.r6g.large");
}

TEST(db_pitr, AClusterIsFollowedToAvailableThenItsInstanceIsCreatedAndFollowed) {
  FakeRestore g;
  g.cluster_statuses = {"creating", "creating", "available"};
  g.statuses = {"creating", "configuring-enhanced-monitoring", "available"};
  rb::testing::FakeClock clock;
  std::vector<std::string> lines;
  auto request = pitr_request(cluster_source(), "c-pitr", at("2026-11-30T09:15:00Z"), "rid");
  auto r = restore_and_wait(g, clock, request, kRestoreTimeout, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(lines, (std::vector<std::string>{"cluster c-pitr: creating", "cluster c-pitr: available",
                                             "instance c-pitr-1: creating",
                                             "instance c-pitr-1: configuring-enhanced-monitoring",
                                             "instance c-pitr-1: available"}));
  // The instance is created only once the cluster is available (RDS refuses it before).
  auto created = std::find(g.calls.begin(), g.calls.end(), "create-instance c-pitr-1");
  ASSERT_NE(created, g.calls.end());
  EXPECT_EQ(*(created - 1), "describe-cluster c-pitr");
  EXPECT_EQ(g.calls.front(), "restore-cluster c-pitr");
  EXPECT_EQ(g.sent_instance.cluster, "c-pitr");
  // The cluster's writer endpoint is reported, not the instance's.
  EXPECT_EQ(r->identifier, "c-pitr");
  EXPECT_EQ(r->address, "c-pitr.cluster-abc.us-east-1.rds.amazonaws.com");
  EXPECT_EQ(r->port, 5432);
  EXPECT_EQ(r->json["instance"]["identifier"], "c-pitr-1");
}

TEST(db_pitr, ClusterRestoresThatFailOrAreLost) {
  auto request = pitr_request(cluster_source(), "c-pitr", at("2026-11-30T09:15:00Z"), "rid");
  auto quiet = [](const std::string&) {};
  {
    // The cluster ends badly: no instance is created.
    FakeRestore g;
    g.cluster_statuses = {"creating", "inaccessible-encryption-credentials"};
    g.statuses = {"available"};
    rb::testing::FakeClock clock;
    auto r = restore_and_wait(g, clock, request, kRestoreTimeout, quiet);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().tag, "restore-failed");
    EXPECT_NE(r.error().message.find("restored cluster c-pitr"), std::string::npos);
    EXPECT_NE(r.error().hint.find("--source-type db-cluster"), std::string::npos);
    EXPECT_EQ(std::count(g.calls.begin(), g.calls.end(), "create-instance c-pitr-1"), 0);
  }
  {
    // The instance's creation fails: the error names it and the cluster.
    FakeRestore g;
    g.statuses = {"available"};
    g.create_error = Error{ExitCode::Failed, "InsufficientDBInstanceCapacity", {}, "InsufficientDBInstanceCapacity"};
    rb::testing::FakeClock clock;
    auto r = restore_and_wait(g, clock, request, kRestoreTimeout, quiet);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("instance c-pitr-1 of the restored cluster c-pitr"), std::string::npos);
  }
  {
    // Both replies lost: the cluster and the instance are found by reading them.
    FakeRestore g;
    g.restore_error = Error{ExitCode::Failed, "connection reset", {}, "ambiguous"};
    g.create_error = Error{ExitCode::Failed, "connection reset", {}, "ambiguous"};
    g.statuses = {"available"};
    rb::testing::FakeClock clock;
    auto r = restore_and_wait(g, clock, request, kRestoreTimeout, quiet);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(g.calls[1], "describe-cluster c-pitr");
  }
  {
    // One deadline for both: a slow cluster leaves no time for the instance.
    FakeRestore g;
    g.cluster_statuses = {"creating"};
    rb::testing::FakeClock clock;
    auto r = restore_and_wait(g, clock, request, std::chrono::minutes(5), quiet);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("cluster c-pitr is still 'creating'"), std::string::npos);
    EXPECT_NE(r.error().hint.find("describe-db-clusters"), std::string::npos);
  }
}

TEST(db_pitr, ExistingTargetsOfAClusterRestoreAreRefused) {
  auto request = pitr_request(cluster_source(), "c-pitr", at("2026-11-30T09:15:00Z"), "rid");
  {
    FakeRestore g;  // the cluster is there
    auto s = check_targets_free(g, request);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ExitCode::Refused);
    EXPECT_NE(s.error().message.find("Aurora cluster c-pitr already exists"), std::string::npos);
  }
  {
    FakeRestore g;  // only the instance is there
    g.describe_finds_cluster = false;
    g.statuses = {"available"};
    auto s = check_targets_free(g, request);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("RDS instance c-pitr-1 already exists"), std::string::npos);
  }
  {
    FakeRestore g;
    g.describe_finds_cluster = false;
    g.describe_finds_target = false;
    EXPECT_TRUE(check_targets_free(g, request).ok());
  }
}

TEST(db_pitr, ParsesADescribeDBClustersReply) {
  // The shape of botocore's rds/2014-10-31 DescribeDBClusters output (trimmed).
  const std::string xml = R"(<DescribeDBClustersResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBClustersResult><DBClusters><DBCluster>
    <DBClusterIdentifier>connect2-aurora</DBClusterIdentifier>
    <Status>available</Status>
    <Engine>aurora-postgresql</Engine>
    <Endpoint>connect2-aurora.cluster-abc.us-east-1.rds.amazonaws.com</Endpoint>
    <Port>5432</Port>
    <BackupRetentionPeriod>7</BackupRetentionPeriod>
    <EarliestRestorableTime>2026-11-23T10:00:00.123Z</EarliestRestorableTime>
    <LatestRestorableTime>2026-11-30T10:10:00Z</LatestRestorableTime>
    <DBSubnetGroup>connect2-db</DBSubnetGroup>
    <DBClusterParameterGroup>connect2-apg16</DBClusterParameterGroup>
    <VpcSecurityGroups>
      <VpcSecurityGroupMembership><VpcSecurityGroupId>sg-1</VpcSecurityGroupId><Status>active</Status></VpcSecurityGroupMembership>
    </VpcSecurityGroups>
    <DBClusterMembers>
      <DBClusterMember><DBInstanceIdentifier>connect2-aurora-b</DBInstanceIdentifier><IsClusterWriter>false</IsClusterWriter></DBClusterMember>
      <DBClusterMember><DBInstanceIdentifier>connect2-aurora-a</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter></DBClusterMember>
    </DBClusterMembers>
  </DBCluster></DBClusters></DescribeDBClustersResult></DescribeDBClustersResponse>)";
  auto c = aws::parse_db_cluster(xml, "DescribeDBClusters");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->identifier, "connect2-aurora");
  EXPECT_EQ(c->endpoint, "connect2-aurora.cluster-abc.us-east-1.rds.amazonaws.com");
  EXPECT_EQ(c->port, 5432);
  EXPECT_EQ(c->subnet_group, "connect2-db");
  EXPECT_EQ(c->parameter_group, "connect2-apg16");
  EXPECT_EQ(c->security_groups, (std::vector<std::string>{"sg-1"}));
  ASSERT_EQ(c->members.size(), 2u);
  EXPECT_EQ(c->writer(), "connect2-aurora-a");
  EXPECT_EQ(iso8601(restore_window(*c)->earliest), "2026-11-23T10:00:01Z");
  for (const char* bad : {"", "<x/>", "<DBCluster><DBClusterIdentifier>a</DBClusterIdentifier></DBCluster>", "<<<"})
    EXPECT_FALSE(aws::parse_db_cluster(bad, "DescribeDBClusters").ok()) << bad;
}

TEST(db_pitr, TheClusterPlanNamesTheNewClusterItsInstanceAndTheLiveOneUntouched) {
  const auto src = cluster_source();
  auto w = *restore_window(src);
  auto lines = plan_lines(src, "c-pitr", at("2026-11-30T09:15:00Z"), w, estimate_restore(src));
  const std::string text = join(lines, "\n");
  EXPECT_NE(text.find("Aurora cluster connect2-aurora (aurora-postgresql, writer connect2-aurora-a db.r6g.xlarge)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("NEW cluster c-pitr: subnet group connect2-db, security groups sg-1, sg-2, cluster parameter "
                      "group connect2-apg16"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("then its instance c-pitr-1 (db.r6g.xlarge"), std::string::npos) << text;
  EXPECT_NE(text.find("the live Aurora cluster connect2-aurora and the application are not touched"),
            std::string::npos)
      << text;
  EXPECT_EQ(estimate_restore(src), kRestoreBaseEstimate + kClusterInstanceEstimate);
}
