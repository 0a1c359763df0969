// What `rollback db` exposes to the commands that run a downgrade as one of their steps
// (`rollback release`, `rollback resume`): its options, the plan read before anything changes
// (with the analysis, backup decision and refusals of `rollback db`), and the run of that plan
// under a lock the caller already holds.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/context.hpp"
#include "db/database.hpp"
#include "db/ecs_task.hpp"
#include "db/graph.hpp"
#include "db/rollback.hpp"
#include "db/snapshot.hpp"
#include "db/staging.hpp"

namespace rb::cli {

struct DbOptions {
  std::string env;
  std::optional<std::string> to;
  std::optional<int> steps;
  std::string from;  // REV[,REV]
  std::string reason;
  std::string via = "local";
  bool full_backup = false;
  bool no_backup = false;
  bool accept_data_loss = false;
  bool allow_stale_checkout = false;
  bool skip_staging_check = false;  // with --reason: a protected downgrade without the staging run
  bool fix_forward = false;         // write a migration reversing the plan's migrations instead
  bool snapshot = false;            // --snapshot: an RDS snapshot first, whatever the plan
  bool no_snapshot = false;         // --no-snapshot: none, whatever the plan
};

// Everything read before a downgrade: the setup, the graph, the database's rows and the plan.
struct Prepared {
  db::MigrationsSetup setup;
  std::unique_ptr<db::RevisionGraph> graph;
  std::unique_ptr<db::MigrationDatabase> database;  // null when the database is not reachable from here
  std::vector<std::string> tables_before;
  db::AnalyzedPlan plan;
  std::optional<db::TaskPlan> task;                 // --via ecs-task
  std::unique_ptr<db::TaskGateway> gateway;
  std::vector<std::string> argv;                    // the downgrade command
  std::optional<Error> blocker;                     // why it must not run (Refused)
  bool backup = false;                              // a backup is taken before the downgrade
  bool whole_backup = false;
  db::StagingCheck staging;                         // the staging-first gate
  db::SnapshotDecision snapshot;                    // an RDS snapshot before anything changes
};

// Reads the setup, the scripts (refusing a checkout that differs from the environment's branch),
// the version table and plans the downgrade `o` asks for, printing the plan and its risk. A
// reason to refuse the run is returned in `blocker`, not as an error: a dry run shows it.
// Changes nothing.
Result<Prepared> prepare_downgrade(Context& ctx, const EnvironmentConfig& env, const DbOptions& o);

// Runs a prepared, unblocked downgrade under `lock` (already held, not taken again): its own
// journal entry (layer db, `extra_details` merged into its details, e.g. a release's parent id),
// snapshot and backup when planned, the run and the verification. Fills `result` like `rollback
// db --output json` does. Returns the journal id. No confirmation is asked here.
Result<std::string> run_prepared_downgrade(Context& ctx, const EnvironmentConfig& env, const DbOptions& o,
                                           Prepared& p, LockHandle& lock, const nlohmann::json& extra_details,
                                           nlohmann::json& result);

// The rows of the environment's version table as they are now (needs the database URL).
Result<std::vector<std::string>> read_version_rows(Context& ctx, const EnvironmentConfig& env);

}  // namespace rb::cli
