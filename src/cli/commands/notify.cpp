// rollback notify test: send a test message to every `team.notify` target.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/notify.hpp"

namespace rb::cli {

namespace {

struct NotifyOptions {
  std::string env;
};

Status test(Context& ctx, const NotifyOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  const auto& targets = ctx.notify_targets();
  if (targets.empty())
    return usage_error(fmt::format("{} configures no notification targets", ctx.config().file.string()),
                       "add e.g.\nteam:\n  table: rollback-team\n  notify:\n    - slack: { webhook_env: "
                       "ROLLBACK_SLACK_WEBHOOK }\n    - webhook: { url_env: ROLLBACK_HOOK_URL }");
  Notice n;
  n.phase = "test";
  n.entry.app = ctx.config().app;
  n.entry.env = env->name;
  n.entry.user = current_user();
  n.entry.host = current_host();
  n.entry.layer = "test";
  n.entry.outcome = "test";
  n.entry.reason = "rollback notify test";
  auto results = send_notifications(targets, n);
  nlohmann::json j = nlohmann::json::array();
  size_t failed = 0;
  for (const auto& r : results) {
    out.line(fmt::format("{}: {} ({}, {} attempt(s))", r.target, r.ok ? "delivered" : "NOT delivered", r.detail,
                         r.attempts));
    j.push_back({{"target", r.target}, {"ok", r.ok}, {"detail", r.detail}, {"attempts", r.attempts}});
    if (!r.ok) ++failed;
  }
  out.result({{"ok", failed == 0}, {"env", env->name}, {"targets", j}});
  if (failed)
    return failure(fmt::format("{} of {} notification target(s) did not accept the test message", failed, results.size()),
                   "check the URL in the named environment variable and that this machine can reach it");
  return {};
}

}  // namespace

void register_notify(Subcommand app, GlobalOptions& g, Action& action) {
  Subcommand sub = app.add_subcommand("notify", "Team notifications (Slack, JSON webhooks)");
  sub.require_subcommand(1);
  auto opts = std::make_shared<NotifyOptions>();
  Subcommand t = sub.add_subcommand("test", "Send a test message to every configured target");
  t.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)").required();
  add_global_options(t, g);
  run_when_parsed(t, g, action, true, [opts](Context& ctx) { return test(ctx, *opts); });
}

}  // namespace rb::cli
