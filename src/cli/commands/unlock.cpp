// rollback unlock: break a lock left by a rollback whose process died.
#include <fmt/format.h>

#include "cli/command.hpp"

namespace rb::cli {

namespace {

struct UnlockOptions {
  std::string env;
};

Status run(Context& ctx, const UnlockOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  const std::string& app = ctx.config().app;
  RB_TRY_ASSIGN(auto seen, EnvironmentLock::inspect(ctx.lock_dir(), app, env->name));
  if (seen.state == LockState::Free) {
    out.line(fmt::format("{} is not locked: nothing to do", env->name));
    out.result({{"ok", true}, {"env", env->name}, {"lock", "free"}});
    return {};
  }
  if (seen.state == LockState::Held)
    return lock_error(fmt::format("{} is locked by a running process: {}", env->name, seen.holder->describe()),
                      "a live lock is not broken: wait for that rollback, or stop it (Ctrl-C releases its lock)");
  out.line(fmt::format("{} has a stale lock: {}", env->name, seen.holder->describe()));
  out.line("The process that held it is gone; the rollback it was doing may be incomplete.");
  if (ctx.options().dry_run) {
    out.line("dry run: the lock was left in place");
    return {};
  }
  RB_TRY(confirm_typed(ctx, env->name, fmt::format("Break the lock of {}?", env->name)));
  RB_TRY_ASSIGN(auto broken, EnvironmentLock::break_stale(ctx.lock_dir(), app, env->name));
  nlohmann::json j = {{"ok", true}, {"env", env->name}, {"lock", "broken"}};
  if (broken.holder && !broken.holder->rollback_id.empty()) {
    RB_TRY_ASSIGN(Journal * journal, ctx.journal());
    RB_TRY_ASSIGN(auto entry, journal->get(broken.holder->rollback_id));
    if (entry && entry->outcome == kOutcomeRunning) {
      (void)journal->event(entry->id, fmt::format("lock broken by {} with `rollback unlock`: the process died", current_user()));
      RB_TRY(journal->finish(entry->id, kOutcomeInterrupted, {{"lock_broken_by", current_user()}}));
      out.line(fmt::format("rollback {} is now recorded as interrupted", entry->id));
    }
    j["rollback_id"] = broken.holder->rollback_id;
  }
  out.line(fmt::format("the lock of {} is broken; check `rollback status --env {}` before rolling back again",
                       env->name, env->name));
  out.result(j);
  return {};
}

}  // namespace

void register_unlock(CLI::App& app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<UnlockOptions>();
  CLI::App* sub = app.add_subcommand("unlock", "Break an environment's lock left by a rollback whose process died");
  sub->add_option("--env,-e", opts->env, "Environment (from rollback.yaml)")->required();
  add_global_options(*sub, g);
  run_when_parsed(*sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
