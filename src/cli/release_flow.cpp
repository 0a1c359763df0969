#include "cli/release_flow.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <optional>

#include "cli/checklist_flow.hpp"
#include "cli/db_flow.hpp"
#include "cli/ecs_flow.hpp"
#include "core/release_plan.hpp"
#include "db/rollback.hpp"
#include "ecs/aws_gateway.hpp"
#include "git/git.hpp"
#include "git/message.hpp"
#include "util/clock.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {

namespace fs = std::filesystem;

// The journal layer of a release's parent entry.
constexpr const char* kLayerRelease = "release";
// Characters of a commit id shown in messages.
constexpr size_t kShortSha = 12;

// What the steps need, read once before they run (release) or from the parent entry (resume).
struct ReleaseState {
  const EnvironmentConfig* env = nullptr;
  RevertOptions revert;                       // what the revert step reverts, as the user named it
  bool ecs_first = false;
  std::string via = "local";                  // where the downgrade runs (`rollback db --via`)
  std::string change;                         // "PR #101"
  std::string branch;                         // "origin/main"
  std::vector<std::string> reverted_commits;  // full ids, oldest first
  std::string db_target;                      // with a db-downgrade step
  std::vector<std::string> db_heads;          // the change's own top revisions
  std::vector<std::string> db_start_rows;     // the version table when the release began
  std::string revert_commit;                  // once pushed (or found on the branch by resume)
  std::vector<ReleaseStep> steps;
};

std::string short_sha(const std::string& sha) { return sha.substr(0, kShortSha); }

std::string rows_text(const std::vector<std::string>& rows) { return rows.empty() ? "no rows (base)" : join(rows, ", "); }

nlohmann::json details_of(const ReleaseState& st) {
  nlohmann::json target = {{"pr", st.revert.pr ? nlohmann::json(*st.revert.pr) : nlohmann::json(nullptr)},
                           {"commit", st.revert.commit},
                           {"range", st.revert.range}};
  nlohmann::json d = {{"release",
                       {{"target", target},
                        {"repo", st.revert.repo},
                        {"change", st.change},
                        {"branch", st.branch},
                        {"reverted_commits", st.reverted_commits},
                        {"ecs_first", st.ecs_first},
                        {"via", st.via}}},
                      {"steps", steps_to_json(st.steps)},
                      {"revert_commit", st.revert_commit}};
  if (!st.db_target.empty())
    d["db"] = {{"target", st.db_target}, {"change_heads", st.db_heads}, {"start_rows", st.db_start_rows}};
  return d;
}

std::vector<std::string> strings_of(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string text_of(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// The parent entry's details back into the state; a usage error names what is missing.
Result<ReleaseState> state_from(const JournalEntry& entry, const EnvironmentConfig& env) {
  const nlohmann::json& d = entry.details;
  if (!d.is_object() || !d.contains("release") || !d["release"].is_object())
    return usage_error(fmt::format("rollback {} has no release plan in the journal", entry.id));
  const nlohmann::json& r = d["release"];
  ReleaseState st;
  st.env = &env;
  if (r.contains("target") && r["target"].is_object()) {
    const auto& t = r["target"];
    if (t.contains("pr") && t["pr"].is_number_unsigned()) st.revert.pr = t["pr"].get<unsigned long>();
    st.revert.commit = text_of(t, "commit");
    st.revert.range = text_of(t, "range");
  }
  st.revert.repo = text_of(r, "repo");
  st.revert.reason = entry.reason;
  st.ecs_first = r.value("ecs_first", false);
  st.via = r.value("via", std::string("local"));
  st.change = text_of(r, "change");
  st.branch = text_of(r, "branch");
  st.reverted_commits = strings_of(r.value("reverted_commits", nlohmann::json::array()));
  st.revert_commit = text_of(d, "revert_commit");
  if (d.contains("db") && d["db"].is_object()) {
    st.db_target = text_of(d["db"], "target");
    st.db_heads = strings_of(d["db"].value("change_heads", nlohmann::json::array()));
    st.db_start_rows = strings_of(d["db"].value("start_rows", nlohmann::json::array()));
  }
  RB_TRY_ASSIGN(st.steps, steps_from_json(d.value("steps", nlohmann::json())));
  return st;
}

// The change's migration scripts, from the checkout's versions folder (the scripts as of the
// branch tip, which still holds the change: prepare_downgrade refuses a checkout that differs).
Result<std::vector<ChangeMigration>> change_migrations(Context& ctx, const EnvironmentConfig& env,
                                                       const std::vector<std::string>& paths) {
  RB_TRY_ASSIGN(auto setup, db::resolve_setup(ctx.config().repo, env.migrations));
  RB_TRY_ASSIGN(auto graph, db::load_graph(setup));
  std::vector<ChangeMigration> found;
  std::vector<std::string> missing;
  for (const auto& p : paths) {
    const fs::path name = fs::path(p).filename();
    bool matched = false;
    for (const auto& s : graph.scripts())
      if (s.path.filename() == name) {
        found.push_back({s.revision, s.down_revisions});
        matched = true;
      }
    if (!matched) missing.push_back(p);
  }
  if (!missing.empty())
    ctx.out().warn(fmt::format("not migration scripts of {} (deleted by the change, or not Python): {}",
                               setup.versions_dir.string(), join(missing, ", ")));
  if (found.empty())
    return refusal(fmt::format("the change touches the migrations folder ({}) but none of its files is a migration "
                               "script in {}",
                               join(paths, ", "), setup.versions_dir.string()),
                   fmt::format("check the checkout, or downgrade by hand (`rollback db --env {} --dry-run` shows the "
                               "plan) and revert with `rollback app --allow-migrations`",
                               env.name));
  return found;
}

// A revert commit of the change already on the environment's branch: the newest commit after the
// change whose message says "This reverts commit <the change's newest commit>". Empty when none.
Result<std::string> revert_on_branch(Context& ctx, const ReleaseState& st) {
  if (st.reverted_commits.empty()) return std::string();
  fs::path repo = st.revert.repo.empty() ? ctx.config().repo : fs::path(st.revert.repo);
  git::Git git(ctx.runner(), repo);
  RB_TRY(git.fetch(ctx.config().remote, st.env->branch));
  const std::string& newest = st.reverted_commits.back();
  RB_TRY_ASSIGN(std::string found,
                git.run({"log", "--format=%H", "--fixed-strings", "--grep=This reverts commit " + newest,
                         newest + ".." + git::remote_ref(ctx.config().remote, st.env->branch)}));
  auto lines = split(trim(found), '\n');
  return lines.empty() ? std::string() : trim(lines.front());
}

// The task definition the emergency rollback `child` went to, when it succeeded (or was sent,
// with --no-wait) and the service's PRIMARY deployment runs it now (its effect is there); empty
// otherwise.
Result<std::string> service_runs_rollback_target(Context& ctx, const EnvironmentConfig& env, const std::string& child) {
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  RB_TRY_ASSIGN(auto entry, journal->get(child));
  // "started": the rollback was sent and not waited for (--no-wait); the service says whether it took.
  const bool sent = entry && (entry->outcome == kOutcomeSucceeded || entry->outcome == "started");
  if (!sent || entry->to.empty()) return std::string();
  RB_TRY_ASSIGN(auto gateway, ecs::make_aws_gateway(ctx.config(), env, ctx.clock()));
  RB_TRY_ASSIGN(auto service, gateway->describe_service(env.cluster, env.service));
  return service.current_task_definition() == entry->to ? entry->to : std::string();
}

// With `estimates`, each step says how long it took before here, and the plan its total.
void print_steps(Output& out, const std::vector<ReleaseStep>& steps, bool estimates = false) {
  std::chrono::seconds total{0};
  size_t unknown = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    out.line(fmt::format("  {}. {}{}", i + 1, to_string(s.kind), s.finished() ? " (" + s.status + ")" : ""));
    out.line("       why here: " + s.why);
    if (estimates) {
      out.line("       time: " + describe_estimate(s.estimate));
      if (s.estimate) total += s.estimate->typical;
      else ++unknown;
    }
    if (!s.note.empty()) out.line("       " + s.note);
    if (!s.exposed.empty() && i + 1 < steps.size()) out.line("       exposed after it: " + s.exposed);
  }
  if (estimates && unknown < steps.size())
    out.line(fmt::format("  estimated total: about {}{}", describe_span(total),
                         unknown ? fmt::format(", without the {} step(s) that have no earlier run", unknown) : ""));
}

// Fills each step's estimate from the environment's journal; an unreadable journal leaves them
// empty (an estimate is advice, not a reason to stop a rollback).
void estimate_steps(Context& ctx, const std::string& env, std::vector<ReleaseStep>& steps) {
  auto journal = ctx.journal_for_reading();
  if (!journal || !*journal) return;
  JournalFilter filter;
  filter.app = ctx.config().app;
  filter.env = env;
  filter.outcome = kOutcomeSucceeded;
  filter.limit = 200;
  auto history = (*journal)->list(filter);
  if (!history) return;
  for (auto& s : steps) s.estimate = estimate_step(s.kind, *history);
}

// The database step: where the version table is now decides whether it runs.
struct DbStep {
  std::optional<Prepared> prepared;  // the plan to run; empty when the database is already at the target
};

DbOptions db_options(const ReleaseState& st) {
  DbOptions o;
  o.env = st.env->name;
  o.to = st.db_target;
  o.reason = st.revert.reason;
  o.via = st.via;
  return o;
}

// Reads the version table and plans the downgrade to the target when it is needed. With
// `start_rows` (resume), a database at neither the start nor the target is refused.
Result<DbStep> plan_db_step(Context& ctx, ReleaseState& st, ReleaseStep& step, bool resuming) {
  RB_TRY_ASSIGN(auto rows, read_version_rows(ctx, *st.env));
  if (!resuming) st.db_start_rows = rows;
  DbStep out;
  switch (classify_db(rows, st.db_start_rows, st.db_target)) {
    case DbWorld::AtTarget:
      step.status = kStepAlreadyDone;
      step.note = fmt::format("the database is already at {}: not downgraded {}", st.db_target,
                              resuming ? "again" : "(the change's migrations are not applied)");
      return out;
    case DbWorld::Moved: {
      Error e = refusal(fmt::format("the database moved: its version table holds {}, but the release found it at {} "
                                    "and was taking it to {}",
                                    rows_text(rows), rows_text(st.db_start_rows), st.db_target),
                        "someone migrated it since: check `rollback db status --env " + st.env->name +
                            "`, then finish by hand (`rollback db --to " + st.db_target +
                            "`, `rollback app --allow-migrations`)");
      e.tag = "world-moved";
      return e;
    }
    case DbWorld::AtStart: break;
  }
  RB_TRY_ASSIGN(auto prepared, prepare_downgrade(ctx, *st.env, db_options(st)));
  out.prepared.emplace(std::move(prepared));
  return out;
}

// Runs step `i`; sets its status, note and child id.
Status run_step(Context& ctx, ReleaseState& st, size_t i, LockHandle& lock, RollbackRecord& parent,
                std::optional<DbStep>& db_step, bool resuming) {
  ReleaseStep& step = st.steps[i];
  const EnvironmentConfig& env = *st.env;
  const nlohmann::json child_details = {{"parent", parent.id()}, {"release_step", to_string(step.kind)}};
  switch (step.kind) {
    case ReleaseStepKind::DbDowngrade: {
      if (!db_step || resuming) {
        RB_TRY_ASSIGN(auto planned, plan_db_step(ctx, st, step, resuming));
        db_step.emplace(std::move(planned));
      }
      if (step.status == kStepAlreadyDone) return {};
      if (!db_step->prepared) return failure("internal: the downgrade was not planned");
      Prepared& p = *db_step->prepared;
      if (p.blocker) return *p.blocker;
      nlohmann::json result;
      RB_TRY_ASSIGN(step.child, run_prepared_downgrade(ctx, env, db_options(st), p, lock, child_details, result));
      step.status = kStepDone;
      step.note = fmt::format("the database went from {} to {}", rows_text(st.db_start_rows), st.db_target);
      return {};
    }
    case ReleaseStepKind::Revert:
    case ReleaseStepKind::InfraRevert: {
      if (resuming) {
        RB_TRY_ASSIGN(std::string found, revert_on_branch(ctx, st));
        if (!found.empty()) {
          st.revert_commit = found;
          step.status = kStepAlreadyDone;
          step.note = fmt::format("the revert {} is already on {}: not reverted again", short_sha(found), st.branch);
          ctx.out().line(step.note);
          return {};
        }
      }
      RevertOptions ro = st.revert;
      // The release handles what the guards protect: the downgrade ran first, the layers are planned.
      ro.allow_migrations = ro.allow_infrastructure = ro.allow_mixed = ro.allow_application = true;
      ro.guards_lifted_by_release = true;
      const bool infra = step.kind == ReleaseStepKind::InfraRevert;
      AfterPush after;
      if (infra)
        after = [&](RollbackRecord& rec, const RevertOutcome& outcome) {
          const auto pushed_at = ctx.clock().wall_now();
          rec.event(fmt::format("the push starts the Terraform workflow of {}: CI should now plan and apply {} at {}; "
                                "watch it and review its plan",
                                env.branch, env.terraform.dir, short_sha(outcome.revert_sha)));
          if (ctx.options().no_wait) return Status{};
          return wait_for_ci_apply(ctx, env, rec, pushed_at, outcome);
        };
      RevertStep as_step{lock, child_details};
      nlohmann::json result;
      auto outcome = run_revert(ctx, env, ro, infra ? RevertLayer::Infrastructure : RevertLayer::Application, after,
                                result, &as_step);
      if (!outcome) {
        if (ctx.out().rollback_id() != parent.id()) step.child = ctx.out().rollback_id();
        return outcome.take_error();
      }
      step.child = outcome->rollback_id;
      st.revert_commit = outcome->revert_sha;
      step.status = kStepDone;
      step.note = fmt::format("revert {} pushed to {}", short_sha(outcome->revert_sha), outcome->pushed_ref);
      return {};
    }
    case ReleaseStepKind::Redeploy: {
      if (st.revert_commit.empty())
        return failure("the redeploy cannot be followed: no revert commit is recorded",
                       "check the branch with `git log`, and the service with `rollback status --env " + env.name + "`");
      JournalEntry entry;
      entry.env = env.name;
      entry.layer = "app";
      entry.from = st.revert_commit;
      entry.to = st.revert_commit;
      entry.reason = st.revert.reason;
      entry.details = child_details;
      entry.details.update({{"revert_commit", st.revert_commit}, {"cluster", env.cluster}, {"service", env.service}});
      RB_TRY_ASSIGN(auto record, RollbackRecord::begin(ctx, lock, entry));
      step.child = record->id();
      if (auto followed = follow_redeploy(ctx, env, *record, st.revert_commit); !followed)
        return record->fail(followed.take_error());
      RB_TRY(record->finish(kOutcomeSucceeded));
      step.status = kStepDone;
      step.note = fmt::format("{} runs the revert {}", env.service, short_sha(st.revert_commit));
      return {};
    }
    case ReleaseStepKind::Ecs: {
      if (resuming && !step.child.empty()) {
        RB_TRY_ASSIGN(auto on_target, service_runs_rollback_target(ctx, env, step.child));
        if (!on_target.empty()) {
          step.status = kStepAlreadyDone;
          step.note = fmt::format("{} already runs {}: not rolled back again", env.service, on_target);
          ctx.out().line(step.note);
          return {};
        }
      }
      EcsOptions eo;
      eo.env = env.name;
      eo.reason = st.revert.reason;
      EcsStep as_step{lock, child_details, {}};
      Status ran = run_ecs(ctx, eo, &as_step);
      step.child = as_step.child_id;
      RB_TRY(std::move(ran));
      step.status = kStepDone;
      step.note = fmt::format("{} rolled back to the last known good task definition", env.service);
      return {};
    }
  }
  return {};
}

// The runbook's "Before Rollback" items for a release: the issue, the change, AWS access when a
// step reads AWS, the database step's plan, the team.
std::vector<CheckItem> release_before_items(Context& ctx, const ReleaseState& st, const git::Plan& plan,
                                            const std::optional<DbStep>& db_step) {
  const EnvironmentConfig& env = *st.env;
  std::vector<CheckItem> items;
  items.push_back(issue_item(ctx, env, st.revert.reason));
  std::vector<std::string> commits;
  for (const auto& c : plan.commits) commits.push_back(fmt::format("{} {}", c.short_sha, c.subject));
  items.push_back({std::string(kItemKnowTarget), std::string(kPhaseBefore), CheckResult::Pass,
                   fmt::format("{} on {}: {}", st.change, st.branch, join(commits, "; "))});
  bool reads_aws = st.via == "ecs-task";
  for (const auto& s : st.steps)
    if (s.kind == ReleaseStepKind::Ecs || s.kind == ReleaseStepKind::Redeploy) reads_aws = true;
  items.push_back(reads_aws ? aws_access_item(ctx, env)
                            : CheckItem{std::string(kItemAwsAccess), std::string(kPhaseBefore), CheckResult::Skipped,
                                        "no step of this plan reads AWS"});
  if (db_step && db_step->prepared) {
    const auto& p = *db_step->prepared;
    items.push_back({std::string(kItemDatabasePlan), std::string(kPhaseBefore),
                     p.plan.destroys_data && !p.backup ? CheckResult::Warn : CheckResult::Pass,
                     fmt::format("alembic downgrade {} to {} ({} migration{}), risk {}; {}", p.plan.plan.alembic_argument,
                                 st.db_target, p.plan.plan.steps.size(), p.plan.plan.steps.size() == 1 ? "" : "s",
                                 db::to_string(p.plan.severity), p.backup ? "backed up first" : "no backup")});
  } else {
    items.push_back({std::string(kItemDatabasePlan), std::string(kPhaseBefore), CheckResult::Skipped,
                     st.db_target.empty() ? "the change has no migration"
                                          : fmt::format("the database is already at {}", st.db_target)});
  }
  items.push_back(team_notified_item(ctx, env));
  return items;
}

// The runbook's "After Rollback" items of a release, from what its steps proved.
// The logs are watched once, after the last step, when a step followed the service (the window
// before is the one before `started`, when this command began).
std::vector<CheckItem> release_after_items(Context& ctx, const ReleaseState& st, RollbackRecord& parent,
                                           std::chrono::system_clock::time_point started) {
  std::vector<CheckItem> after;
  const ReleaseStep* db = nullptr;
  const ReleaseStep* api = nullptr;
  for (const auto& s : st.steps) {
    if (s.kind == ReleaseStepKind::DbDowngrade) db = &s;
    if ((s.kind == ReleaseStepKind::Redeploy || s.kind == ReleaseStepKind::Ecs) && s.finished()) api = &s;
  }
  after.push_back(api ? CheckItem{std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Pass,
                                  fmt::format("step {}: {}", to_string(api->kind), api->note)}
                      : CheckItem{std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Skipped,
                                  "no step followed the service (--no-wait): check it with `rollback status`"});
  after.push_back(api ? service_logs_item(ctx, *st.env, parent, started, ctx.clock().wall_now())
                      : CheckItem{std::string(kItemMonitorLogs), std::string(kPhaseAfter), CheckResult::Skipped,
                                  "no step followed the service (--no-wait): nothing runs the revert yet to watch"});
  after.push_back(db ? CheckItem{std::string(kItemVerifyDatabase), std::string(kPhaseAfter), CheckResult::Pass,
                                 fmt::format("{}{}", db->note.empty() ? db->status : db->note,
                                             db->child.empty() ? "" : " (verified by rollback " + db->child + ")")}
                     : CheckItem{std::string(kItemVerifyDatabase), std::string(kPhaseAfter), CheckResult::Skipped,
                                 "no database step"});
  for (auto& i : closing_items(ctx, *st.env, parent.id())) after.push_back(std::move(i));
  return after;
}

// Runs the unfinished steps in order. The first failure stops the run: the parent records it,
// and the error says what was done, what was not, and how to continue.
Status run_steps(Context& ctx, ReleaseState& st, LockHandle& lock, RollbackRecord& parent,
                 std::optional<DbStep>& db_step, bool resuming, nlohmann::json& result,
                 std::chrono::system_clock::time_point started, std::vector<CheckItem>* checklist) {
  Output& out = ctx.out();
  const size_t n = st.steps.size();
  for (size_t i = 0; i < n; ++i) {
    ReleaseStep& step = st.steps[i];
    if (step.finished()) {
      out.line(fmt::format("step {}/{} {}: {} ({})", i + 1, n, to_string(step.kind), step.status,
                           step.note.empty() ? "nothing to do" : step.note));
      continue;
    }
    Status ran;
    if (interrupted()) {
      ran = interrupted_error("interrupted before step " + std::string(to_string(step.kind)));
    } else {
      out.line("");
      out.line(fmt::format("step {}/{} {}: {}", i + 1, n, to_string(step.kind), step.why));
      ran = run_step(ctx, st, i, lock, parent, db_step, resuming);
    }
    // The step's own entry is closed; what follows belongs to the release again.
    ctx.out().set_rollback_id(parent.id());
    lock.set_rollback_id(parent.id());
    if (!ran) {
      Error e = ran.take_error();
      step.status = kStepFailed;
      step.note = e.message;
      parent.step(fmt::format("step {} failed: {}", to_string(step.kind), e.message), details_of(st));
      std::vector<std::string> done, not_done;
      for (const auto& s : st.steps) (s.finished() ? done : not_done).push_back(to_string(s.kind));
      out.line("");
      out.line(fmt::format("release {} stopped at step {}:", parent.id(), to_string(step.kind)));
      for (const auto& l : describe_progress(st.steps)) out.line(l);
      out.line(fmt::format("to continue once the cause is fixed: rollback resume {}", parent.id()));
      result["steps"] = steps_to_json(st.steps);
      e.message = fmt::format("release {} stopped at step {} ({} done: {}; not done: {}): {}", parent.id(),
                              to_string(step.kind), done.size(), done.empty() ? "none" : join(done, ", "),
                              join(not_done, ", "), e.message);
      e.hint = (e.hint.empty() ? std::string() : e.hint + "; then ") +
               fmt::format("continue with `rollback resume {}` (steps already done are checked, not repeated)",
                           parent.id());
      return parent.fail(std::move(e));
    }
    parent.step(fmt::format("step {} {}{}", to_string(step.kind), step.status,
                            step.child.empty() ? "" : " (rollback " + step.child + ")"),
                details_of(st));
    if (!step.exposed.empty() && i + 1 < n) out.line("exposed until the next steps are done: " + step.exposed);
    if (!step.exposed.empty() && i + 1 == n) out.line("still exposed: " + step.exposed);
  }
  nlohmann::json final_details = details_of(st);
  if (checklist) {
    auto after = release_after_items(ctx, st, parent, started);
    out.line("checklist after the rollback:");
    for (const auto& line : checklist_lines(after)) out.line(line);
    for (auto& i : after) checklist->push_back(std::move(i));
    final_details["checklist"] = checklist_to_json(*checklist);
    result["checklist"] = final_details["checklist"];
  }
  RB_TRY(parent.finish(kOutcomeSucceeded, final_details));
  out.line("");
  out.line(fmt::format("release {} succeeded:", parent.id()));
  for (const auto& l : describe_progress(st.steps)) out.line(l);
  result["steps"] = steps_to_json(st.steps);
  result["outcome"] = kOutcomeSucceeded;
  return {};
}

}  // namespace

Status run_release(Context& ctx, const ReleaseOptions& o) {
  Output& out = ctx.out();
  const bool dry_run = ctx.options().dry_run;
  const auto command_wall_start = ctx.clock().wall_now();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  RB_TRY(reason_gate(ctx, *env, o.revert.reason, "release"));

  RB_TRY_ASSIGN(auto resolved, resolve_revert(ctx, *env, o.revert));
  const git::Plan& plan = resolved.plan;
  const git::PathCategories& cats = resolved.categories;
  ReleaseState st;
  st.env = env;
  st.revert = o.revert;
  st.ecs_first = o.ecs_first;
  st.via = o.via;
  st.change = resolved.target.describe();
  st.branch = plan.where();
  for (const auto& c : plan.commits) st.reverted_commits.push_back(c.sha);

  ReleaseInput in;
  in.env = env->name;
  in.branch = st.branch;
  in.change = st.change;
  in.migrations = cats.migrations;
  in.infrastructure = cats.infrastructure;
  in.application = cats.application;
  in.ecs_first = o.ecs_first;
  in.follow_redeploy = !ctx.options().no_wait;
  if (!cats.migrations.empty()) {
    RB_TRY_ASSIGN(auto migrations, change_migrations(ctx, *env, cats.migrations));
    RB_TRY_ASSIGN(st.db_target, downgrade_target(migrations));
    st.db_heads = change_heads(migrations);
    in.db_target = st.db_target;
    in.db_heads = st.db_heads;
  }
  RB_TRY_ASSIGN(st.steps, plan_release(in));

  out.line(fmt::format("Release rollback of {} on {} ({} at {}):", st.change, env->name, st.branch,
                       short_sha(plan.base_sha)));
  for (const auto& c : plan.commits) out.line(fmt::format("  {}  {}", c.short_sha, c.subject));
  out.line(fmt::format("  layers: migrations {}, infrastructure {}, application {}",
                       cats.migrations.empty() ? "none" : join(cats.migrations, ", "),
                       cats.infrastructure.empty() ? "none" : join(cats.infrastructure, ", "),
                       cats.application.empty() ? "none" : std::to_string(cats.application.size()) + " file(s)"));
  if (!st.db_target.empty())
    out.line(fmt::format("  the change's migrations: {}; the revision below them: {}", join(st.db_heads, ", "),
                         st.db_target));

  // Plan the database step under the lock, so nobody migrates between our reading and our run.
  std::optional<LockHandle> lock;
  if (dry_run) {
    RB_TRY(ctx.check_lock(*env));
  } else {
    RB_TRY_ASSIGN(auto taken, ctx.lock(*env));
    lock.emplace(std::move(taken));
  }
  std::optional<DbStep> db_step;
  for (auto& step : st.steps)
    if (step.kind == ReleaseStepKind::DbDowngrade) {
      out.line("");
      out.line("The database step:");
      RB_TRY_ASSIGN(auto planned, plan_db_step(ctx, st, step, false));
      db_step.emplace(std::move(planned));
      if (db_step->prepared && db_step->prepared->blocker && !dry_run) return *db_step->prepared->blocker;
      if (db_step->prepared && db_step->prepared->blocker)
        out.line("dry run: the real run would be refused: " + db_step->prepared->blocker->message);
    }

  out.line("");
  out.line("The plan, in the runbook's order:");
  estimate_steps(ctx, env->name, st.steps);
  print_steps(out, st.steps, /*estimates=*/true);
  nlohmann::json result = {{"env", env->name}, {"layer", kLayerRelease}, {"change", st.change},
                           {"branch", st.branch}, {"steps", steps_to_json(st.steps)}};
  for (size_t i = 0; i < st.steps.size(); ++i) {
    const auto& e = st.steps[i].estimate;
    result["steps"][i]["estimate"] = e ? nlohmann::json{{"seconds", e->typical.count()}, {"samples", e->samples}}
                                       : nlohmann::json(nullptr);
  }
  if (!st.db_target.empty())
    result["db"] = {{"target", st.db_target}, {"change_heads", st.db_heads}, {"start_rows", st.db_start_rows}};
  out.line("");
  auto checklist = release_before_items(ctx, st, plan, db_step);
  RB_TRY(present_checklist(ctx,
                           dry_run ? "checklist before the rollback (not recorded in a dry run):"
                                   : "checklist before the rollback:",
                           checklist));
  result["checklist"] = checklist_to_json(checklist);
  if (dry_run) {
    out.line("dry run: nothing was changed");
    result["ok"] = true;
    result["dry_run"] = true;
    out.result(result);
    return {};
  }

  std::vector<std::string> names;
  for (const auto& s : st.steps) names.push_back(to_string(s.kind));
  RB_TRY(confirm_environment(ctx, *env,
                             fmt::format("roll back {} on {} in {} steps ({})", st.change, env->name, st.steps.size(),
                                         join(names, ", "))));
  JournalEntry entry;
  entry.env = env->name;
  entry.layer = kLayerRelease;
  entry.from = plan.base_sha;
  entry.to = st.change;
  entry.reason = o.revert.reason;
  entry.details = details_of(st);
  entry.details["checklist"] = checklist_to_json(checklist);
  RB_TRY_ASSIGN(auto parent, RollbackRecord::begin(ctx, *lock, entry));
  out.line(fmt::format("release {} started", parent->id()));
  result["rollback_id"] = parent->id();
  RB_TRY(run_steps(ctx, st, *lock, *parent, db_step, false, result, command_wall_start, &checklist));
  result["ok"] = true;
  out.result(result);
  return {};
}

namespace {

// The checklist a resumed release closes: the one recorded when it began, unless its "after"
// items are already there (then nullopt: nothing is added twice).
std::optional<std::vector<CheckItem>> checklist_to_close(const JournalEntry& entry) {
  auto items = entry.details.is_object() && entry.details.contains("checklist")
                   ? checklist_from_json(entry.details["checklist"])
                   : std::vector<CheckItem>{};
  for (const auto& i : items)
    if (i.phase == kPhaseAfter) return std::nullopt;
  return items;
}

}  // namespace

Status run_resume(Context& ctx, const std::string& id, const std::string& reason) {
  Output& out = ctx.out();
  const auto command_wall_start = ctx.clock().wall_now();
  RB_TRY(git::check_rollback_id(id));
  std::optional<JournalEntry> found;
  {
    RB_TRY_ASSIGN(Journal * journal, ctx.journal_for_reading());
    RB_TRY_ASSIGN(found, journal->get(id));
  }
  if (!found)
    return usage_error(fmt::format("no rollback {} in the journal", id),
                       "`rollback history --layer release` lists the releases; nothing was changed");
  const JournalEntry& entry = *found;
  if (entry.layer != kLayerRelease)
    return refusal(fmt::format("rollback {} is a {} rollback, not a release: only a release is resumed", id, entry.layer),
                   "run the command again instead; nothing was changed");
  if (ctx.config().app != entry.app)
    return refusal(fmt::format("rollback {} belongs to app {}, not {} (this rollback.yaml)", id, entry.app,
                               ctx.config().app),
                   "run it with the configuration of that app; nothing was changed");
  if (entry.outcome == kOutcomeSucceeded)
    return refusal(fmt::format("release {} already finished (succeeded at {})", id, entry.ended_at),
                   "there is nothing to continue; nothing was changed");
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(entry.env));
  RB_TRY_ASSIGN(auto st, state_from(entry, *env));
  // The release's own reason carries over; --reason on resume replaces it (or supplies a missing one).
  if (!trim(reason).empty()) st.revert.reason = reason;
  RB_TRY(reason_gate(ctx, *env, st.revert.reason, "resume"));
  if (!first_unfinished(st.steps))
    return refusal(fmt::format("every step of release {} is done", id), "there is nothing to continue; nothing was changed");

  out.line(fmt::format("Release {} of {} on {} ({}), recorded as {}:", id, st.change, env->name, st.branch,
                       entry.outcome));
  print_steps(out, st.steps);
  nlohmann::json result = {{"env", env->name}, {"layer", kLayerRelease}, {"rollback_id", id}, {"resumed", true},
                           {"steps", steps_to_json(st.steps)}};
  if (ctx.options().dry_run) {
    RB_TRY(ctx.check_lock(*env));
    out.line("dry run: nothing was changed (each unfinished step is checked against the world when it runs)");
    result["ok"] = true;
    result["dry_run"] = true;
    out.result(result);
    return {};
  }
  RB_TRY_ASSIGN(auto lock, ctx.lock(*env));
  RB_TRY(confirm_environment(ctx, *env, fmt::format("continue release {} ({}) on {}", id, st.change, env->name)));
  RB_TRY_ASSIGN(auto parent, RollbackRecord::reopen(ctx, lock, entry));
  parent->event(fmt::format("resumed by {} (was {}){}", current_user(), entry.outcome,
                            trim(reason).empty() ? std::string() : "; reason: " + trim(reason)));
  std::optional<DbStep> db_step;
  auto checklist = checklist_to_close(entry);
  RB_TRY(run_steps(ctx, st, lock, *parent, db_step, true, result, command_wall_start,
                   checklist ? &*checklist : nullptr));
  result["ok"] = true;
  out.result(result);
  return {};
}

}  // namespace rb::cli
