// The thin EC2, ElastiCache, RDS (DescribeDBInstances) and Secrets Manager clients that
// diagnose's network and secret checks read: replies shaped like the real ones (recorded from
// the sandbox, members checked against botocore's models), odd replies, and request shapes.
#include <gtest/gtest.h>

#include "../aws/aws_test_support.hpp"
#include "aws/ec2.hpp"
#include "aws/elasticache.hpp"
#include "aws/rds.hpp"
#include "aws/secretsmanager.hpp"

using namespace rb;
using namespace rb::aws;
using rb::aws::testing::FakeClock;
using rb::aws::testing::FakeTransport;
using rb::aws::testing::ScopedEnv;

namespace {

// DescribeSecurityGroups (EC2 2016-11-15): a group pair rule, an all-traffic CIDR rule, a port
// range with an IPv6 range and a prefix list, and egress (which is not ingress).
constexpr const char* kSecurityGroupsXml = R"(<?xml version="1.0" encoding="utf-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><securityGroupInfo><item><groupId>sg-45b40b1100a6ce2f4</groupId><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissionsEgress><tagSet/><vpcId>vpc-f0cfafee9e56a75db</vpcId><ownerId>123456789012</ownerId><groupName>redis</groupName><groupDescription>r</groupDescription><ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>6379</fromPort><toPort>6379</toPort><groups><item><userId>123456789012</userId><groupId>sg-152352fdea14f50c7</groupId></item></groups><ipRanges/><ipv6Ranges/><prefixListIds/></item><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>10.0.0.0/8</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item><item><ipProtocol>TCP</ipProtocol><fromPort>6000</fromPort><toPort>7000</toPort><groups/><ipRanges/><ipv6Ranges><item><cidrIpv6>fd00::/8</cidrIpv6></item></ipv6Ranges><prefixListIds><item><prefixListId>pl-1234</prefixListId></item></prefixListIds></item></ipPermissions></item><item><groupId>sg-2</groupId><groupName>empty</groupName><ipPermissions/></item></securityGroupInfo><requestId>request-id</requestId></DescribeSecurityGroupsResponse>)";

// DescribeCacheClusters with ShowCacheNodeInfo (ElastiCache 2015-02-02).
constexpr const char* kCacheClustersXml = R"(<DescribeCacheClustersResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><DescribeCacheClustersResult><CacheClusters><CacheCluster><CacheClusterId>redis-prod</CacheClusterId><CacheNodeType>cache.t3.micro</CacheNodeType><Engine>redis</Engine><CacheClusterStatus>available</CacheClusterStatus><NumCacheNodes>1</NumCacheNodes><CacheNodes><CacheNode><CacheNodeId>0001</CacheNodeId><CacheNodeStatus>available</CacheNodeStatus><Endpoint><Address>redis-prod.0001.us-east-1.cache.amazonaws.com</Address><Port>6380</Port></Endpoint></CacheNode></CacheNodes><SecurityGroups><member><SecurityGroupId>sg-45b40b1100a6ce2f4</SecurityGroupId><Status>active</Status></member><member><SecurityGroupId>sg-2</SecurityGroupId><Status>active</Status></member></SecurityGroups><ReplicationGroupId>rg-prod</ReplicationGroupId><ARN>arn:aws:elasticache:us-east-1:123456789012:cluster:redis-prod</ARN></CacheCluster><CacheCluster><CacheClusterId>memcached-1</CacheClusterId><Engine>memcached</Engine><CacheClusterStatus>modifying</CacheClusterStatus><ConfigurationEndpoint><Address>memcached-1.cfg.use1.cache.amazonaws.com</Address><Port>11211</Port></ConfigurationEndpoint><CacheNodes><CacheNode><Endpoint><Address>node</Address><Port>not-a-number</Port></Endpoint></CacheNode></CacheNodes></CacheCluster></CacheClusters></DescribeCacheClustersResult><ResponseMetadata><RequestId>n1a</RequestId></ResponseMetadata></DescribeCacheClustersResponse>)";

constexpr const char* kReplicationGroupsXml = R"(<DescribeReplicationGroupsResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><DescribeReplicationGroupsResult><ReplicationGroups><ReplicationGroup><ReplicationGroupId>rg-prod</ReplicationGroupId><Description>d</Description><Status>available</Status><MemberClusters><ClusterId>rg-prod-001</ClusterId><ClusterId>rg-prod-002</ClusterId></MemberClusters><NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><Status>available</Status><PrimaryEndpoint><Address>master.rg-prod.81t0p0.use1.cache.amazonaws.com</Address><Port>6379</Port></PrimaryEndpoint></NodeGroup></NodeGroups><ClusterEnabled>false</ClusterEnabled></ReplicationGroup></ReplicationGroups></DescribeReplicationGroupsResult><ResponseMetadata><RequestId>m4o</RequestId></ResponseMetadata></DescribeReplicationGroupsResponse>)";

constexpr const char* kDbInstancesXml = R"(<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBInstancesResult><DBInstances><DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier><Engine>postgres</Engine><DBInstanceStatus>available</DBInstanceStatus><Endpoint><Address>db1.aaaaaaaaaa.us-east-1.rds.amazonaws.com</Address><Port>5432</Port></Endpoint><DBSecurityGroups/><VpcSecurityGroups><VpcSecurityGroupMembership><VpcSecurityGroupId>sg-3ae5ccdb79358489d</VpcSecurityGroupId><Status>active</Status></VpcSecurityGroupMembership></VpcSecurityGroups><DbInstancePort>5432</DbInstancePort></DBInstance><DBInstance><DBInstanceIdentifier>db2</DBInstanceIdentifier><DBInstanceStatus>creating</DBInstanceStatus><DbInstancePort>3306</DbInstancePort></DBInstance></DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>)";

class AwsNetwork : public ::testing::Test {
 protected:
  void SetUp() override { env.clear_aws(); }

  AwsClient make(const std::string& service) {
    AwsClientConfig config;
    config.service = service;
    config.region = "us-east-1";
    config.endpoint = "http://sandbox";
    config.credentials = Credentials{"AKIATEST", "secretsecret", "", "environment", ""};
    config.retry.random = [] { return 0.0; };
    return AwsClient(std::move(config), transport, clock);
  }

  ScopedEnv env;
  FakeTransport transport;
  FakeClock clock;
};

}  // namespace

TEST(Ec2, ParsesIngressRulesGroupPairsCidrsAndPorts) {
  auto groups = parse_security_groups(kSecurityGroupsXml);
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  ASSERT_EQ(groups->size(), 2u);
  const auto& g = (*groups)[0];
  EXPECT_EQ(g.id, "sg-45b40b1100a6ce2f4");
  EXPECT_EQ(g.name, "redis");
  EXPECT_EQ(g.vpc_id, "vpc-f0cfafee9e56a75db");
  ASSERT_EQ(g.ingress.size(), 3u);  // egress is not read as ingress
  EXPECT_EQ(g.ingress[0].protocol, "tcp");
  EXPECT_EQ(g.ingress[0].from_port, 6379);
  EXPECT_EQ(g.ingress[0].to_port, 6379);
  EXPECT_EQ(g.ingress[0].source_groups, std::vector<std::string>{"sg-152352fdea14f50c7"});
  EXPECT_TRUE(g.ingress[0].cidrs.empty());
  EXPECT_EQ(g.ingress[1].protocol, "-1");
  EXPECT_EQ(g.ingress[1].from_port, -1);  // all traffic has no ports
  EXPECT_EQ(g.ingress[1].cidrs, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(g.ingress[2].protocol, "tcp");  // lower-cased
  EXPECT_EQ(g.ingress[2].cidrs, std::vector<std::string>{"fd00::/8"});
  EXPECT_EQ(g.ingress[2].prefix_lists, std::vector<std::string>{"pl-1234"});
  EXPECT_TRUE((*groups)[1].ingress.empty());
}

TEST(Ec2, OddRepliesAreErrorsOrAbsentValuesNeverThrows) {
  EXPECT_FALSE(parse_security_groups("<not xml").ok());
  EXPECT_FALSE(parse_security_groups("<DescribeSecurityGroupsResponse/>").ok());
  EXPECT_FALSE(parse_security_groups("<r><securityGroupInfo><item><groupName>x</groupName></item></securityGroupInfo></r>").ok());
  auto odd = parse_security_groups("<r><securityGroupInfo><item><groupId>sg-1</groupId><ipPermissions><item>"
                                   "<ipProtocol>tcp</ipProtocol><fromPort>99999999999999999999</fromPort>"
                                   "<toPort>-5</toPort></item></ipPermissions></item></securityGroupInfo></r>");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ((*odd)[0].ingress[0].from_port, -1);
  EXPECT_EQ((*odd)[0].ingress[0].to_port, -1);
}

TEST_F(AwsNetwork, DescribeSecurityGroupsSendsEachIdAndTheApiVersion) {
  auto ec2 = make("ec2");
  transport.respond(200, kSecurityGroupsXml);
  auto groups = describe_security_groups(ec2, {"sg-45b40b1100a6ce2f4", "sg-2"});
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  ASSERT_EQ(transport.requests.size(), 1u);
  const auto& body = transport.requests[0].body;
  EXPECT_NE(body.find("Action=DescribeSecurityGroups"), std::string::npos);
  EXPECT_NE(body.find("Version=2016-11-15"), std::string::npos);
  EXPECT_NE(body.find("GroupId.1=sg-45b40b1100a6ce2f4"), std::string::npos);
  EXPECT_NE(body.find("GroupId.2=sg-2"), std::string::npos);
  // No ids: no call.
  auto none = describe_security_groups(ec2, {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(transport.requests.size(), 1u);
  // EC2's error shape (<Response><Errors><Error>) keeps its code as the tag.
  transport.respond(400, "<Response><Errors><Error><Code>InvalidGroup.NotFound</Code><Message>The security group "
                         "'sg-9' does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>");
  auto missing = describe_security_groups(ec2, {"sg-9"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().tag, "InvalidGroup.NotFound");
}

TEST(ElastiCache, ParsesClustersWithTheirEndpointAndSecurityGroups) {
  auto clusters = parse_cache_clusters(kCacheClustersXml);
  ASSERT_TRUE(clusters.ok()) << clusters.error().message;
  ASSERT_EQ(clusters->size(), 2u);
  const auto& redis = (*clusters)[0];
  EXPECT_EQ(redis.id, "redis-prod");
  EXPECT_EQ(redis.status, "available");
  EXPECT_EQ(redis.engine, "redis");
  EXPECT_EQ(redis.replication_group, "rg-prod");
  EXPECT_EQ(redis.address, "redis-prod.0001.us-east-1.cache.amazonaws.com");
  EXPECT_EQ(redis.port, 6380);
  EXPECT_EQ(redis.security_groups, (std::vector<std::string>{"sg-45b40b1100a6ce2f4", "sg-2"}));
  const auto& memcached = (*clusters)[1];
  EXPECT_EQ(memcached.status, "modifying");
  EXPECT_EQ(memcached.address, "memcached-1.cfg.use1.cache.amazonaws.com");  // the configuration endpoint wins
  EXPECT_EQ(memcached.port, 11211);
  EXPECT_TRUE(memcached.security_groups.empty());

  EXPECT_FALSE(parse_cache_clusters("<oops").ok());
  EXPECT_FALSE(parse_cache_clusters("<DescribeCacheClustersResponse/>").ok());
  auto odd = parse_cache_clusters("<r><CacheClusters><CacheCluster><CacheClusterId>c</CacheClusterId><CacheNodes>"
                                  "<CacheNode><Endpoint><Address>a</Address><Port>x</Port></Endpoint></CacheNode>"
                                  "</CacheNodes></CacheCluster></CacheClusters></r>");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ((*odd)[0].address, "a");
  EXPECT_EQ((*odd)[0].port, 0);  // unreadable: absent
}

TEST(ElastiCache, ParsesReplicationGroupsAndChecksIdentifiers) {
  auto groups = parse_replication_groups(kReplicationGroupsXml);
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].id, "rg-prod");
  EXPECT_EQ((*groups)[0].status, "available");
  EXPECT_EQ((*groups)[0].address, "master.rg-prod.81t0p0.use1.cache.amazonaws.com");
  EXPECT_EQ((*groups)[0].port, 6379);
  EXPECT_EQ((*groups)[0].member_clusters, (std::vector<std::string>{"rg-prod-001", "rg-prod-002"}));
  EXPECT_FALSE(parse_replication_groups("<r/>").ok());

  EXPECT_TRUE(check_elasticache_identifier("connect2-prod", kMaxReplicationGroupId, "x").ok());
  for (const char* bad : {"", "1abc", "a--b", "a-", "a_b"})
    EXPECT_FALSE(check_elasticache_identifier(bad, kMaxReplicationGroupId, "x").ok()) << bad;
  EXPECT_FALSE(check_elasticache_identifier(std::string(41, 'a'), kMaxReplicationGroupId, "x").ok());
  EXPECT_TRUE(check_elasticache_identifier(std::string(50, 'a'), kMaxCacheClusterId, "x").ok());
}

TEST_F(AwsNetwork, DescribeCacheClusterAsksForNodeInfoAndPicksTheNamedCluster) {
  auto cache = make("elasticache");
  transport.respond(200, kCacheClustersXml);
  auto c = describe_cache_cluster(cache, "redis-prod");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->id, "redis-prod");
  const auto& body = transport.requests[0].body;
  EXPECT_NE(body.find("Action=DescribeCacheClusters"), std::string::npos);
  EXPECT_NE(body.find("Version=2015-02-02"), std::string::npos);
  EXPECT_NE(body.find("CacheClusterId=redis-prod"), std::string::npos);
  EXPECT_NE(body.find("ShowCacheNodeInfo=true"), std::string::npos);
  transport.respond(404, "<ErrorResponse><Error><Type>Sender</Type><Code>CacheClusterNotFound</Code><Message>Cache "
                         "cluster nope not found.</Message></Error><RequestId>x</RequestId></ErrorResponse>");
  auto missing = describe_cache_cluster(cache, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().tag, "CacheClusterNotFound");
  EXPECT_NE(missing.error().message.find("ElastiCache DescribeCacheClusters"), std::string::npos);
}

TEST(Rds, ParsesInstancesWithEndpointPortAndVpcSecurityGroups) {
  auto dbs = parse_db_instances(kDbInstancesXml);
  ASSERT_TRUE(dbs.ok()) << dbs.error().message;
  ASSERT_EQ(dbs->size(), 2u);
  EXPECT_EQ((*dbs)[0].identifier, "db1");
  EXPECT_EQ((*dbs)[0].status, "available");
  EXPECT_EQ((*dbs)[0].address, "db1.aaaaaaaaaa.us-east-1.rds.amazonaws.com");
  EXPECT_EQ((*dbs)[0].port, 5432);
  EXPECT_EQ((*dbs)[0].security_groups, std::vector<std::string>{"sg-3ae5ccdb79358489d"});
  EXPECT_EQ((*dbs)[1].address, "");  // creating: no endpoint yet
  EXPECT_EQ((*dbs)[1].port, 3306);   // DbInstancePort then
  EXPECT_FALSE(parse_db_instances("<x/>").ok());
}

TEST(SecretsManager, ParsesTheDescriptionAndToleratesNullsAndWrongTypes) {
  // DescribeSecret as the sandbox returns it for a secret scheduled for deletion.
  auto reply = nlohmann::json::parse(R"({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/redis-pCHgYM",
    "Name": "prod/redis", "LastChangedDate": 1796034395, "LastAccessedDate": null, "NextRotationDate": null,
    "DeletedDate": 1796639195.700514, "CreatedDate": 1796034395, "KmsKeyId": null,
    "VersionIdsToStages": {"394f7c0d-2e71-4783-b0b0-717e56afd179": ["AWSCURRENT"]}})");
  auto s = parse_secret_description(reply);
  EXPECT_EQ(s.arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/redis-pCHgYM");
  EXPECT_EQ(s.name, "prod/redis");
  EXPECT_DOUBLE_EQ(s.last_changed_at, 1796034395);
  EXPECT_DOUBLE_EQ(s.deleted_at, 1796639195.700514);
  EXPECT_DOUBLE_EQ(s.created_at, 1796034395);
  auto odd = parse_secret_description(nlohmann::json::parse(R"({"Name": 3, "DeletedDate": "soon"})"));
  EXPECT_EQ(odd.name, "");
  EXPECT_EQ(odd.deleted_at, 0);
  EXPECT_EQ(parse_secret_description(nlohmann::json::array()).arn, "");
}

TEST_F(AwsNetwork, DescribeSecretIsAJsonCallAndNotFoundKeepsItsCode) {
  auto sm = make("secretsmanager");
  transport.respond(200, R"({"ARN": "arn:x", "Name": "n", "LastChangedDate": 5})");
  auto s = describe_secret(sm, "prod/redis");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "n");
  const auto& request = transport.requests[0];
  bool target = false;
  for (const auto& [k, v] : request.headers) target = target || (k == "X-Amz-Target" && v == "secretsmanager.DescribeSecret");
  EXPECT_TRUE(target);
  EXPECT_EQ(nlohmann::json::parse(request.body), (nlohmann::json{{"SecretId", "prod/redis"}}));
  transport.respond(400, R"({"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."})");
  auto missing = describe_secret(sm, "gone");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().tag, kSecretNotFound);
  EXPECT_NE(missing.error().message.find("Secrets Manager DescribeSecret"), std::string::npos);
}

TEST_F(AwsNetwork, SecretsManagerEndpointFollowsTheAwsCliVariable) {
  env.set("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9/");
  EXPECT_EQ(secretsmanager_config("us-east-1", {}).endpoint, "http://127.0.0.1:9");
  env.unset("AWS_ENDPOINT_URL_SECRETS_MANAGER");
  EXPECT_EQ(secretsmanager_config("eu-west-1", {}).endpoint, "https://secretsmanager.eu-west-1.amazonaws.com");
}
