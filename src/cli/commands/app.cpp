// rollback app: the runbook's "Method 1: Revert the PR", then follow the redeploy.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/revert_flow.hpp"

namespace rb::cli {

namespace {

struct AppOptions {
  std::string env;
  RevertOptions revert;
  bool wait = false;
};

Status run(Context& ctx, const AppOptions& o) {
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  const bool wait = (o.wait && !ctx.options().no_wait);
  if (wait && (o.revert.no_push || !o.revert.push_branch.empty()))
    return usage_error("--wait follows the redeploy of a pushed revert; with --no-push or --push-branch nothing deploys yet");
  nlohmann::json result = {{"env", env->name}, {"layer", "app"}};
  AfterPush after;
  if (wait) after = [&](RollbackRecord& rec, const RevertOutcome& out) { return follow_redeploy(ctx, *env, rec, out.revert_sha); };
  RB_TRY_ASSIGN(auto outcome, run_revert(ctx, *env, o.revert, RevertLayer::Application, after, result));
  result["ok"] = true;
  if (outcome.dry_run) {
    result["dry_run"] = true;
  } else {
    result["outcome"] = kOutcomeSucceeded;
    if (!outcome.pushed_ref.empty() && !wait && o.revert.push_branch.empty())
      ctx.out().line(fmt::format("the push starts the deploy pipeline of {}; follow it with `rollback status --env {}` "
                                 "(or next time pass --wait)",
                                 env->branch, env->name));
    ctx.out().line(fmt::format("rollback {} succeeded", outcome.rollback_id));
  }
  ctx.out().result(result);
  return {};
}

}  // namespace

void register_app(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<AppOptions>();
  Subcommand sub = app.add_subcommand("app", "Revert the bad PR on the environment's branch, push it, follow the redeploy");
  sub.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)").required();
  add_revert_options(sub, opts->revert, RevertLayer::Application);
  sub.add_flag("--wait", opts->wait, "Follow the redeploy until ECS runs the revert (and the health URL answers)");
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
