#include "cli/revert_flow.hpp"

#include <fmt/format.h>

#include "cli/checklist_flow.hpp"
#include "cli/command.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/rollback.hpp"
#include "git/guards.hpp"
#include "git/resolve.hpp"
#include "infra/apply_watch.hpp"
#include "infra/aws_storage.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {

const char* layer_name(RevertLayer layer) { return layer == RevertLayer::Application ? "app" : "infra"; }

// The runbook's "Before Rollback" items for `rollback app` (a release checks its own).
std::vector<CheckItem> app_before_items(Context& ctx, const EnvironmentConfig& env, const RevertOptions& o,
                                        const ResolvedRevert& r, bool follows_redeploy) {
  std::vector<CheckItem> items;
  items.push_back(issue_item(ctx, env, o.reason));
  std::vector<std::string> commits;
  for (const auto& c : r.plan.commits) commits.push_back(fmt::format("{} {}", c.short_sha, c.subject));
  items.push_back({std::string(kItemKnowTarget), std::string(kPhaseBefore), CheckResult::Pass,
                   fmt::format("{} on {}: {}", r.target.describe(), r.plan.where(), join(commits, "; "))});
  items.push_back(follows_redeploy ? aws_access_item(ctx, env)
                                   : CheckItem{std::string(kItemAwsAccess), std::string(kPhaseBefore),
                                               CheckResult::Skipped,
                                               "a revert needs git, not AWS (only --wait reads ECS)"});
  items.push_back(r.categories.migrations.empty()
                      ? CheckItem{std::string(kItemDatabasePlan), std::string(kPhaseBefore), CheckResult::Skipped,
                                  "the revert touches no migration"}
                      : CheckItem{std::string(kItemDatabasePlan), std::string(kPhaseBefore), CheckResult::Warn,
                                  fmt::format("the revert touches {} migration file(s): downgrade the database first "
                                              "(`rollback db`, or `rollback release` for both)",
                                              r.categories.migrations.size())});
  items.push_back(team_notified_item(ctx, env));
  return items;
}

// "Verify API is working" after a revert: what following the redeploy proved, if it was followed.
CheckItem app_verify_item(const RevertOptions& o, bool followed) {
  if (followed)
    return {std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Pass,
            "the redeploy was followed (--wait): ECS runs the revert's image on all tasks and the health URL, when "
            "configured, answered 2xx"};
  return {std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Skipped,
          o.no_push || !o.push_branch.empty() ? "nothing deploys until the revert lands on the branch"
                                              : "the redeploy was not followed (no --wait): check it with `rollback status`"};
}

Result<git::Target> target_of(const RevertOptions& o) {
  int given = (o.pr ? 1 : 0) + (o.commit.empty() ? 0 : 1) + (o.range.empty() ? 0 : 1);
  if (given != 1)
    return usage_error("say what to revert with exactly one of --pr N, --commit SHA or --range A..B",
                       "--pr for a merged pull request, --commit for one commit or merge commit, --range for a "
                       "rebase-merged PR");
  if (o.pr) return git::Target::pull_request(*o.pr);
  if (!o.commit.empty()) {
    RB_TRY(git::check_commit_id(o.commit));
    return git::Target::single_commit(o.commit);
  }
  return git::Target::range(o.range);
}

std::string short_date(const std::string& iso) { return iso.size() >= 10 ? iso.substr(0, 10) : iso; }

void print_plan(Output& out, const git::Plan& plan, const git::PathCategories& cats) {
  out.line(fmt::format("Revert on {} (tip {}): {} {}", plan.where(), plan.base_sha.substr(0, 12),
                       git::to_string(plan.kind), plan.kind == git::RevertKind::Merge ? "commit, with -m 1" : ""));
  for (const auto& c : plan.commits)
    out.line(fmt::format("  {}  {}  {}  {}", c.short_sha, short_date(c.date), c.author_name, c.subject));
  out.line(fmt::format("  files ({}, +{} -{} in the change being undone):", plan.files.size(), plan.lines_added,
                       plan.lines_deleted));
  for (const auto& f : plan.files) {
    std::string stat = f.binary() ? "binary" : fmt::format("+{} -{}", *f.added, *f.deleted);
    out.line(fmt::format("    {:<14} {}", stat, f.path));
  }
  std::vector<std::string> kinds;
  for (auto c : cats.present()) kinds.push_back(git::to_string(c));
  out.line(fmt::format("  kind of change: {}", kinds.empty() ? "none" : join(kinds, " + ")));
  out.line("  commit message:");
  for (const auto& l : split(trim(plan.message), '\n')) out.line("    | " + l);
}

// The runbook's rules, as refusals that an explicit flag overrides. Returns the overrides used.
Result<std::vector<std::string>> apply_guards(Output& out, const git::PathCategories& cats, const RevertOptions& o,
                                              RevertLayer layer, const EnvironmentConfig& env) {
  std::vector<std::string> overrides;
  if (!cats.migrations.empty()) {
    std::string files = join(cats.migrations, ", ");
    if (!o.allow_migrations)
      return refusal(
          fmt::format("this change adds or alters database migrations ({}). The runbook, scenario 3: \"Do NOT just "
                      "revert code - may cause data issues\"",
                      files),
          fmt::format("downgrade the database first with `rollback db --env {0}` (see its plan with --dry-run), then "
                      "revert the code; or pass --allow-migrations if the migration never ran",
                      env.name));
    if (o.guards_lifted_by_release)
      out.line("reverting the migration scripts too (the release's database step handled them first): " + files);
    else
      out.warn("reverting a change to migrations (--allow-migrations): " + files);
    overrides.push_back("allow-migrations");
  }
  if (layer == RevertLayer::Application && !cats.infrastructure.empty()) {
    if (!o.allow_infrastructure)
      return refusal(fmt::format("this is an infrastructure change: it touches {}", join(cats.infrastructure, ", ")),
                     fmt::format("use `rollback infra --env {} ...` (CI applies it with Terraform), or pass "
                                 "--allow-infrastructure to revert it here anyway",
                                 env.name));
    if (!o.guards_lifted_by_release) out.warn("reverting infrastructure files from `rollback app` (--allow-infrastructure)");
    overrides.push_back("allow-infrastructure");
  }
  if (layer == RevertLayer::Infrastructure && !cats.application.empty()) {
    if (cats.infrastructure.empty() && !o.allow_application)
      return refusal("this change does not touch the Terraform folder: it is application code",
                     fmt::format("use `rollback app --env {} ...`, or pass --allow-application", env.name));
    out.warn(fmt::format("this PR also changes application code ({} files): it will be reverted too",
                         cats.application.size()));
  }
  // The key principle: infrastructure and application changes in separate PRs. (Migrations
  // usually ship with the code that uses them; their guard is above.)
  if (!cats.infrastructure.empty() && cats.mixed()) {
    std::vector<std::string> kinds;
    for (auto c : cats.present()) kinds.push_back(git::to_string(c));
    std::string msg = fmt::format(
        "this PR mixes {} changes; the runbook's key principle is separate PRs for infrastructure and application "
        "code, so one revert undoes both",
        join(kinds, " and "));
    if (!o.allow_mixed && layer == RevertLayer::Application)
      return refusal(msg, "pass --allow-mixed to revert all of it together");
    out.warn(msg);
    if (o.allow_mixed) overrides.push_back("allow-mixed");
  }
  return overrides;
}

nlohmann::json plan_json(const git::Plan& plan, const git::PathCategories& cats) {
  nlohmann::json commits = nlohmann::json::array();
  for (const auto& c : plan.commits)
    commits.push_back({{"sha", c.sha}, {"subject", c.subject}, {"author", c.author_name}, {"date", c.date}});
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : plan.files) {
    nlohmann::json jf = {{"path", f.path}};
    if (!f.binary()) jf["added"] = *f.added, jf["deleted"] = *f.deleted;
    files.push_back(jf);
  }
  return {{"branch", plan.where()}, {"base", plan.base_sha},     {"kind", git::to_string(plan.kind)},
          {"commits", commits},     {"files", files},             {"message", plan.message},
          {"migrations", cats.migrations}, {"infrastructure", cats.infrastructure}};
}

}  // namespace

// The largest pull request number: GitHub's and GitLab's APIs hold PR numbers in 32-bit
// signed integers.
constexpr long long kMaxPullRequest = 2'147'483'647;

void add_revert_options(Subcommand sub, RevertOptions& o, RevertLayer layer) {
  add_number_option(sub, "--pr", o.pr, 1, kMaxPullRequest,
                    "The pull request to revert (merge or squash commit on the environment's branch)");
  sub.add_option("--commit", o.commit, "A commit or merge commit to revert (hex id)");
  sub.add_option("--range", o.range, "A..B: a rebase-merged PR's commits, reverted as one commit");
  sub.add_option("--reason", o.reason, "Why (in the commit message and the journal)");
  sub.add_flag("--no-push", o.no_push, "Leave the revert on a local branch rollback/<id> and print how to push it");
  sub.add_option("--push-branch", o.push_branch,
                 "Push the revert to this new branch (for branches that only accept pull requests)");
  sub.add_option("--repo", o.repo, "The git repository (default: the one holding rollback.yaml)");
  sub.add_flag("--allow-migrations", o.allow_migrations, "Revert even though the change touches migrations");
  if (layer == RevertLayer::Application) {
    sub.add_flag("--allow-infrastructure", o.allow_infrastructure, "Revert even though it touches the Terraform folder");
    sub.add_flag("--allow-mixed", o.allow_mixed, "Revert a PR that mixes kinds of change");
  } else {
    sub.add_flag("--allow-application", o.allow_application, "Revert a PR that only changes application code");
  }
}

namespace {

// The shared first half of resolve_revert and run_revert: `id` goes into the revert's message.
Result<ResolvedRevert> resolve_with_id(Context& ctx, const EnvironmentConfig& env, const RevertOptions& o,
                                       const std::string& id) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(auto target, target_of(o));
  if (!o.push_branch.empty()) RB_TRY(git::check_branch_name(o.push_branch));
  if (o.no_push && !o.push_branch.empty())
    return usage_error("--no-push and --push-branch contradict each other", "choose one");
  std::filesystem::path repo = o.repo.empty() ? ctx.config().repo : std::filesystem::path(o.repo);
  git::Git git(ctx.runner(), repo);
  RB_TRY(open_repository(out, git));
  const std::string& remote = ctx.config().remote;
  out.line(fmt::format("fetching {} from {}", env.branch, remote));
  RB_TRY(git.fetch(remote, env.branch));
  if (!o.push_branch.empty()) {
    std::vector<std::string> env_branches;
    for (const auto& e : ctx.config().environments) env_branches.push_back(e.branch);
    RB_TRY(git::check_new_remote_branch(git, remote, o.push_branch, env_branches));
  }

  git::ResolveOptions ro;
  ro.remote = remote;
  ro.branch = env.branch;
  RB_TRY_ASSIGN(auto resolved, git::resolve(git, target, ro));
  git::PlanOptions po;
  po.message.reason = o.reason;
  po.message.rollback_id = id;
  RB_TRY_ASSIGN(auto plan, git::make_plan(git, resolved, po));
  git::GuardConfig guards{ctx.config().migrations_guard, ctx.config().terraform_guard};
  auto cats = git::categorize_paths(plan.paths, guards);
  return ResolvedRevert{std::move(target), std::move(plan), std::move(cats)};
}

}  // namespace

Result<ResolvedRevert> resolve_revert(Context& ctx, const EnvironmentConfig& env, const RevertOptions& o) {
  return resolve_with_id(ctx, env, o, new_rollback_id());
}

Result<RevertOutcome> run_revert(Context& ctx, const EnvironmentConfig& env, const RevertOptions& o, RevertLayer layer,
                                 const AfterPush& after_push, nlohmann::json& result, RevertStep* step) {
  Output& out = ctx.out();
  // "Monitor logs for errors" compares the window after the redeploy with the one before this command.
  const auto command_wall_start = ctx.clock().wall_now();
  // A release's step runs under the release's own reason, checked when the release began.
  if (!step) RB_TRY(reason_gate(ctx, env, o.reason, layer_name(layer)));
  std::string id = new_rollback_id();
  RB_TRY_ASSIGN(auto resolved, resolve_with_id(ctx, env, o, id));
  const git::Target& target = resolved.target;
  const git::Plan& plan = resolved.plan;
  const git::PathCategories& cats = resolved.categories;
  std::filesystem::path repo = o.repo.empty() ? ctx.config().repo : std::filesystem::path(o.repo);
  git::Git git(ctx.runner(), repo);
  const std::string& remote = ctx.config().remote;
  print_plan(out, plan, cats);
  result["plan"] = plan_json(plan, cats);
  RB_TRY_ASSIGN(auto overrides, apply_guards(out, cats, o, layer, env));

  RevertOutcome outcome;
  outcome.plan = plan;
  outcome.repo = repo;
  // The checklists belong to `rollback app` on its own (a release keeps its own).
  const bool checklist_wanted = !step && layer == RevertLayer::Application;
  const bool follows = static_cast<bool>(after_push) && !o.no_push && o.push_branch.empty();
  std::vector<CheckItem> checklist;
  if (ctx.options().dry_run) {
    // The real run's checks, in its order, up to the first change: the lock, then the revert
    // itself (a conflict, or a change already undone, is refused here as it would be there).
    RB_TRY(ctx.check_lock(env));
    RB_TRY(git::check_revert(git, plan));
    if (checklist_wanted) {
      checklist = app_before_items(ctx, env, o, resolved, follows);
      RB_TRY(present_checklist(ctx, "checklist before the rollback (not recorded in a dry run):", checklist));
      result["checklist"] = checklist_to_json(checklist);
    }
    out.line(fmt::format("would {}", o.no_push ? "leave the revert on branch rollback/" + id
                                     : !o.push_branch.empty() ? "push the revert to new branch " + o.push_branch
                                                              : "push the revert to " + plan.where()));
    out.line("dry run: nothing was changed");
    outcome.dry_run = true;
    return outcome;
  }

  std::optional<LockHandle> own_lock;
  if (!step) {
    RB_TRY_ASSIGN(auto taken, ctx.lock(env));
    own_lock.emplace(std::move(taken));
    if (checklist_wanted) {
      checklist = app_before_items(ctx, env, o, resolved, follows);
      RB_TRY(present_checklist(ctx, "checklist before the rollback:", checklist));
    }
    RB_TRY(confirm_environment(ctx, env, fmt::format("revert {} on {}", target.describe(), plan.where())));
  }
  LockHandle& lock = step ? step->lock : *own_lock;
  JournalEntry entry;
  entry.id = id;
  entry.env = env.name;
  entry.layer = layer_name(layer);
  entry.from = plan.base_sha;
  entry.to = target.describe();
  entry.reason = o.reason;
  nlohmann::json commits = nlohmann::json::array();
  for (const auto& c : plan.commits) commits.push_back({{"sha", c.sha}, {"subject", c.subject}});
  entry.details = {{"target", target.describe()}, {"kind", git::to_string(plan.kind)}, {"branch", plan.where()},
                   {"reverted_commits", commits}, {"overrides", overrides}, {"cluster", env.cluster},
                   {"service", env.service}};
  if (!checklist.empty()) entry.details["checklist"] = checklist_to_json(checklist);
  if (step && step->details.is_object()) entry.details.update(step->details);
  RB_TRY_ASSIGN(auto record, RollbackRecord::begin(ctx, lock, entry));
  outcome.rollback_id = record->id();
  // The runbook's "After Rollback" items, recorded with the outcome.
  auto close_checklist = [&](bool followed) {
    if (checklist.empty()) return;
    // The logs are watched once the redeploy was followed (--wait): before that nothing runs the revert.
    std::vector<CheckItem> after = {
        app_verify_item(o, followed),
        followed ? service_logs_item(ctx, env, *record, command_wall_start, ctx.clock().wall_now())
                 : CheckItem{std::string(kItemMonitorLogs), std::string(kPhaseAfter), CheckResult::Skipped,
                             "the redeploy was not followed (no --wait): nothing ran the revert yet to watch"}};
    for (auto& i : closing_items(ctx, env, record->id())) after.push_back(std::move(i));
    out.line("checklist after the rollback:");
    for (const auto& line : checklist_lines(after)) out.line(line);
    for (auto& i : after) checklist.push_back(std::move(i));
    record->add_details({{"checklist", checklist_to_json(checklist)}});
    result["checklist"] = checklist_to_json(checklist);
  };
  out.line(fmt::format("rollback {} started", record->id()));

  if (o.no_push) {
    auto made = git::create_revert(git, plan);
    if (!made) return record->fail(made.take_error());
    auto branch = git::create_local_branch(git, record->id(), made->sha);
    if (!branch) return record->fail(branch.take_error());
    outcome.revert_sha = made->sha;
    outcome.local_branch = *branch;
    record->event(fmt::format("revert commit {} left on local branch {} (not pushed)", made->sha.substr(0, 12), *branch));
    close_checklist(false);
    RB_TRY(record->finish(kOutcomeSucceeded, {{"revert_commit", made->sha}, {"local_branch", *branch}, {"pushed", false}}));
    out.line(fmt::format("to publish it:  git push {} {}:{}", remote, *branch, env.branch));
    result["local_branch"] = *branch;
  } else {
    git::PushOptions push;
    if (!o.push_branch.empty()) push.push_branch = o.push_branch;
    auto pushed = git::revert_and_push(git, plan, push);
    if (!pushed) return record->fail(pushed.take_error());
    outcome.revert_sha = pushed->sha;
    outcome.pushed_ref = pushed->ref;
    if (pushed->attempts > 1)
      record->event(fmt::format("someone pushed to {} meanwhile: the revert was made again on the new tip {} and pushed",
                                plan.where(), pushed->base_sha.substr(0, 12)));
    record->event(fmt::format("pushed revert commit {} to {} {}", pushed->sha.substr(0, 12), remote, pushed->ref));
    for (const auto& l : split(trim(pushed->output), '\n'))
      if (l.rfind("remote:", 0) == 0) out.line("  " + l);
    record->add_details({{"revert_commit", pushed->sha}, {"pushed_to", pushed->ref}, {"pushed", true}});
    if (!o.push_branch.empty()) {
      out.line(fmt::format("open a pull request from {} into {} to land it (compare: {}...{})", o.push_branch,
                           env.branch, env.branch, o.push_branch));
    } else if (after_push) {
      if (auto st = after_push(*record, outcome); !st) return record->fail(st.take_error());
    }
    close_checklist(follows);
    RB_TRY(record->finish(kOutcomeSucceeded));
  }
  result["rollback_id"] = outcome.rollback_id;
  result["revert_commit"] = outcome.revert_sha;
  if (!outcome.pushed_ref.empty()) result["pushed_to"] = outcome.pushed_ref;
  return outcome;
}

// Follows the redeploy the push starts: the team's CI builds the revert and deploys an image
// tagged with its commit; then the deployment is followed exactly like an emergency rollback.
Status follow_redeploy(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record, const std::string& revert_sha) {
  RB_TRY_ASSIGN(auto gateway, ecs::make_aws_gateway(ctx.config(), env, ctx.clock()));
  auto emit = [&](const std::string& m) { record.event(m); };
  auto started = ctx.clock().now();
  double started_epoch = ecs::epoch_seconds(ctx.clock().wall_now());
  RB_TRY_ASSIGN(std::string task_definition,
                ecs::wait_for_commit_deployment(*gateway, ctx.clock(), ctx.out(), emit, env, revert_sha,
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

Status open_repository(Output& out, git::Git& git) {
  RB_TRY(git.check_repository());
  for (const auto& gone : git::sweep_abandoned_worktrees(git))
    out.line(fmt::format("removed {}: a scratch worktree left by a rollback that was killed", gone.string()));
  return {};
}

std::string terraform_binary(const Config& cfg, const EnvironmentConfig& env) {
  std::string binary = env.terraform.binary;
  if (binary.find('/') != std::string::npos && std::filesystem::path(binary).is_relative())
    binary = ((cfg.file.has_parent_path() ? cfg.file.parent_path() : std::filesystem::current_path()) / binary).string();
  return binary;
}

namespace {

// Records the plan check's result in the entry's details["plan_check"].
void record_plan_check(RollbackRecord& record, std::string_view result, const std::string& evidence) {
  record.add_details({{"plan_check", {{"result", std::string(result)}, {"evidence", evidence}}}});
}

// After CI's apply: a plan of the reverted checkout's Terraform directory should show no changes.
Status check_applied_plan(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record,
                          const RevertOutcome& outcome) {
  const std::string sha = outcome.revert_sha.substr(0, 12);
  auto skipped = [&](const std::string& why) {
    record.event("the plan check after the apply was skipped (not a failure): " + why);
    record_plan_check(record, "skipped", why);
    return Status{};
  };
  const std::string binary = terraform_binary(ctx.config(), env);
  if (!program_exists(binary))
    return skipped(fmt::format("no Terraform binary \"{}\" (terraform.binary of {}) to plan {} with", binary, env.name,
                               env.terraform.dir));
  git::Git git(ctx.runner(), outcome.repo);
  git::ScratchWorktree worktree(git);
  if (auto st = worktree.add(outcome.revert_sha); !st)
    return skipped(fmt::format("the revert {} could not be checked out: {}", sha, st.error().message));
  const std::filesystem::path tf_dir = worktree.path() / env.terraform.dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(tf_dir, ec))
    return skipped(fmt::format("the revert {} has no Terraform directory {} (terraform.dir of {})", sha,
                               env.terraform.dir, env.name));
  // The plan file holds configuration and state values, secrets included: a private folder.
  auto plan_dir = TempDir::create("rollback-tfcheck");
  if (!plan_dir) return skipped("no private folder for the plan file: " + plan_dir.error().message);
  infra::TerraformRunnerOptions topts;
  topts.binary = binary;
  topts.working_dir = tf_dir;
  topts.timeout = ctx.timeout();
  topts.on_line = [&](std::string_view line, bool) { ctx.out().line("  | " + std::string(line)); };
  infra::TerraformRunner tf(ctx.runner(), topts);
  record.event(fmt::format("planning {} at the revert {}: the apply is done when the plan shows no changes",
                           env.terraform.dir, sha));
  auto check = infra::check_no_changes(tf, plan_dir->path() / "check.tfplan");
  switch (check.verdict) {
    case infra::NoChangesVerdict::CannotPlan: return skipped(check.detail);
    case infra::NoChangesVerdict::NoChanges: {
      const std::string evidence = fmt::format("a plan of {} at the revert {} shows no changes", env.terraform.dir, sha);
      record.event(evidence);
      record_plan_check(record, "pass", evidence);
      ctx.out().verified("Terraform: " + evidence);
      return {};
    }
    case infra::NoChangesVerdict::Changes: break;
  }
  const std::string evidence =
      fmt::format("CI's apply finished, but a plan of {} at the revert {} still shows {} change{}{} ({})",
                  env.terraform.dir, sha, check.changes, check.changes == 1 ? "" : "s",
                  check.plan_line.empty() ? std::string() : ": " + check.plan_line, check.detail);
  record_plan_check(record, "fail", evidence);
  return failure(evidence, fmt::format("the apply may have failed part-way, or the infrastructure was changed since: "
                                       "read the Terraform workflow's output in CI; to apply the reverted "
                                       "configuration from here, run `rollback infra --env {} --known-good {}{}` "
                                       "(it shows the plan first)",
                                       env.name, sha, env.reason_hint()));
}

}  // namespace

// Waits for CI's Terraform apply of a pushed infrastructure revert: a new version of the state
// object written after the push, and Terraform's lock free; then plans the reverted checkout.
Status wait_for_ci_apply(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record,
                         std::chrono::system_clock::time_point pushed_at, const RevertOutcome& outcome) {
  RB_TRY_ASSIGN(auto backend, infra::make_state_backend(ctx.config(), env, ctx.clock()));
  infra::ApplyWatch watch;
  watch.location = backend.location;
  watch.dynamodb_table = backend.config.dynamodb_table;
  watch.use_lockfile = backend.config.use_lockfile;
  watch.pushed_at = pushed_at;
  watch.timeout = ctx.timeout();
  ctx.out().line(fmt::format("waiting for CI's Terraform apply: a new version of {} and its lock free (up to {}s; "
                             "--no-wait to skip)",
                             backend.url(), watch.timeout.count() / 1000));
  auto emit = [&](const std::string& m) { record.event(m); };
  RB_TRY_ASSIGN(auto seen, infra::wait_for_apply(*backend.store, backend.locks.get(), watch, ctx.clock(), emit));
  ctx.out().verified(fmt::format("Terraform: CI applied the revert (state version {} written at {})",
                                 seen.version.version_id, iso8601(seen.version.last_modified)));
  record.add_details({{"applied_state_version", seen.version.version_id},
                      {"applied_at", iso8601(seen.version.last_modified)}});
  return check_applied_plan(ctx, env, record, outcome);
}

}  // namespace rb::cli
