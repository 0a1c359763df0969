// rollback release: one change undone across layers in the runbook's order (downgrade the
// database first, then revert the code and follow the redeploy), one journal parent entry with
// a child per step. rollback resume: continue a release that stopped, from its first unfinished
// step. The logic is in cli/release_flow.cpp and core/release_plan.cpp.
#include "cli/command.hpp"
#include "cli/release_flow.hpp"

namespace rb::cli {

// The largest pull request number: GitHub's and GitLab's APIs hold PR numbers in 32-bit
// signed integers (the same bound as `rollback app --pr`).
constexpr long long kReleaseMaxPullRequest = 2'147'483'647;

void register_release(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<ReleaseOptions>();
  Subcommand sub = app.add_subcommand(
      "release", "Roll one change back across layers in the runbook's order: downgrade its migrations, revert it, "
                 "follow the redeploy");
  sub.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)").required();
  add_number_option(sub, "--pr", opts->revert.pr, 1, kReleaseMaxPullRequest,
                    "The pull request to roll back (merge or squash commit on the environment's branch)");
  sub.add_option("--commit", opts->revert.commit, "A commit or merge commit to roll back (hex id)");
  sub.add_option("--range", opts->revert.range, "A..B: a rebase-merged PR's commits");
  sub.add_option("--reason", opts->revert.reason, "Why (in the revert's message and the journal)");
  sub.add_option("--repo", opts->revert.repo, "The git repository (default: the one holding rollback.yaml)");
  sub.add_flag("--ecs-first", opts->ecs_first,
                "An emergency `rollback ecs` (the last known good task definition) before the revert, for immediate relief");
  sub.add_option("--via", opts->via,
                  "Where the downgrade step's alembic runs: local (default, from the checkout) or ecs-task (a one-off "
                  "task of the service's current task definition, whose image still has the change's scripts)")
      .one_of({"local", "ecs-task"});
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run_release(ctx, *opts); });
}

void register_resume(Subcommand app, GlobalOptions& g, Action& action) {
  auto id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  Subcommand sub = app.add_subcommand(
      "resume", "Continue a release that stopped (failed, interrupted, killed) from its first unfinished step");
  sub.add_option("id", *id, "The release's id (printed when it stopped; `rollback history` lists it)").required();
  sub.add_option("--reason", *reason,
                 "Why (replaces the release's recorded reason; needed on a protected environment when it has none)");
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [id, reason](Context& ctx) { return run_resume(ctx, *id, *reason); });
}

}  // namespace rb::cli
