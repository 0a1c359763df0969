// The PR-revert flow shared by `rollback app` and `rollback infra --pr`: resolve what to revert on
// the environment's branch, show the plan, apply the runbook's guards, revert in a scratch
// worktree, push, and journal it all.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "core/context.hpp"
#include "git/guards.hpp"
#include "git/plan.hpp"
#include "git/revert.hpp"

namespace rb::cli {

struct RevertOptions {
  std::optional<unsigned long> pr;
  std::string commit;
  std::string range;
  std::string reason;
  bool no_push = false;
  std::string push_branch;
  std::string repo;
  bool allow_migrations = false;
  bool allow_infrastructure = false;
  bool allow_application = false;
  bool allow_mixed = false;
  // Set by `rollback release`, which lifts the guards because its plan handles those layers
  // (the database is downgraded first): the guards then say so instead of naming a flag.
  bool guards_lifted_by_release = false;
};

// Which layer is reverting: decides the guards.
enum class RevertLayer { Application, Infrastructure };

struct RevertOutcome {
  std::string rollback_id;
  std::filesystem::path repo;  // the repository the revert was made in
  std::string revert_sha;
  std::string pushed_ref;  // empty with --no-push
  std::string local_branch;
  git::Plan plan;
  bool dry_run = false;
};

// Called after a successful push (not with --no-push/--push-branch), with the record still
// open, to follow what the push starts (the ECS redeploy, the Terraform apply). Its error
// fails the rollback.
using AfterPush = std::function<Status(RollbackRecord& record, const RevertOutcome& outcome)>;

// A revert run as one step of a larger rollback (`rollback release`, `rollback resume`): the
// environment's lock is already held (not taken again), the confirmation was already given for
// the whole plan, and `details` (e.g. {"parent": id}) go into the revert's journal entry.
struct RevertStep {
  LockHandle& lock;
  nlohmann::json details = nlohmann::json::object();
};

// What a revert would undo, resolved on the environment's freshly fetched branch.
struct ResolvedRevert {
  git::Target target;
  git::Plan plan;
  git::PathCategories categories;
};

// Fetches the environment's branch and resolves what `o` names (--pr, --commit or --range) on
// it, with the plan of the revert and the layers its files belong to. Prints nothing but the
// fetch; changes nothing.
Result<ResolvedRevert> resolve_revert(Context& ctx, const EnvironmentConfig& env, const RevertOptions& o);

void add_revert_options(Subcommand sub, RevertOptions& o, RevertLayer layer);

Result<RevertOutcome> run_revert(Context& ctx, const EnvironmentConfig& env, const RevertOptions& o, RevertLayer layer,
                                 const AfterPush& after_push, nlohmann::json& result, RevertStep* step = nullptr);

// Follows the redeploy a pushed revert starts (`rollback app --wait`): waits until ECS runs an
// image built from `revert_sha` on all tasks, then checks the health URL when configured.
Status follow_redeploy(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record, const std::string& revert_sha);

// Follows the Terraform apply a pushed infrastructure revert starts in CI (`rollback infra --pr`,
// the release's infra step): waits until a version of the environment's state object written
// after `pushed_at` is current and Terraform's lock is free, within the command's --timeout; then
// plans the reverted checkout's Terraform directory (terraform.dir at `outcome.revert_sha`), which
// should show no changes. Changes fail the step (naming how many and what to run); a folder that
// cannot be planned (no terraform, init or plan failing) records the check as skipped with why.
Status wait_for_ci_apply(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record,
                         std::chrono::system_clock::time_point pushed_at, const RevertOutcome& outcome);

// `git.check_repository()`, then removes the scratch worktrees killed runs left in it
// (git::sweep_abandoned_worktrees), saying which: every command that opens the repository.
Status open_repository(Output& out, git::Git& git);

// The environment's Terraform binary (terraform.binary): a relative path with a slash is taken
// from rollback.yaml's folder, a bare name from PATH.
std::string terraform_binary(const Config& cfg, const EnvironmentConfig& env);

}  // namespace rb::cli
