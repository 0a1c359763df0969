// rollback unlock: break a lock left by a rollback whose process died.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/lock.hpp"
#include "core/team_lock.hpp"
#include "util/log.hpp"

namespace rb::cli {

namespace {

struct UnlockOptions {
  std::string env;
};

// Team mode: the lock is an item on DynamoDB, broken once nobody renewed it for a full lease.
Status run_team(Context& ctx, const EnvironmentConfig& env) {
  Output& out = ctx.out();
  const std::string& app = ctx.config().app;
  RB_TRY_ASSIGN(team::TeamStore * store, ctx.team_store());
  auto seen = team::read_team_lock(*store, app, env.name);
  if (!seen) return team::cannot_start(seen.error(), store->table(), "read the team lock");
  if (!*seen) {
    out.line(fmt::format("{} is not locked: nothing to do", env.name));
    out.result({{"ok", true}, {"env", env.name}, {"lock", "free"}});
    return {};
  }
  out.line(fmt::format("{} is locked by {}", env.name, (*seen)->describe()));
  if (ctx.options().dry_run) {
    out.line("dry run: the lock was left in place");
    out.result({{"ok", true}, {"dry_run", true}, {"env", env.name}, {"lock", "held"}});
    return {};
  }
  RB_TRY(confirm_typed(ctx, env.name,
                       fmt::format("Break the team lock of {} if its holder has stopped renewing it?", env.name)));
  RB_TRY_ASSIGN(auto broken, team::break_team_lock(*store, ctx.clock(), app, env.name, ctx.config().team->lease,
                                                   ctx.state_dir() / "team-locks", !ctx.options().no_wait,
                                                   [&](const std::string& m) { out.line(m); }));
  if (broken.was_free) {
    out.line(fmt::format("{} was released meanwhile: nothing to do", env.name));
    out.result({{"ok", true}, {"env", env.name}, {"lock", "free"}});
    return {};
  }
  const team::TeamLockItem& dead = *broken.broken;
  nlohmann::json j = {{"ok", true}, {"env", env.name}, {"lock", "broken"}, {"holder", dead.holder.to_json()}};
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  std::string who = fmt::format("{}@{}", current_user(), current_host());
  std::string whose = fmt::format("{}@{} (pid {}{})", dead.holder.user, dead.holder.host, dead.holder.pid,
                                  dead.identity.empty() ? "" : ", " + dead.identity);
  JournalEntry entry;
  entry.env = env.name;
  entry.app = app;
  entry.layer = "lock";
  entry.from = whose;
  entry.to = who;
  entry.reason = "team lock broken with `rollback unlock`: its holder stopped renewing it";
  entry.outcome = kOutcomeSucceeded;
  entry.details = {{"broken_holder", dead.holder.to_json()}, {"broken_identity", dead.identity},
                   {"broken_version", dead.version}, {"last_heartbeat", dead.heartbeat_at}, {"broken_by", who}};
  RB_TRY_ASSIGN(std::string unlock_id, journal->begin(entry));
  RB_TRY(journal->finish(unlock_id, kOutcomeSucceeded, {}));
  j["journal_id"] = unlock_id;
  if (!dead.holder.rollback_id.empty()) {
    j["rollback_id"] = dead.holder.rollback_id;
    auto held = journal->get(dead.holder.rollback_id);
    if (held && *held && (*held)->outcome == kOutcomeRunning) {
      (void)journal->event(dead.holder.rollback_id,
                           fmt::format("team lock broken by {} with `rollback unlock`: the holder stopped renewing it", who));
      RB_TRY(journal->finish(dead.holder.rollback_id, kOutcomeInterrupted, {{"lock_broken_by", who}}));
      out.line(fmt::format("rollback {} is now recorded as interrupted", dead.holder.rollback_id));
    }
  }
  out.line(fmt::format("the team lock of {} (held by {}) is broken; check `rollback status --env {}` before rolling "
                       "back again",
                       env.name, whose, env.name));
  out.result(j);
  return {};
}

// A run killed after its journal entry was written but before the lock named it leaves an entry
// "running" that the lock does not point to. With the lock taken for a moment (so no rollback of
// this machine runs there), every such entry of this environment is closed, not only the named one.
// Another command taking the lock first is fine: its own start closes them the same way.
void close_entries_of_dead_runs(Context& ctx, const EnvironmentConfig& env, nlohmann::json& j) {
  auto lock = EnvironmentLock::acquire(ctx.lock_dir(), ctx.config().app, env.name, ctx.lock_holder());
  if (!lock) {
    log_debug("unlock: the lock was taken again at once ({}); that rollback closes the dead entries",
              lock.error().message);
    return;
  }
  // Best effort: the lock is broken either way, and the next rollback closes what is left.
  auto journal = ctx.journal();
  auto closed = journal ? reconcile_unfinished(**journal, ctx.unrecorded_dir(), ctx.config().app, env.name, "", "",
                                               fmt::format("`rollback unlock` by {}", current_user()))
                        : Result<std::vector<std::string>>(journal.take_error());
  if (!closed) {
    ctx.out().warn(fmt::format("the journal entries left running could not be closed ({}); the next rollback of {} "
                               "closes them",
                               closed.error().message, env.name));
  } else {
    for (const auto& line : *closed) ctx.out().line(line);
    if (!closed->empty()) j["closed_entries"] = closed->size();
  }
  lock->release();
}

Status run(Context& ctx, const UnlockOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  if (ctx.is_team() && !ctx.options().local_lock) return run_team(ctx, *env);
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
  close_entries_of_dead_runs(ctx, *env, j);
  out.line(fmt::format("the lock of {} is broken; check `rollback status --env {}` before rolling back again",
                       env->name, env->name));
  out.result(j);
  return {};
}

}  // namespace

void register_unlock(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<UnlockOptions>();
  Subcommand sub = app.add_subcommand("unlock", "Break an environment's lock left by a rollback whose process died");
  sub.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)").required();
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
