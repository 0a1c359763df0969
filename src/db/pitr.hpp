// Point-in-time recovery of the environment's RDS database, the safe way: never in place. The
// restore goes into a new instance (or, for Aurora, a new cluster with one instance) next to
// the live one; the application is never switched over by the tool. This module holds the
// judgement (the restorable window, the new names, the estimate) and the following of the
// restore; the command is cli/commands/db_pitr.cpp. Instances and clusters share one flow: a
// `PitrSource` and a `PitrRequest` carry the difference.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/rds.hpp"
#include "core/config.hpp"
#include "db/database.hpp"
#include "db/rollback.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace rb::db {

// How long a restore may take before the tool stops following it (the restore goes on in RDS).
// botocore's DBInstanceAvailable waiter gives up after 60 x 30 s; a point-in-time restore of a
// large database replays hours of logs, so the tool waits longer than that.
inline constexpr std::chrono::milliseconds kRestoreTimeout = std::chrono::hours(3);
// Status reads while the instance is created: quick at first (a sandbox or a tiny instance), then
// the 30 s of botocore's DBInstanceAvailable waiter.
inline constexpr std::chrono::milliseconds kRestoreFirstPolls[] = {std::chrono::seconds(2), std::chrono::seconds(3),
                                                                   std::chrono::seconds(5), std::chrono::seconds(10)};
inline constexpr std::chrono::milliseconds kRestorePollInterval = std::chrono::seconds(30);
// The estimate (AWS publishes no figure): creating an instance takes on the order of 10-20
// minutes whatever its size, and restoring the base snapshot grows with the storage.
inline constexpr std::chrono::minutes kRestoreBaseEstimate{15};
inline constexpr std::chrono::minutes kRestorePerHundredGiB{5};
// Aurora reports no storage size worth estimating from (AllocatedStorage is 1 on most clusters);
// the restored cluster is followed by the creation of its instance, which takes on the order of
// 10 minutes (AWS's Aurora user guide: "several minutes").
inline constexpr std::chrono::minutes kClusterInstanceEstimate{10};
// Tables whose row counts are compared between the live and the restored database when none
// are named (--tables): the first ones by name, enough for a screen.
inline constexpr size_t kMaxComparedTables = 20;

// When the source can be restored to: [earliest, latest].
struct RestoreWindow {
  std::chrono::system_clock::time_point earliest;
  std::chrono::system_clock::time_point latest;
  std::string describe() const;  // "2026-11-23T10:00:00Z .. 2026-11-30T10:15:00Z"
};

// The window of an instance: latest is its LatestRestorableTime; earliest is the later of its
// creation and `latest` minus the backup retention (automated backups are kept that many days).
// Refused when automated backups are off (retention 0) or RDS reports no LatestRestorableTime.
Result<RestoreWindow> restore_window(const aws::DbInstance& source);

// --to-time: an ISO-8601 time ("2026-11-30T09:15:00Z", "2026-11-30T10:15:00+01:00") or
// "DURATION ago" ("45m ago"), relative to `now`. A usage error otherwise.
Result<std::chrono::system_clock::time_point> parse_restore_time(const std::string& text,
                                                                 std::chrono::system_clock::time_point now);

// Refused, naming the window, when `t` lies outside it.
Status check_in_window(std::chrono::system_clock::time_point t, const RestoreWindow& window,
                       const std::string& source);

// The new instance: "<source>-pitr-YYYYMMDD-HHMM" (the restore time, UTC), within RDS's
// identifier rules (63 characters: the source part is shortened).
std::string restored_instance_name(const std::string& source, std::chrono::system_clock::time_point t);

std::chrono::minutes estimate_restore(const aws::DbInstance& source);

// The window of an Aurora cluster: its EarliestRestorableTime and LatestRestorableTime. Refused
// when RDS reports either missing (a new cluster before its first backup).
Result<RestoreWindow> restore_window(const aws::DbCluster& source);

// The RDS calls, behind an interface so the following logic is unit-tested with a fake.
class RestoreGateway {
 public:
  virtual ~RestoreGateway() = default;
  virtual Result<aws::DbInstance> describe(const std::string& instance) = 0;
  virtual Result<aws::DbInstance> restore(const aws::PointInTimeRestore& request) = 0;
  virtual Result<aws::DbCluster> describe_cluster(const std::string& cluster) = 0;
  virtual Result<aws::DbCluster> restore_cluster(const aws::ClusterPointInTimeRestore& request) = 0;
  virtual Result<aws::DbInstance> create_instance(const aws::ClusterInstance& request) = 0;
};

// What a restore copies from: an RDS instance, or an Aurora cluster and its writer instance.
struct PitrSource {
  bool is_cluster = false;
  aws::DbInstance instance;  // the instance; for a cluster, its writer (class, engine, access)
  aws::DbCluster cluster;    // a cluster only
  const std::string& identifier() const { return is_cluster ? cluster.identifier : instance.identifier; }
  std::string kind() const { return is_cluster ? "Aurora cluster" : "RDS instance"; }
  std::string describe() const { return kind() + " " + identifier(); }  // "Aurora cluster connect2-prod"
};

// Reads the environment's database (`rds_instance` or `rds_cluster`), and a cluster's writer.
// Refused: an instance that is a member of a cluster (clusters are restored whole), a cluster
// without a writer instance (its class could not be copied). Not-found errors say which key of
// rollback.yaml to check.
Result<PitrSource> read_source(RestoreGateway& gateway, const DatabaseConfig& database, const std::string& env);

Result<RestoreWindow> restore_window(const PitrSource& source);
std::chrono::minutes estimate_restore(const PitrSource& source);

// The first instance of a restored cluster: "<cluster>-1", within RDS's identifier rules.
std::string cluster_instance_name(const std::string& cluster);

// What is sent: for an instance, one RestoreDBInstanceToPointInTime; for a cluster,
// RestoreDBClusterToPointInTime then CreateDBInstance in it (the cluster's writer's class).
struct PitrRequest {
  bool is_cluster = false;
  aws::PointInTimeRestore instance;         // an instance
  aws::ClusterPointInTimeRestore cluster;   // a cluster
  aws::ClusterInstance cluster_instance;    // a cluster: its instance
  const std::string& target() const { return is_cluster ? cluster.target : instance.target; }
};
PitrRequest pitr_request(const PitrSource& source, const std::string& target, std::chrono::system_clock::time_point t,
                         const std::string& rollback_id);

// The plan as printed: the source, the window, what is created with which settings, that the
// live database is not touched, the estimate.
std::vector<std::string> plan_lines(const PitrSource& source, const std::string& target,
                                    std::chrono::system_clock::time_point t, const RestoreWindow& window,
                                    std::chrono::minutes estimate);

// Refused when the target (or, for a cluster, the instance it would get) exists already: a
// restore to that minute was made before. Other errors of the reads are returned as they are.
Status check_targets_free(RestoreGateway& gateway, const PitrRequest& request);

// The restored database where it answers: an instance's endpoint, or the cluster's writer
// endpoint; `json` describes what was made.
struct Restored {
  std::string identifier;  // the instance, or the cluster
  std::string address;
  int port = 0;
  nlohmann::json json;
};

Result<std::unique_ptr<RestoreGateway>> make_aws_restore_gateway(const Config& config, const EnvironmentConfig& env,
                                                                 Clock& clock);

// The request restoring `source` to `t` into `target`, with the source's class, subnet group,
// security groups and parameter group, tagged with the rollback that made it.
aws::PointInTimeRestore restore_request(const aws::DbInstance& source, const std::string& target,
                                        std::chrono::system_clock::time_point t, const std::string& rollback_id);

// Sends the restore and follows the new instance to `available`, calling `progress` whenever its
// status changes. A restore whose reply was lost is found by reading the target. Errors: the
// call's error; Failed tagged "restore-failed" when the instance ends in another state
// (failed, incompatible-restore, ...) or is not available within `timeout`; Interrupted on
// Ctrl-C (the restore goes on in RDS).
Result<aws::DbInstance> restore_and_wait(RestoreGateway& gateway, Clock& clock, const aws::PointInTimeRestore& request,
                                         std::chrono::milliseconds timeout,
                                         const std::function<void(const std::string&)>& progress);

// The same for either request. A cluster is followed to `available`, then its instance is
// created and followed to `available` (RDS creates instances only in an available cluster),
// all within `timeout`; the cluster is read once more for its endpoint. Errors as above, tagged
// "restore-failed" for the cluster or its instance.
Result<Restored> restore_and_wait(RestoreGateway& gateway, Clock& clock, const PitrRequest& request,
                                  std::chrono::milliseconds timeout,
                                  const std::function<void(const std::string&)>& progress);

// --no-wait: sends the restore only (a cluster's instance is left to the user: RDS adds one to
// an available cluster only). A lost reply is found by reading the target.
Result<nlohmann::json> start_restore(RestoreGateway& gateway, const PitrRequest& request);

nlohmann::json instance_to_json(const aws::DbInstance& d);
nlohmann::json cluster_to_json(const aws::DbCluster& c);

// The live database's URL pointed at the restored instance: same user, password and database
// name (a restore keeps them), the instance's endpoint as host and port; a host or port given
// as a query parameter is dropped.
DatabaseUrl restored_url(const DatabaseUrl& live, const std::string& address, int port);

// The live and the restored database side by side: their Alembic version tables and the row
// counts of `tables` (empty: the restored database's first kMaxComparedTables tables). `live`
// may be null (not reachable); what could not be read is a note, not an error.
struct TableCount {
  std::string table;
  std::optional<long long> live;
  std::optional<long long> restored;
};
struct Comparison {
  std::optional<std::vector<std::string>> live_versions;
  std::optional<std::vector<std::string>> restored_versions;
  std::vector<TableCount> tables;
  std::vector<std::string> notes;
  nlohmann::json to_json() const;
};
Comparison compare_databases(MigrationDatabase* live, MigrationDatabase& restored, const MigrationsSetup& setup,
                             const std::vector<std::string>& tables);

}  // namespace rb::db
