// A thin ElastiCache client (Query protocol, API 2015-02-02; botocore data/elasticache/2015-02-02):
// a cache cluster's or replication group's status, endpoint and VPC security groups, for
// diagnose's Redis checks (runbook scenario 4). Read-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aws/client.hpp"
#include "util/result.hpp"

namespace rb::aws {

// The Query API version every ElastiCache action is sent with.
inline constexpr std::string_view kElastiCacheApiVersion = "2015-02-02";
// CacheClusterId: at most 50 characters; ReplicationGroupId: at most 40 (ElastiCache API
// reference, CreateCacheCluster and CreateReplicationGroup).
inline constexpr size_t kMaxCacheClusterId = 50;
inline constexpr size_t kMaxReplicationGroupId = 40;

// ElastiCache's rule for those identifiers: 1..max letters, digits or hyphens, starting with a
// letter, not ending with a hyphen, no two hyphens in a row. A usage error naming `what` otherwise.
Status check_elasticache_identifier(std::string_view id, size_t max, std::string_view what);

struct CacheCluster {
  std::string id, status, engine;         // status: available, creating, modifying, ...
  std::string replication_group;          // ReplicationGroupId, when a member of one
  std::string address;                    // the first cache node's (or the configuration) endpoint
  int port = 0;                           // its port; 0 when the reply has none
  std::vector<std::string> security_groups;  // SecurityGroups[].SecurityGroupId (VPC security groups)
};

struct ReplicationGroup {
  std::string id, status;
  std::string address;  // the configuration endpoint (cluster mode) or the first node group's primary
  int port = 0;
  std::vector<std::string> member_clusters;  // MemberClusters
};

// The XML replies, parsed (exposed for tests): every CacheCluster / ReplicationGroup element.
// Unreadable XML is an error; odd numbers are read as absent, never thrown on.
Result<std::vector<CacheCluster>> parse_cache_clusters(const std::string& xml);
Result<std::vector<ReplicationGroup>> parse_replication_groups(const std::string& xml);

// DescribeCacheClusters(CacheClusterId, ShowCacheNodeInfo=true): the cluster, or ElastiCache's
// error (CacheClusterNotFound) as it is.
Result<CacheCluster> describe_cache_cluster(AwsClient& client, const std::string& id);
// DescribeReplicationGroups(ReplicationGroupId): the group, or ReplicationGroupNotFoundFault.
Result<ReplicationGroup> describe_replication_group(AwsClient& client, const std::string& id);

}  // namespace rb::aws
