// Amazon RDS, Query protocol (API 2014-10-31): the calls a database rollback needs. The
// snapshot calls (CreateDBSnapshot / CreateDBClusterSnapshot, DescribeDBSnapshots /
// DescribeDBClusterSnapshots) and point-in-time recovery (DescribeDBInstances,
// RestoreDBInstanceToPointInTime; for Aurora DescribeDBClusters, RestoreDBClusterToPointInTime
// and CreateDBInstance in the restored cluster), with the shapes of botocore's rds/2014-10-31
// model.
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

// The XML replies, parsed (exposed for tests): the first DBSnapshot / DBClusterSnapshot element.
Result<DbSnapshot> parse_db_snapshot(const std::string& xml, std::string_view operation, bool cluster);

// A DB instance, as DescribeDBInstances and RestoreDBInstanceToPointInTime return it: what
// diagnose needs to judge whether the tasks can reach it, what a point-in-time restore copies
// from its source and what it reports while it is created.
struct DbInstance {
  std::string identifier;              // DBInstanceIdentifier
  std::string status;                  // DBInstanceStatus: creating, backing-up, available, ...
  std::string instance_class;          // DBInstanceClass
  std::string engine;                  // Engine
  std::string address;                 // Endpoint.Address (empty while creating)
  int port = 0;                        // Endpoint.Port, else DbInstancePort; 0 when absent
  long long allocated_storage_gib = 0; // AllocatedStorage
  std::string create_time;             // InstanceCreateTime
  std::string latest_restorable_time;  // LatestRestorableTime
  int backup_retention_days = 0;       // BackupRetentionPeriod: 0 means automated backups are off
  std::string subnet_group;            // DBSubnetGroup.DBSubnetGroupName
  std::vector<std::string> security_groups;  // VpcSecurityGroups[].VpcSecurityGroupId
  std::string parameter_group;         // DBParameterGroups[0].DBParameterGroupName
  bool multi_az = false;               // MultiAZ
  bool publicly_accessible = false;    // PubliclyAccessible
  std::string cluster;                 // DBClusterIdentifier: an Aurora member (restored with its cluster)
};

// DescribeDBInstances(DBInstanceIdentifier): the instance of that name; RDS's error tagged
// DBInstanceNotFound as it is when there is none.
Result<DbInstance> describe_db_instance(AwsClient& client, const std::string& instance);
// DescribeDBInstances' XML reply, parsed (exposed for tests): every DBInstance element.
Result<std::vector<DbInstance>> parse_db_instances(const std::string& xml);

// RestoreDBInstanceToPointInTime into a new instance with the source's network and parameters.
struct PointInTimeRestore {
  std::string source;       // SourceDBInstanceIdentifier
  std::string target;       // TargetDBInstanceIdentifier (must not exist)
  std::string restore_time; // RestoreTime, ISO-8601 UTC
  std::string instance_class;
  std::string subnet_group;
  std::vector<std::string> security_groups;
  std::string parameter_group;
  bool multi_az = false;
  bool publicly_accessible = false;
  std::vector<std::pair<std::string, std::string>> tags;
};
// Not retried after an ambiguous failure: a second restore of the same target fails with
// DBInstanceAlreadyExists, so the caller reads the target instead (CallOptions::idempotent).
Result<DbInstance> restore_db_instance_to_point_in_time(AwsClient& client, const PointInTimeRestore& request);

// The first DBInstance element of a reply (exposed for tests).
Result<DbInstance> parse_db_instance(const std::string& xml, std::string_view operation);

// An Aurora DB cluster, as DescribeDBClusters and RestoreDBClusterToPointInTime return it: its
// restorable window, what a point-in-time restore copies from it, and its writer endpoint.
struct DbClusterMember {
  std::string instance;  // DBInstanceIdentifier
  bool writer = false;   // IsClusterWriter
};
struct DbCluster {
  std::string identifier;                    // DBClusterIdentifier
  std::string status;                        // Status: creating, backing-up, available, ...
  std::string engine;                        // Engine: aurora-postgresql, aurora-mysql
  std::string endpoint;                      // Endpoint: the writer endpoint (empty while creating)
  int port = 0;                              // Port; 0 when absent
  std::string create_time;                   // ClusterCreateTime
  std::string earliest_restorable_time;      // EarliestRestorableTime
  std::string latest_restorable_time;        // LatestRestorableTime
  int backup_retention_days = 0;             // BackupRetentionPeriod
  std::string subnet_group;                  // DBSubnetGroup (a name, unlike an instance's)
  std::vector<std::string> security_groups;  // VpcSecurityGroups[].VpcSecurityGroupId
  std::string parameter_group;               // DBClusterParameterGroup
  std::vector<DbClusterMember> members;      // DBClusterMembers
  // The member with IsClusterWriter; empty when the cluster has no instance.
  std::string writer() const;
};

// DescribeDBClusters(DBClusterIdentifier): the cluster of that name; RDS's error tagged
// DBClusterNotFoundFault as it is when there is none.
Result<DbCluster> describe_db_cluster(AwsClient& client, const std::string& cluster);
// The first DBCluster element of a reply (exposed for tests).
Result<DbCluster> parse_db_cluster(const std::string& xml, std::string_view operation);

// RestoreDBClusterToPointInTime into a new cluster with the source's network and cluster
// parameter group. The new cluster has no instance: RDS restores the storage only.
struct ClusterPointInTimeRestore {
  std::string source;        // SourceDBClusterIdentifier
  std::string target;        // DBClusterIdentifier (must not exist)
  std::string restore_time;  // RestoreToTime, ISO-8601 UTC
  std::string subnet_group;  // DBSubnetGroupName
  std::vector<std::string> security_groups;  // VpcSecurityGroupIds
  std::string parameter_group;               // DBClusterParameterGroupName
  std::vector<std::pair<std::string, std::string>> tags;
};
// Not retried after an ambiguous failure (a second call fails with DBClusterAlreadyExistsFault):
// the caller reads the target instead.
Result<DbCluster> restore_db_cluster_to_point_in_time(AwsClient& client, const ClusterPointInTimeRestore& request);

// CreateDBInstance of an instance in an Aurora cluster: its network, storage and parameters
// are the cluster's, so only the class, the engine and the tags are given.
struct ClusterInstance {
  std::string identifier;      // DBInstanceIdentifier (must not exist)
  std::string cluster;         // DBClusterIdentifier
  std::string engine;          // Engine: the cluster's
  std::string instance_class;  // DBInstanceClass
  bool publicly_accessible = false;
  std::vector<std::pair<std::string, std::string>> tags;
};
// Not retried after an ambiguous failure (a second call fails with DBInstanceAlreadyExists).
Result<DbInstance> create_db_cluster_instance(AwsClient& client, const ClusterInstance& request);

}  // namespace rb::aws
