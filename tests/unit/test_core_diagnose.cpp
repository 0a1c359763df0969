#include <gtest/gtest.h>

#include "core/config.hpp"
#include "core/diagnose.hpp"

using namespace rb;

TEST(Diagnose, StoppedTasksNameTheirScenarioAndFix) {
  auto secrets = stopped_task_finding("prod", "api-prod:7", "TaskFailedToStart",
                                      "ResourceInitializationError: unable to pull secrets or registry auth: "
                                      "execution resource retrieval failed: AccessDeniedException secretsmanager",
                                      3);
  EXPECT_EQ(secrets.level, FindingLevel::Critical);
  EXPECT_EQ(secrets.scenario, "Scenario 2: Infrastructure Change Broke API");
  EXPECT_NE(secrets.what.find("3 tasks of api-prod:7"), std::string::npos);
  EXPECT_NE(secrets.fix.find("rollback ecs --env prod --restart"), std::string::npos);

  auto crash = stopped_task_finding("prod", "api-prod:7", "EssentialContainerExited", "Essential container in task exited", 1);
  EXPECT_EQ(crash.level, FindingLevel::Critical);
  EXPECT_EQ(crash.scenario, "Scenario 1: Bad Code Deploy");
  EXPECT_NE(crash.fix.find("`rollback ecs --env prod`"), std::string::npos);

  auto pull = stopped_task_finding("dev", "api-dev:2", "TaskFailedToStart", "CannotPullContainerError: manifest unknown", 2);
  EXPECT_NE(pull.what.find("cannot be pulled"), std::string::npos);

  auto scaled = stopped_task_finding("dev", "api-dev:2", "ServiceSchedulerInitiated", "Scaling activity initiated by deployment", 1);
  EXPECT_EQ(scaled.level, FindingLevel::Info);
}

TEST(Diagnose, PendingCertificateWithAndWithoutItsValidationRecord) {
  aws::AcmCertificate c;
  c.arn = "arn:aws:acm:us-east-1:1:certificate/x";
  c.domain = "api.example.com";
  c.status = "PENDING_VALIDATION";
  c.validations.push_back({"api.example.com", "DNS", "PENDING_VALIDATION", "_abc.api.example.com.", "CNAME", "_def.acm-validations.aws."});
  std::vector<aws::HostedZone> zones = {{"/hostedzone/Z1", "example.com.", false}, {"/hostedzone/Z2", "other.com.", false}};

  auto missing = certificate_findings({c}, zones, {{"/hostedzone/Z1", {}}}, 0);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].level, FindingLevel::Critical);
  EXPECT_NE(missing[0].what.find("validation record is missing"), std::string::npos);
  EXPECT_NE(missing[0].fix.find("/hostedzone/Z1"), std::string::npos);

  // The record present (names compared without case and trailing dot): only waiting is left.
  std::vector<aws::RecordSet> sets = {{"_ABC.api.example.com", "CNAME", {"_def.acm-validations.aws"}}};
  auto present = certificate_findings({c}, zones, {{"/hostedzone/Z1", sets}}, 0);
  ASSERT_EQ(present.size(), 1u);
  EXPECT_EQ(present[0].level, FindingLevel::Medium);
  EXPECT_NE(present[0].fix.find("30 minutes"), std::string::npos);

  // A record with another value is still missing.
  sets[0].values = {"_wrong.acm-validations.aws."};
  EXPECT_EQ(certificate_findings({c}, zones, {{"/hostedzone/Z1", sets}}, 0)[0].level, FindingLevel::Critical);
}

TEST(Diagnose, ExpiringAndFailedCertificates) {
  aws::AcmCertificate ok;
  ok.status = "ISSUED";
  ok.not_after = 100 * 86400.0;
  EXPECT_TRUE(certificate_findings({ok}, {}, {}, 0).empty());
  aws::AcmCertificate soon = ok;
  soon.not_after = 5 * 86400.0;
  auto f = certificate_findings({soon}, {}, {}, 0);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].what.find("expires in 5 days"), std::string::npos);
  aws::AcmCertificate failed;
  failed.status = "FAILED";
  failed.failure_reason = "CAA_ERROR";
  failed.in_use_by = {"arn:aws:elasticloadbalancing:lb"};
  f = certificate_findings({failed}, {}, {}, 0);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].level, FindingLevel::Critical);
  EXPECT_NE(f[0].what.find("CAA_ERROR"), std::string::npos);
}

TEST(Diagnose, RankingPutsTheWorstFirstAndKeepsOrderWithinALevel) {
  std::vector<Finding> f = {{FindingLevel::Info, "", "a", ""}, {FindingLevel::Critical, "", "b", ""},
                            {FindingLevel::High, "", "c", ""}, {FindingLevel::Critical, "", "d", ""}};
  rank_findings(f);
  EXPECT_EQ(f[0].what, "b");
  EXPECT_EQ(f[1].what, "d");
  EXPECT_EQ(f[2].what, "c");
  EXPECT_EQ(f[3].what, "a");
}

TEST(Route53, ZoneForPicksTheLongestSuffixOnALabelBoundary) {
  std::vector<aws::HostedZone> zones = {{"/hostedzone/A", "example.com.", false},
                                        {"/hostedzone/B", "api.example.com.", false},
                                        {"/hostedzone/C", "le.com.", false}};
  EXPECT_EQ(aws::zone_for(zones, "_x.api.example.com.")->id, "/hostedzone/B");
  EXPECT_EQ(aws::zone_for(zones, "www.example.com")->id, "/hostedzone/A");
  EXPECT_EQ(aws::zone_for(zones, "example.org."), nullptr);
}

TEST(Route53, ParsesZonesAndRecordSetsWithTheirPagination) {
  std::string next;
  auto zones = aws::parse_hosted_zones(
      R"(<ListHostedZonesResponse><HostedZones><HostedZone><Id>/hostedzone/Z1</Id><Name>example.com.</Name>)"
      R"(<Config><PrivateZone>false</PrivateZone></Config></HostedZone></HostedZones><IsTruncated>true</IsTruncated>)"
      R"(<NextMarker>Z2</NextMarker></ListHostedZonesResponse>)",
      &next);
  ASSERT_TRUE(zones.ok());
  ASSERT_EQ(zones->size(), 1u);
  EXPECT_EQ((*zones)[0].name, "example.com.");
  EXPECT_EQ(next, "Z2");
  std::string name, type;
  auto sets = aws::parse_record_sets(
      R"(<ListResourceRecordSetsResponse><ResourceRecordSets><ResourceRecordSet><Name>a.example.com.</Name><Type>CNAME</Type>)"
      R"(<ResourceRecords><ResourceRecord><Value>b.example.com.</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>)"
      R"(</ResourceRecordSets><IsTruncated>false</IsTruncated></ListResourceRecordSetsResponse>)",
      &name, &type);
  ASSERT_TRUE(sets.ok());
  EXPECT_EQ((*sets)[0].values, std::vector<std::string>{"b.example.com."});
  EXPECT_TRUE(name.empty());
  EXPECT_FALSE(aws::parse_hosted_zones("not xml <", &next).ok());
}

TEST(Acm, ParsesACertificateAndToleratesWrongTypes) {
  auto c = aws::parse_acm_certificate(nlohmann::json::parse(R"({
    "CertificateArn": "arn:x", "DomainName": "api.example.com", "Status": "PENDING_VALIDATION", "NotAfter": 1800000000.5,
    "InUseBy": ["lb", 7], "DomainValidationOptions": [{"DomainName": "api.example.com", "ValidationMethod": "DNS",
      "ValidationStatus": "PENDING_VALIDATION", "ResourceRecord": {"Name": "_a.api.example.com.", "Type": "CNAME", "Value": "_b."}}]})"));
  EXPECT_EQ(c.status, "PENDING_VALIDATION");
  EXPECT_EQ(c.in_use_by, std::vector<std::string>{"lb"});
  ASSERT_EQ(c.validations.size(), 1u);
  EXPECT_EQ(c.validations[0].record_value, "_b.");
  auto odd = aws::parse_acm_certificate(nlohmann::json::parse(R"({"Status": 5, "DomainValidationOptions": "x", "NotAfter": "soon"})"));
  EXPECT_TRUE(odd.status.empty());
  EXPECT_TRUE(odd.validations.empty());
  EXPECT_EQ(odd.not_after, 0);
}

namespace {

aws::SecurityGroup group(const std::string& id, std::vector<aws::IpPermission> ingress) {
  aws::SecurityGroup g;
  g.id = id;
  g.ingress = std::move(ingress);
  return g;
}

aws::IpPermission tcp(int from, int to, std::vector<std::string> groups, std::vector<std::string> cidrs = {}) {
  aws::IpPermission p;
  p.protocol = "tcp";
  p.from_port = from;
  p.to_port = to;
  p.source_groups = std::move(groups);
  p.cidrs = std::move(cidrs);
  return p;
}

ReachCheck redis_target() {
  ReachCheck t;
  t.kind = NetworkTarget::Redis;
  t.label = "Redis cache cluster redis-prod";
  t.endpoint = "redis-prod.0001.use1.cache.amazonaws.com:6379";
  t.port = 6379;
  t.security_groups = {"sg-redis"};
  return t;
}

}  // namespace

TEST(Diagnose, IngressAllowsByGroupPairOnlyFromTheTasksGroupsAndOnTheirPort) {
  const std::vector<std::string> tasks = {"sg-tasks"};
  EXPECT_TRUE(ingress_allows({group("sg-redis", {tcp(6379, 6379, {"sg-tasks"})})}, 6379, tasks).allowed);
  auto v = ingress_allows({group("sg-redis", {tcp(6000, 7000, {"sg-tasks"})})}, 6379, tasks);
  EXPECT_TRUE(v.allowed);  // a range that contains the port
  EXPECT_EQ(v.how, "sg-redis allows tcp 6000-7000 from sg-tasks");
  // The wrong port, another group, an empty group, udp: no.
  EXPECT_FALSE(ingress_allows({group("sg-redis", {tcp(6380, 6380, {"sg-tasks"})})}, 6379, tasks).allowed);
  EXPECT_FALSE(ingress_allows({group("sg-redis", {tcp(6379, 6379, {"sg-bastion"})})}, 6379, tasks).allowed);
  EXPECT_FALSE(ingress_allows({group("sg-redis", {})}, 6379, tasks).allowed);
  auto udp = tcp(6379, 6379, {"sg-tasks"});
  udp.protocol = "udp";
  EXPECT_FALSE(ingress_allows({group("sg-redis", {udp})}, 6379, tasks).allowed);
  // Protocol number 6 is tcp; the second of two groups may be the one that allows it.
  auto six = tcp(6379, 6379, {"sg-tasks"});
  six.protocol = "6";
  EXPECT_TRUE(ingress_allows({group("sg-a", {}), group("sg-b", {six})}, 6379, tasks).allowed);
  // One of several task groups is enough.
  EXPECT_TRUE(ingress_allows({group("sg-redis", {tcp(6379, 6379, {"sg-2"})})}, 6379, {"sg-1", "sg-2"}).allowed);
}

TEST(Diagnose, IngressAllTrafficAndCidrRules) {
  aws::IpPermission all;
  all.protocol = "-1";  // all traffic: no ports
  all.source_groups = {"sg-tasks"};
  auto v = ingress_allows({group("sg-redis", {all})}, 6379, {"sg-tasks"});
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.how, "sg-redis allows all traffic from sg-tasks");
  // A CIDR counts when it holds every task IP, or when the IPs are unknown.
  auto cidr = group("sg-redis", {tcp(6379, 6379, {}, {"10.0.0.0/16"})});
  EXPECT_TRUE(ingress_allows({cidr}, 6379, {"sg-tasks"}).allowed);
  EXPECT_TRUE(ingress_allows({cidr}, 6379, {"sg-tasks"}, {"10.0.3.4", "10.0.200.1"}).allowed);
  EXPECT_FALSE(ingress_allows({cidr}, 6379, {"sg-tasks"}, {"10.0.3.4", "10.1.0.1"}).allowed);
  EXPECT_FALSE(ingress_allows({cidr}, 6380, {"sg-tasks"}).allowed);
  EXPECT_TRUE(ingress_allows({group("sg-r", {tcp(6379, 6379, {}, {"0.0.0.0/0"})})}, 6379, {"sg-t"}, {"172.31.9.9"}).allowed);
  // IPv6 ranges never hold the tasks' IPv4 addresses.
  EXPECT_FALSE(ingress_allows({group("sg-r", {tcp(6379, 6379, {}, {"::/0"})})}, 6379, {"sg-t"}, {"10.0.0.1"}).allowed);
  // A rule with only a prefix list is not resolved: it does not count.
  auto pl = tcp(6379, 6379, {});
  pl.prefix_lists = {"pl-1"};
  EXPECT_FALSE(ingress_allows({group("sg-r", {pl})}, 6379, {"sg-t"}).allowed);
}

TEST(Diagnose, CidrContains) {
  EXPECT_TRUE(cidr_contains("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(cidr_contains("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(cidr_contains("0.0.0.0/0", "192.168.1.1"));
  EXPECT_TRUE(cidr_contains("10.0.1.7/32", "10.0.1.7"));
  EXPECT_FALSE(cidr_contains("10.0.1.7/32", "10.0.1.8"));
  for (const char* bad : {"10.0.0.0", "10.0.0.0/33", "10.0.0/8", "10.0.0.256/8", "x/8", "::/0"})
    EXPECT_FALSE(cidr_contains(bad, "10.0.0.1")) << bad;
  EXPECT_FALSE(cidr_contains("10.0.0.0/8", "fd00::1"));
}

TEST(Diagnose, ABrokenRedisRuleIsCriticalAndNamesGroupsPortAndTheFix) {
  auto target = redis_target();
  EXPECT_FALSE(reachability_finding("prod", target, {group("sg-redis", {tcp(6379, 6379, {"sg-tasks"})})}, {"sg-tasks"}));
  auto f = reachability_finding("prod", target, {group("sg-redis", {tcp(6379, 6379, {"sg-old"})})}, {"sg-tasks"});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->level, FindingLevel::Critical);
  EXPECT_EQ(f->scenario, "Scenario 4: Redis Configuration Issues");
  EXPECT_NE(f->what.find("the tasks cannot reach Redis: no ingress rule on sg-redis allows port 6379 from sg-tasks"),
            std::string::npos)
      << f->what;
  EXPECT_NE(f->what.find("redis-prod.0001.use1.cache.amazonaws.com:6379"), std::string::npos);
  EXPECT_NE(f->fix.find("aws ec2 authorize-security-group-ingress --group-id sg-redis --protocol tcp --port 6379 "
                        "--source-group sg-tasks"),
            std::string::npos)
      << f->fix;
  EXPECT_NE(f->fix.find("rollback infra --env prod"), std::string::npos);
  EXPECT_NE(f->fix.find("rollback ecs --env prod --restart"), std::string::npos);

  ReachCheck db = target;
  db.kind = NetworkTarget::Database;
  db.label = "RDS instance connect2-prod";
  db.port = 5432;
  auto d = reachability_finding("prod", db, {group("sg-redis", {tcp(6379, 6379, {"sg-tasks"})})}, {"sg-tasks"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->scenario, "Scenario 2: Infrastructure Change Broke API");
  EXPECT_NE(d->what.find("the tasks cannot reach the database: no ingress rule on sg-redis allows port 5432"),
            std::string::npos);

  target.security_groups.clear();
  auto none = reachability_finding("prod", target, {}, {"sg-tasks"});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->level, FindingLevel::High);
}

TEST(Diagnose, TargetStatus) {
  EXPECT_FALSE(target_status_finding("prod", NetworkTarget::Redis, "Redis cache cluster c", "available"));
  auto modifying = target_status_finding("prod", NetworkTarget::Redis, "Redis cache cluster c", "modifying");
  ASSERT_TRUE(modifying);
  EXPECT_EQ(modifying->level, FindingLevel::High);
  EXPECT_EQ(modifying->scenario, "Scenario 4: Redis Configuration Issues");
  EXPECT_NE(modifying->what.find("Redis cache cluster c is modifying"), std::string::npos);
  auto deleting = target_status_finding("prod", NetworkTarget::Database, "RDS instance d", "deleting");
  ASSERT_TRUE(deleting);
  EXPECT_EQ(deleting->level, FindingLevel::Critical);
  EXPECT_EQ(deleting->scenario, "Scenario 2: Infrastructure Change Broke API");
}

TEST(Diagnose, TaskSecurityGroupsAndSecretReferencesFromEcsJson) {
  auto nc = nlohmann::json::parse(R"({"awsvpcConfiguration": {"subnets": ["subnet-1"],
                                      "securityGroups": ["sg-1", "sg-2", "sg-1", 7]}})");
  EXPECT_EQ(task_security_groups(nc), (std::vector<std::string>{"sg-1", "sg-2"}));
  EXPECT_TRUE(task_security_groups(nlohmann::json()).empty());
  EXPECT_TRUE(task_security_groups(nlohmann::json::parse(R"({"awsvpcConfiguration": {"securityGroups": "sg-1"}})")).empty());

  auto td = nlohmann::json::parse(R"({"taskDefinition": {"containerDefinitions": [
    {"name": "api", "secrets": [
      {"name": "REDIS_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/redis-AbCdEf:password::"},
      {"name": "REDIS_URL", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/redis-AbCdEf"},
      {"name": "FLAG", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/flag"},
      {"name": "PLAIN", "valueFrom": "prod-flag"},
      {"name": "ODD", "valueFrom": 5}]},
    {"name": "worker", "secrets": [{"valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-XyZ123"}]},
    {"name": "sidecar", "secrets": "nope"}, 3]}})");
  auto refs = secrets_manager_references(td);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].secret_id, "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/redis-AbCdEf");
  EXPECT_EQ(refs[0].used_by, "container api");
  EXPECT_EQ(refs[1].secret_id, "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-XyZ123");
  EXPECT_EQ(refs[1].used_by, "container worker");
  EXPECT_TRUE(secrets_manager_references(nlohmann::json::array()).empty());
}

TEST(Diagnose, SecretsMissingScheduledForDeletionOrChangedSinceTheDeployment) {
  const double deployed = 1'700'000'000;
  SecretCheck fine{{"arn:aws:secretsmanager:r:1:secret:ok-1", "container api"}, true, false, "", {}};
  fine.description.last_changed_at = deployed - 60;
  SecretCheck missing{{"arn:aws:secretsmanager:r:1:secret:prod/redis-1", "container api"}, false, true, "", {}};
  SecretCheck deleted{{"db-creds", "container api"}, true, false, "", {}};
  deleted.description.arn = "arn:aws:secretsmanager:r:1:secret:db-creds-2";
  deleted.description.deleted_at = deployed + 10;
  SecretCheck changed{{"prod/redis", "redis.secret"}, true, false, "", {}};
  changed.description.last_changed_at = deployed + 30;
  SecretCheck denied{{"x", "container api"}, false, false, "Secrets Manager DescribeSecret failed: AccessDeniedException", {}};

  auto f = secret_findings("prod", {fine, missing, deleted, changed, denied}, deployed);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].level, FindingLevel::Critical);
  EXPECT_EQ(f[0].scenario, "Scenario 4: Redis Configuration Issues");  // a Redis secret
  EXPECT_NE(f[0].what.find("prod/redis-1 (used by container api) does not exist"), std::string::npos);
  EXPECT_NE(f[0].fix.find("rollback ecs --env prod --restart"), std::string::npos);
  EXPECT_EQ(f[1].level, FindingLevel::Critical);
  EXPECT_EQ(f[1].scenario, "Scenario 2: Infrastructure Change Broke API");
  EXPECT_NE(f[1].what.find("scheduled for deletion"), std::string::npos);
  EXPECT_NE(f[1].fix.find("aws secretsmanager restore-secret --secret-id arn:aws:secretsmanager:r:1:secret:db-creds-2"),
            std::string::npos);
  EXPECT_EQ(f[2].level, FindingLevel::High);
  EXPECT_EQ(f[2].scenario, "Scenario 4: Redis Configuration Issues");
  EXPECT_NE(f[2].what.find("changed at 2023-11-14T22:13:50Z, after the current deployment started"), std::string::npos)
      << f[2].what;
  EXPECT_EQ(f[3].level, FindingLevel::Info);
  // Without a known deployment time, a change is not judged.
  EXPECT_EQ(secret_findings("prod", {changed}, 0).size(), 0u);
}

TEST(Diagnose, SecretsWithoutAnExecutionRoleCannotBeFetched) {
  auto td = nlohmann::json::parse(R"({"taskDefinition": {"containerDefinitions": [
    {"name": "api", "secrets": [{"name": "A", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/a"}]},
    {"name": "worker", "secrets": [{"name": "B", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:b-1"}]},
    {"name": "sidecar", "secrets": []}]}})");
  auto f = execution_role_finding("prod", td, "api-prod:7");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->level, FindingLevel::Critical);
  EXPECT_NE(f->what.find("task definition api-prod:7 fetches secrets (containers api, worker) but names no "
                         "executionRoleArn"),
            std::string::npos)
      << f->what;
  EXPECT_NE(f->fix.find("rollback ecs --env prod"), std::string::npos);
  td["taskDefinition"]["executionRoleArn"] = "arn:aws:iam::1:role/ecsTaskExecutionRole";
  EXPECT_FALSE(execution_role_finding("prod", td, "api-prod:7"));
  EXPECT_FALSE(execution_role_finding("prod", nlohmann::json::parse(R"({"containerDefinitions": [{"name": "a"}]})"), "x"));
  EXPECT_FALSE(execution_role_finding("prod", nlohmann::json::parse(R"({"containerDefinitions": 3})"), "x"));
  EXPECT_FALSE(execution_role_finding("prod", nlohmann::json(), "x"));
}

TEST(Diagnose, AMissingDependencyIsCriticalInItsScenario) {
  auto redis = missing_dependency_finding("prod", NetworkTarget::Redis, "Redis cache cluster c does not exist");
  EXPECT_EQ(redis.level, FindingLevel::Critical);
  EXPECT_EQ(redis.scenario, "Scenario 4: Redis Configuration Issues");
  EXPECT_EQ(redis.what, "Redis cache cluster c does not exist");
  EXPECT_NE(redis.fix.find("redis: in rollback.yaml"), std::string::npos);
  EXPECT_NE(redis.fix.find("rollback ecs --env prod --restart"), std::string::npos);
  auto db = missing_dependency_finding("prod", NetworkTarget::Database, "RDS instance d does not exist");
  EXPECT_EQ(db.scenario, "Scenario 2: Infrastructure Change Broke API");
  EXPECT_NE(db.fix.find("database: in rollback.yaml"), std::string::npos);
}

TEST(Diagnose, FixesOnAProtectedEnvironmentCarryTheReasonItsCommandsNeed) {
  const std::string hint = reason_hint(true);
  Finding f = stopped_task_finding("prod", "app:7", "TaskFailedToStart", "ResourceInitializationError: unable to pull "
                                   "secrets or registry auth", 1);
  std::string fix = with_reason_in_commands(f.fix, hint);
  EXPECT_NE(fix.find("`rollback infra --env prod --pr N --reason \"…\"`"), std::string::npos) << fix;
  EXPECT_NE(fix.find("`rollback ecs --env prod --restart --reason \"…\"`"), std::string::npos) << fix;
  // Read-only commands, commands that already say why, and other quoted text are left alone.
  EXPECT_EQ(with_reason_in_commands("`rollback status --env prod` then `rollback db status --env prod`", hint),
            "`rollback status --env prod` then `rollback db status --env prod`");
  EXPECT_EQ(with_reason_in_commands("`rollback ecs --env prod --reason \"x\"`", hint), "`rollback ecs --env prod --reason \"x\"`");
  EXPECT_EQ(with_reason_in_commands("`rollback state restore --env prod --version V` and `aws ecs describe`", hint),
            "`rollback state restore --env prod --version V --reason \"…\"` and `aws ecs describe`");
  EXPECT_EQ(with_reason_in_commands("an unclosed ` rollback ecs", hint), "an unclosed ` rollback ecs");
  // Unprotected: no reason needed, nothing added.
  EXPECT_EQ(with_reason_in_commands(f.fix, reason_hint(false)), f.fix);
}
