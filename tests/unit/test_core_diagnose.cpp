#include <gtest/gtest.h>

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
