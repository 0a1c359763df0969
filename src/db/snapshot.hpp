// "Data loss risk" has two ways back: the targeted pg_dump backup (backup.hpp: fast, the few
// tables at stake) and, for the environment's whole database, an RDS snapshot taken before a
// downgrade destroys or changes data on a protected environment (`database:` in rollback.yaml).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/rds.hpp"
#include "core/config.hpp"
#include "db/rollback.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace rb::db {

// How often the snapshot's status is read while it is created: botocore's RDS waiters
// DBSnapshotAvailable / DBClusterSnapshotAvailable poll every 30 s.
inline constexpr std::chrono::milliseconds kSnapshotPollInterval = std::chrono::seconds(30);
// How long a snapshot may take to become available: those waiters' 60 attempts x 30 s. The
// downgrade's own --timeout does not bound it: a snapshot of a large database takes longer
// than a downgrade, and nothing has changed yet while it is taken.
inline constexpr std::chrono::milliseconds kSnapshotTimeout = std::chrono::minutes(30);

// The RDS calls, behind an interface so the waiting logic is unit-tested with a fake.
class SnapshotGateway {
 public:
  virtual ~SnapshotGateway() = default;
  virtual Result<aws::DbSnapshot> create(const std::string& name) = 0;
  virtual Result<aws::DbSnapshot> describe(const std::string& name) = 0;
  // "RDS instance connect2-prod" / "Aurora cluster connect2-prod"
  virtual std::string target() const = 0;
};

// The gateway for `env.database`, with the environment's credentials and region.
Result<std::unique_ptr<SnapshotGateway>> make_aws_snapshot_gateway(const Config& config, const EnvironmentConfig& env,
                                                                   Clock& clock);

struct SnapshotDecision {
  bool take = false;
  std::string why;  // for the plan: why it is taken or not
};

// Whether a downgrade takes a snapshot first. `flag`: --snapshot (true), --no-snapshot (false)
// or neither. Without a flag: yes on a protected environment with `database:` when the plan
// destroys data or changes rows it cannot tell (severity Medium or more). --snapshot without
// `database:` is a usage error.
Result<SnapshotDecision> decide_snapshot(const EnvironmentConfig& env, const AnalyzedPlan& plan,
                                         std::optional<bool> flag);

// "rollback-<rollback id>", an identifier RDS accepts (lower case, hyphens only).
std::string snapshot_name(const std::string& rollback_id);

// Creates the snapshot and follows it to `available`, calling `progress` with a line whenever
// its status or percentage changes. Errors: the create/describe call's error; Failed with tag
// "snapshot-failed" when it ends in another state (failed, deleted, ...) or is not available
// within `timeout`; Interrupted on Ctrl-C.
Result<aws::DbSnapshot> take_snapshot(SnapshotGateway& gateway, Clock& clock, const std::string& name,
                                      std::chrono::milliseconds timeout,
                                      const std::function<void(const std::string&)>& progress);

nlohmann::json snapshot_to_json(const aws::DbSnapshot& s);

}  // namespace rb::db
