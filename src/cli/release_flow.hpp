// rollback release and rollback resume: one change undone across layers in the runbook's order
// (core/release_plan.hpp holds the plan's rules), each step run by the layer's own flow
// (db_flow.hpp, revert_flow.hpp) under one environment lock, each step a journal entry under one
// parent entry (layer "release") whose details list the steps and their status, so that a run
// that stopped (failed, Ctrl-C, killed) can be continued by `rollback resume <parent id>`.
#pragma once

#include <string>

#include "cli/revert_flow.hpp"
#include "core/context.hpp"

namespace rb::cli {

struct ReleaseOptions {
  std::string env;
  RevertOptions revert;  // --pr / --commit / --range, --reason, --repo
  bool ecs_first = false;
  std::string via = "local";  // where the downgrade step's alembic runs: local or ecs-task (as `rollback db --via`)
};

// Plans the release of `o`, shows it, and (unless --dry-run) runs it after one confirmation.
Status run_release(Context& ctx, const ReleaseOptions& o);

// Continues the release recorded as `id` from its first unfinished step, after re-reading the
// world for each step. The release's recorded reason carries over; a non-empty `reason` replaces
// it (a protected environment needs one). The "after" items of the checklist recorded when the
// release began are added when it finishes, unless they are there already.
Status run_resume(Context& ctx, const std::string& id, const std::string& reason = {});

}  // namespace rb::cli
