// rollback infra: the runbook's infrastructure rollback.
//   --pr/--commit/--range  Method 1: revert the infrastructure PR and push; CI applies it.
//   --known-good SHA       Method 2: bring the Terraform folder back to SHA in a scratch worktree,
//                          plan, review, apply exactly that saved plan.
// (Method 3, restoring the state itself, is `rollback state restore`.)
#include <fmt/format.h>

#include <filesystem>

#include "cli/checklist_flow.hpp"
#include "cli/command.hpp"
#include "cli/revert_flow.hpp"
#include "git/git.hpp"
#include "git/revert.hpp"
#include "infra/plan.hpp"
#include "infra/terraform_runner.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {

namespace fs = std::filesystem;

// Characters of a commit id shown in messages and branch names.
constexpr size_t kShortSha = 12;

struct InfraOptions {
  std::string env;
  RevertOptions revert;
  std::string known_good;
};

std::string short_sha(const std::string& sha) { return sha.substr(0, kShortSha); }

// "infrastructure/terraform/" however it was written in rollback.yaml ("./infrastructure/terraform").
std::string normalized_folder(std::string folder) {
  while (folder.starts_with("./")) folder.erase(0, 2);
  while (folder.starts_with("/")) folder.erase(0, 1);
  if (!folder.empty() && folder.back() != '/') folder += '/';
  return folder;
}

nlohmann::json plan_json(const infra::PlanSummary& s) {
  using K = infra::ChangeKind;
  nlohmann::json reasons = nlohmann::json::object();
  for (const auto& c : s.changes)
    if (!c.reason_text().empty()) reasons[c.display_address()] = c.reason_text();
  return {{"to_add", s.to_add()},
          {"to_change", s.to_change()},
          {"to_destroy", s.to_destroy()},
          {"creates", s.addresses(K::Create)},
          {"updates", s.addresses(K::Update)},
          {"deletes", s.addresses(K::Delete)},
          {"replaces", s.addresses(K::Replace)},
          {"reads", s.addresses(K::Read)},
          {"forgets", s.addresses(K::Forget)},
          {"unknown", s.addresses(K::Unknown)},
          {"reasons", reasons},
          {"has_changes", s.has_changes()},
          {"needs_confirmation", s.needs_confirmation()},
          {"plan_line", s.plan_line()}};
}

// The commands that make git match what Method 2 applied (the runbook: keep git accurate).
std::string git_follow_up(const Config& cfg, const EnvironmentConfig& env, const std::string& good,
                          const std::string& folder) {
  return fmt::format(
      "git fetch {0} {1} && git checkout -B rollback/infra-{2} {0}/{1} && git checkout --no-overlay {3} -- {4} && "
      "git commit -m 'Roll {4} back to {2} (applied by rollback infra --known-good)' && git push {0} HEAD:{1}",
      cfg.remote, env.branch, short_sha(good), good, folder);
}

// ---------------------------------------------------------------------------------------------
// Method 1

Status follow_ci_apply(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record, const RevertOutcome& outcome) {
  Output& out = ctx.out();
  const auto pushed_at = ctx.clock().wall_now();
  record.event(fmt::format("the push starts the Terraform workflow of {}: CI should now plan and apply {} at {}",
                           env.branch, env.terraform.dir, short_sha(outcome.revert_sha)));
  record.add_details({{"ci_applies", env.terraform.dir}});
  if (ctx.options().no_wait) {
    out.line("  - not waiting for CI's apply (--no-wait): watch the workflow (GitHub Actions), review its plan output, "
             "then verify the resources are restored;");
    record.add_details({{"apply_seen", false}});
  } else {
    RB_TRY(wait_for_ci_apply(ctx, env, record, pushed_at, outcome));
    record.add_details({{"apply_seen", true}});
  }
  out.line(fmt::format("  - if CI is unavailable, plan and apply it from here: rollback infra --env {} --known-good {}{}",
                       env.name, short_sha(outcome.revert_sha), env.reason_hint()));
  out.line(fmt::format("  - if the API still fails after the apply (new endpoints, credentials), restart its tasks: "
                       "rollback ecs --env {} --restart{}",
                       env.name, env.reason_hint()));
  return {};
}

Status run_revert_pr(Context& ctx, const EnvironmentConfig& env, const InfraOptions& o) {
  nlohmann::json result = {{"env", env.name}, {"layer", "infra"}, {"method", "revert"}};
  AfterPush after = [&](RollbackRecord& rec, const RevertOutcome& outcome) {
    return follow_ci_apply(ctx, env, rec, outcome);
  };
  RB_TRY_ASSIGN(auto outcome, run_revert(ctx, env, o.revert, RevertLayer::Infrastructure, after, result));
  result["ok"] = true;
  result["terraform_dir"] = env.terraform.dir;
  if (outcome.dry_run) {
    result["dry_run"] = true;
  } else {
    result["outcome"] = kOutcomeSucceeded;
    ctx.out().line(fmt::format("rollback {} succeeded", outcome.rollback_id));
  }
  ctx.out().result(result);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Method 2

// What the checkout of the known-good folder changes on the branch tip, as "M\tpath" lines.
Result<std::vector<std::string>> folder_changes(git::Git& wt, const std::string& folder) {
  RB_TRY_ASSIGN(std::string out, wt.run({"diff", "--cached", "--name-status", "--no-renames", "HEAD", "--", folder}));
  std::vector<std::string> lines;
  for (auto& l : split(trim(out), '\n'))
    if (!trim(l).empty()) lines.push_back(l);
  return lines;
}

Status run_known_good(Context& ctx, const EnvironmentConfig& env, const InfraOptions& o) {
  Output& out = ctx.out();
  const bool dry_run = ctx.options().dry_run;
  const Config& cfg = ctx.config();
  RB_TRY(git::check_commit_id(o.known_good));
  const std::string folder = normalized_folder(cfg.terraform_guard);
  if (folder.empty())
    return usage_error("the Terraform folder guard is empty, so there is no folder to bring back",
                       "set guards.terraform in rollback.yaml (default infrastructure/terraform/)");

  fs::path repo = o.revert.repo.empty() ? cfg.repo : fs::path(o.revert.repo);
  git::Git git(ctx.runner(), repo);
  RB_TRY(open_repository(out, git));
  out.line(fmt::format("fetching {} from {}", env.branch, cfg.remote));
  RB_TRY(git.fetch(cfg.remote, env.branch));
  RB_TRY_ASSIGN(std::string tip, git.resolve_commit(git::remote_ref(cfg.remote, env.branch)));
  auto good_r = git.resolve_commit(o.known_good);
  if (!good_r) {
    Error e = good_r.take_error();
    e.hint = fmt::format("the known-good commit must be in this clone ({}): fetch it, or check the id", repo.string());
    return e;
  }
  const std::string good = *good_r;
  RB_TRY_ASSIGN(bool on_branch, git.is_ancestor(good, tip));
  if (!on_branch)
    out.warn(fmt::format("{} is not in the history of {}: make sure it is the commit you mean", short_sha(good),
                         git::remote_display(cfg.remote, env.branch)));
  if (auto has = git.try_run({"cat-file", "-e", good + ":" + folder.substr(0, folder.size() - 1)}); !has || !has->ok())
    return usage_error(fmt::format("{} has no folder {}: there is nothing to bring back", short_sha(good), folder),
                       "pick a commit that has the Terraform configuration (git log -- " + folder + ")");
  const std::string tf_rel = env.terraform.dir;
  if (!normalized_folder(tf_rel).starts_with(folder))
    out.warn(fmt::format("the Terraform directory {} of {} is outside {}, so the known-good checkout does not change it",
                         tf_rel, env.name, folder));

  // Terraform runs in the worktree: a relative path to the binary is taken from rollback.yaml's folder.
  const std::string binary = terraform_binary(cfg, env);
  if (!program_exists(binary))
    return usage_error(fmt::format("cannot find the Terraform binary \"{}\" (terraform.binary of {})", binary, env.name),
                       "install terraform (or tofu) in PATH, or set terraform.binary in rollback.yaml to its path");

  nlohmann::json result = {{"env", env.name},         {"layer", "infra"},      {"method", "known-good"},
                           {"known_good", good},      {"branch_tip", tip},     {"terraform_dir", tf_rel},
                           {"binary", env.terraform.binary}, {"dry_run", dry_run}};

  // Under our lock and journaled from here on (a dry run plans but changes nothing).
  std::optional<LockHandle> lock;
  std::unique_ptr<RollbackRecord> record;
  if (dry_run) RB_TRY(ctx.check_lock(env));  // the real run's first check
  if (!dry_run) {
    RB_TRY_ASSIGN(auto taken, ctx.lock(env));
    lock.emplace(std::move(taken));
    JournalEntry entry;
    entry.env = env.name;
    entry.layer = "infra";
    entry.from = tip;
    entry.to = good;
    entry.reason = o.revert.reason;
    entry.details = {{"method", "known-good"}, {"known_good", good}, {"branch", env.branch}, {"branch_tip", tip},
                     {"terraform_dir", tf_rel}, {"binary", env.terraform.binary}};
    RB_TRY_ASSIGN(record, RollbackRecord::begin(ctx, *lock, entry));
    out.line(fmt::format("rollback {} started", record->id()));
  }
  auto event = [&](const std::string& m) {
    if (record) record->event(m);
    else out.line(m);
  };
  auto fail = [&](Error e) -> Error { return record ? record->fail(std::move(e)) : e; };

  git::ScratchWorktree worktree(git);
  if (auto st = worktree.add(tip); !st) return fail(st.take_error());
  git::Git wt = worktree.git();
  if (auto st = wt.run({"checkout", "--no-overlay", good, "--", folder}); !st) return fail(st.take_error());
  auto changes = folder_changes(wt, folder);
  if (!changes) return fail(changes.take_error());
  if (changes->empty()) {
    event(fmt::format("{} is the same at {} and at the tip of {}: the plan shows only drift", folder, short_sha(good),
                      env.branch));
  } else {
    event(fmt::format("{} at {} differs from the tip of {} ({}) in {} file(s):", folder, short_sha(good), env.branch,
                      short_sha(tip), changes->size()));
    for (const auto& c : *changes) out.line("    " + c);
  }
  result["changed_files"] = *changes;

  const fs::path tf_dir = worktree.path() / tf_rel;
  std::error_code ec;
  if (!fs::is_directory(tf_dir, ec))
    return fail(usage_error(fmt::format("{} has no Terraform directory {} (terraform.dir of {})", short_sha(good), tf_rel,
                                        env.name),
                            "check environments." + env.name + ".terraform.dir in rollback.yaml"));
  // The plan file holds the configuration and state values, secrets included: a private folder.
  auto plan_dir = TempDir::create("rollback-tfplan");
  if (!plan_dir) return fail(plan_dir.take_error());
  const fs::path plan_file = plan_dir->path() / "rollback.tfplan";

  infra::TerraformRunnerOptions topts;
  topts.binary = binary;
  topts.working_dir = tf_dir;
  topts.on_line = [&](std::string_view line, bool) { out.line("  | " + std::string(line)); };
  infra::TerraformRunner tf(ctx.runner(), topts);

  const std::string tf_name = fs::path(binary).filename().string();
  event(fmt::format("{} init in {}", tf_name, tf_rel));
  if (auto st = tf.init(); !st) return fail(st.take_error());
  event(fmt::format("{} plan -out=<private file>", tf_name));
  if (auto st = tf.plan(plan_file); !st) return fail(st.take_error());
  auto summary = tf.show_json(plan_file);
  if (!summary) return fail(summary.take_error());
  out.line("");
  out.line(fmt::format("Plan for {} with {} at {}:", env.name, folder, short_sha(good)));
  for (const auto& l : split(trim(summary->render_text()), '\n')) out.line("  " + l);
  result["plan"] = plan_json(*summary);
  if (record) record->add_details({{"plan", result["plan"]}});
  if (record) record->note(summary->plan_line());

  // When the folder is already the same at the tip as at the known-good commit, git matches what
  // is applied: the "make git match" commands would commit nothing, so they are not given.
  const bool git_matches = changes->empty();
  const std::string follow_up = git_matches ? std::string() : git_follow_up(cfg, env, good, folder);
  result["git_matches"] = git_matches;
  if (!git_matches) result["follow_up"] = follow_up;
  if (dry_run) {
    out.line("dry run: the plan was made but not applied; nothing was changed");
    result["ok"] = true;
    out.result(result);
    return {};
  }

  bool applied = false;
  if (!summary->has_changes()) {
    event("no changes: the infrastructure already matches the known-good configuration; nothing to apply");
  } else {
    Status confirmed;
    if (summary->needs_confirmation()) {
      using K = infra::ChangeKind;
      auto destroyed = summary->addresses(K::Delete);
      auto replaced = summary->addresses(K::Replace);
      auto unknown = summary->addresses(K::Unknown);
      std::vector<std::string> parts;
      if (!destroyed.empty()) parts.push_back(fmt::format("destroys {}", join(destroyed, ", ")));
      if (!replaced.empty()) parts.push_back(fmt::format("replaces {}", join(replaced, ", ")));
      if (!unknown.empty()) parts.push_back(fmt::format("has actions this tool does not know for {}", join(unknown, ", ")));
      confirmed = confirm_typed(ctx, env.name, fmt::format("The plan for {} {}.", env.name, join(parts, "; ")));
    } else {
      confirmed = confirm_environment(ctx, env, fmt::format("apply this plan to {}", env.name));
    }
    if (!confirmed) return fail(confirmed.take_error());
    event(fmt::format("{} apply of the saved plan (never a fresh plan)", tf_name));
    if (auto st = tf.apply(plan_file); !st) return fail(st.take_error());
    applied = true;
    event(fmt::format("applied: {}", summary->plan_line()));
  }

  if (git_matches) {
    out.line(fmt::format("git already matches: {} at the tip of {} is the known-good configuration; nothing to commit",
                         folder, env.branch));
    record->add_details({{"applied", applied}, {"git_matches", true}});
  } else {
    out.line("");
    out.line(fmt::format("Next: make git match what was applied (the next CI run on {} would undo it otherwise):", env.branch));
    out.line("  " + follow_up);
    record->add_details({{"applied", applied}, {"follow_up", follow_up}});
  }
  if (auto st = record->finish(kOutcomeSucceeded); !st) return st.take_error();
  out.line(fmt::format("rollback {} succeeded", record->id()));
  result.update({{"ok", true}, {"rollback_id", record->id()}, {"applied", applied}, {"outcome", kOutcomeSucceeded}});
  out.result(result);
  return {};
}

Status run(Context& ctx, const InfraOptions& o) {
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  const RevertOptions& r = o.revert;
  if (!o.known_good.empty()) {
    if (r.pr || !r.commit.empty() || !r.range.empty())
      return usage_error("--known-good and --pr/--commit/--range are two different methods: choose one",
                         "--pr reverts the PR and lets CI apply (recommended); --known-good plans and applies from here");
    if (r.no_push || !r.push_branch.empty() || r.allow_application || r.allow_migrations)
      return usage_error("--no-push, --push-branch, --allow-application and --allow-migrations apply to reverting a PR, "
                         "not to --known-good");
    RB_TRY(reason_gate(ctx, *env, r.reason, "infra"));
    return run_known_good(ctx, *env, o);
  }
  return run_revert_pr(ctx, *env, o);
}

}  // namespace

void register_infra(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<InfraOptions>();
  Subcommand sub = app.add_subcommand(
      "infra", "Infrastructure rollback: revert the infrastructure PR (CI applies it), or apply a known-good Terraform folder");
  sub.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)").required();
  add_revert_options(sub, opts->revert, RevertLayer::Infrastructure);
  sub.add_option("--known-good", opts->known_good,
                  "Method 2: plan and apply the Terraform folder as it was at this commit (hex id)");
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
