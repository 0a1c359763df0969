// rollback app: the runbook's "Method 1: Revert the PR", then follow the redeploy.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/revert_flow.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/rollback.hpp"

namespace rb::cli {

namespace {

struct AppOptions {
  std::string env;
  RevertOptions revert;
  bool wait = false;
};

// Follows the redeploy the push starts: the team's CI builds the revert and deploys an image
// tagged with its commit; then the deployment is followed exactly like an emergency rollback.
Status follow_redeploy(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record, const RevertOutcome& outcome) {
  RB_TRY_ASSIGN(auto gateway, ecs::make_aws_gateway(ctx.config(), env, ctx.clock()));
  auto emit = [&](const std::string& m) { record.event(m); };
  auto started = ctx.clock().now();
  double started_epoch = ecs::epoch_seconds(ctx.clock().wall_now());
  RB_TRY_ASSIGN(std::string task_definition,
                ecs::wait_for_commit_deployment(*gateway, ctx.clock(), ctx.out(), emit, env, outcome.revert_sha,
                                                ctx.timeout()));
  auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock().now() - started);
  auto left = ctx.timeout() > spent ? ctx.timeout() - spent : std::chrono::milliseconds(1);
  // CI may have created the deployment before we saw it: accept deployments since the push,
  // but report only the service events that happened after the push.
  RB_TRY_ASSIGN(auto waited, ecs::wait_for_rollout(*gateway, ctx.clock(), ctx.out(), emit, env.cluster, env.service,
                                                   task_definition, started_epoch - 60, left, nullptr, started_epoch));
  emit(fmt::format("{} runs the revert on all {} tasks", env.service, waited.last.desired));
  ctx.out().verified(fmt::format("ECS: {} runs {} (built from the revert) on all {} tasks", env.service, task_definition,
                                 waited.last.desired));
  if (!env.health_url.empty()) {
    auto spent_all = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock().now() - started);
    RB_TRY(ecs::check_health(env.health_url, ctx.clock(), ecs::health_budget(ctx.timeout(), spent_all), emit));
    ctx.out().verified("health: " + env.health_url + " answered 2xx");
  }
  record.add_details({{"deployed_task_definition", task_definition}, {"waited", true}});
  return {};
}

Status run(Context& ctx, const AppOptions& o) {
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  const bool wait = (o.wait && !ctx.options().no_wait);
  if (wait && (o.revert.no_push || !o.revert.push_branch.empty()))
    return usage_error("--wait follows the redeploy of a pushed revert; with --no-push or --push-branch nothing deploys yet");
  nlohmann::json result = {{"env", env->name}, {"layer", "app"}};
  AfterPush after;
  if (wait) after = [&](RollbackRecord& rec, const RevertOutcome& out) { return follow_redeploy(ctx, *env, rec, out); };
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

void register_app(CLI::App& app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<AppOptions>();
  CLI::App* sub = app.add_subcommand("app", "Revert the bad PR on the environment's branch, push it, follow the redeploy");
  sub->add_option("--env,-e", opts->env, "Environment (from rollback.yaml)")->required();
  add_revert_options(*sub, opts->revert, RevertLayer::Application);
  sub->add_flag("--wait", opts->wait, "Follow the redeploy until ECS runs the revert (and the health URL answers)");
  add_global_options(*sub, g);
  run_when_parsed(*sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
