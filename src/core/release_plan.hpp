// The plan of `rollback release`: the steps that undo one change across layers, in the runbook's
// order (scenario 3: "Do NOT just revert code": downgrade first, then revert), each with why it
// sits where it does and what stays exposed after it; and the decisions `rollback resume` makes
// from the world as it finds it. Pure: the commands read git, the database and ECS and hand the
// facts in, so every rule here is unit-tested (tests/unit/test_core_release_plan.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/journal.hpp"
#include "util/result.hpp"

namespace rb {

enum class ReleaseStepKind {
  Ecs,          // emergency: the service back on the previous task definition (--ecs-first)
  DbDowngrade,  // alembic downgrade to the revision below the change's migrations
  InfraRevert,  // the revert of a change touching the Terraform folder; CI applies it
  Revert,       // the revert of the code, pushed to the environment's branch
  Redeploy,     // following the deploy CI makes of the pushed revert
};

// "ecs", "db-downgrade", "infra-revert", "revert", "redeploy" (the journal's spelling).
const char* to_string(ReleaseStepKind kind);
std::optional<ReleaseStepKind> release_step_kind(std::string_view text);

// A step's status in the parent entry's details.
inline constexpr const char* kStepPending = "pending";
inline constexpr const char* kStepDone = "done";
// Its effect was found already there (resume, or a database already at the target): not run.
inline constexpr const char* kStepAlreadyDone = "already-done";
inline constexpr const char* kStepFailed = "failed";

// How long a step took before on the environment: the median of its latest succeeded runs in the
// journal (release steps, and the single-layer commands that do the same work).
struct StepEstimate {
  std::chrono::seconds typical{0};
  size_t samples = 0;
};

struct ReleaseStep {
  ReleaseStepKind kind = ReleaseStepKind::Revert;
  std::string why;      // one line: why the step is in this place
  std::string exposed;  // what stays exposed after it until the next steps are done; empty: nothing
  std::string status = kStepPending;
  std::string child;    // the journal id of the step's own entry, once it ran
  std::string note;     // e.g. "the database was already at 0001"
  std::optional<StepEstimate> estimate;  // none: no earlier run on record (not stored in the journal)

  bool finished() const { return status == kStepDone || status == kStepAlreadyDone; }
};

// One migration script of the change: its `revision` and `down_revision`(s).
struct ChangeMigration {
  std::string revision;
  std::vector<std::string> down_revisions;  // empty: a base
};

// The revision the database goes down to so that none of the change's migrations stays applied:
// the down_revisions of the change's migrations that are not themselves migrations of the
// change. "base" when they start from nothing. Refused (tag "several-targets") when they hang
// from more than one revision (say which with `rollback db --to`), and a usage error when the
// list is empty.
Result<std::string> downgrade_target(const std::vector<ChangeMigration>& change);

// The change's top revisions: its migrations that no other migration of the change names as a
// down_revision (what the version table holds once the change's migrations ran). Sorted.
std::vector<std::string> change_heads(const std::vector<ChangeMigration>& change);

// What the plan is made from: the change's layers (paths per layer, as classified by the path
// guards) and the facts the steps' lines name.
struct ReleaseInput {
  std::string env;
  std::string branch;   // "origin/main", where the revert is pushed
  std::string change;   // "pull request #101", as resolved
  std::vector<std::string> migrations, infrastructure, application;
  std::string db_target;                   // with migrations: downgrade_target()
  std::vector<std::string> db_heads;       // with migrations: change_heads()
  bool ecs_first = false;                  // --ecs-first
  bool follow_redeploy = true;             // false with --no-wait
};

// The steps, in order: [ecs] [db-downgrade] (infra-revert | revert) [redeploy].
//  - ecs only with --ecs-first, and only for a change with application code (usage error else);
//  - db-downgrade when the change has migrations, before the revert removes their scripts;
//  - infra-revert when it touches the Terraform folder (the same revert carries any code with it),
//    else revert;
//  - redeploy when it has application code and the redeploy is followed.
// A change that touches no file is a usage error.
Result<std::vector<ReleaseStep>> plan_release(const ReleaseInput& input);

// Where the database is, for resume: at the downgrade's target, still where the release found
// it, or somewhere the plan did not expect.
enum class DbWorld { AtTarget, AtStart, Moved };

// `rows` is the version table now, `start_rows` as the release read it, `target` a revision or
// "base" (no rows).
DbWorld classify_db(const std::vector<std::string>& rows, const std::vector<std::string>& start_rows,
                    const std::string& target);

// The index of the first step not finished; nullopt when all are.
std::optional<size_t> first_unfinished(const std::vector<ReleaseStep>& steps);

// "done: db-downgrade (20261130-...), revert; not done: redeploy" style summary lines: one per
// step, "  [done] db-downgrade: ..." with its status.
std::vector<std::string> describe_progress(const std::vector<ReleaseStep>& steps);

nlohmann::json steps_to_json(const std::vector<ReleaseStep>& steps);
// Reads what steps_to_json wrote; a usage error names what is malformed.
Result<std::vector<ReleaseStep>> steps_from_json(const nlohmann::json& j);

// The most earlier runs an estimate looks at: recent enough to reflect today's pipeline.
inline constexpr size_t kEstimateSamples = 10;

// Whether `e` (an entry of the same environment) is an earlier run of a step of this kind that
// can tell how long it takes: succeeded, and doing the same work (an `app` revert that followed
// its redeploy counts as a redeploy, not as a revert; an infra revert only when CI's apply was
// seen).
bool is_earlier_run_of(ReleaseStepKind kind, const JournalEntry& e);

// The median duration of the latest kEstimateSamples earlier runs of `kind` in `history` (newest
// first, as the journal lists it); nullopt when there is none.
std::optional<StepEstimate> estimate_step(ReleaseStepKind kind, const std::vector<JournalEntry>& history);

// "45s", "3m 10s".
std::string describe_span(std::chrono::seconds span);

// "about 3m 10s (median of 4 earlier runs)" / "no earlier run on record to estimate from".
std::string describe_estimate(const std::optional<StepEstimate>& estimate);

}  // namespace rb
