// Amazon RDS, Query protocol (API 2014-10-31): the snapshot calls a database rollback needs.
// CreateDBSnapshot / CreateDBClusterSnapshot and DescribeDBSnapshots /
// DescribeDBClusterSnapshots, with the reply shapes of botocore's rds/2014-10-31 model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aws/client.hpp"
#include "util/result.hpp"

namespace rb::aws {

// The Query API version every RDS action is sent with.
inline constexpr std::string_view kRdsApiVersion = "2014-10-31";
// DBInstanceIdentifier / DBClusterIdentifier: at most 63 characters (RDS API reference,
// CreateDBInstance and CreateDBCluster).
inline constexpr size_t kMaxRdsIdentifier = 63;
// DBSnapshotIdentifier / DBClusterSnapshotIdentifier: at most 255 characters (CreateDBSnapshot).
inline constexpr size_t kMaxRdsSnapshotIdentifier = 255;

// RDS's rule for identifiers: 1..max letters, digits or hyphens, starting with a letter, not
// ending with a hyphen, no two hyphens in a row. A usage error naming `what` otherwise.
Status check_rds_identifier(std::string_view id, size_t max = kMaxRdsIdentifier,
                            std::string_view what = "RDS identifier");

// A DB snapshot or DB cluster snapshot, as Describe/Create return it.
struct DbSnapshot {
  bool cluster = false;
  std::string identifier;   // DBSnapshotIdentifier / DBClusterSnapshotIdentifier
  std::string source;       // DBInstanceIdentifier / DBClusterIdentifier
  std::string arn;          // DBSnapshotArn / DBClusterSnapshotArn
  std::string status;       // creating, available, failed, ...
  int percent_progress = 0;
  std::string create_time;  // SnapshotCreateTime (empty while creating)
};

Result<DbSnapshot> create_db_snapshot(AwsClient& client, const std::string& instance, const std::string& snapshot);
Result<DbSnapshot> create_db_cluster_snapshot(AwsClient& client, const std::string& cluster,
                                              const std::string& snapshot);
// The snapshot of that name; an error tagged DBSnapshotNotFound / DBClusterSnapshotNotFoundFault
// when there is none.
Result<DbSnapshot> describe_db_snapshot(AwsClient& client, const std::string& snapshot);
Result<DbSnapshot> describe_db_cluster_snapshot(AwsClient& client, const std::string& snapshot);

// A DB instance as DescribeDBInstances returns it: what diagnose needs to judge whether the
// tasks can reach it.
struct DbInstance {
  std::string identifier, status;            // DBInstanceIdentifier, DBInstanceStatus
  std::string address;                       // Endpoint.Address (empty while creating)
  int port = 0;                              // Endpoint.Port, else DbInstancePort; 0 when absent
  std::vector<std::string> security_groups;  // VpcSecurityGroups[].VpcSecurityGroupId
};

// DescribeDBInstances(DBInstanceIdentifier): the instance, or RDS's DBInstanceNotFound as it is.
Result<DbInstance> describe_db_instance(AwsClient& client, const std::string& instance);
// DescribeDBInstances' XML reply, parsed (exposed for tests): every DBInstance element.
Result<std::vector<DbInstance>> parse_db_instances(const std::string& xml);

// The XML replies, parsed (exposed for tests): the first DBSnapshot / DBClusterSnapshot element.
Result<DbSnapshot> parse_db_snapshot(const std::string& xml, std::string_view operation, bool cluster);

}  // namespace rb::aws
