// rollback db: the runbook's "Database Migration Rollback" (`alembic downgrade -1`), with its
// warnings turned into checks: the plan and the risk of every step first, the data at stake
// counted, a backup before anything is destroyed, the downgrade run and the database verified.
// `rollback db status` shows where the database is.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cli/checklist_flow.hpp"
#include "cli/command.hpp"
#include "cli/db_flow.hpp"
#include "db/backup.hpp"
#include "db/database.hpp"
#include "db/ecs_task.hpp"
#include "db/fix_forward.hpp"
#include "db/graph.hpp"
#include "db/planner.hpp"
#include "db/rollback.hpp"
#include "db/snapshot.hpp"
#include "db/staging.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/model.hpp"
#include "git/git.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {

// How far `db status` shows the graph around the current revision(s).
constexpr int kStatusAncestorDepth = 3;
constexpr int kStatusDescendantDepth = 3;
// Pending revisions listed by name in `db status` before "... and N more".
constexpr size_t kStatusPendingListed = 10;
// The largest --steps: more migrations than any project's history holds; the plan refuses
// a count past the real chain anyway, this only bounds the number itself.
constexpr long long kMaxSteps = 100'000;


struct DbStatusOptions {
  std::string env;
  bool allow_stale_checkout = false;
};

// The scripts are read from the checkout (and alembic runs there): refuse when its versions
// folder is not what the environment's branch holds, since a stale checkout shows a migration
// reverted on the branch as pending and plans downgrades of scripts that no longer exist there.
// Without a git repository or a reachable remote the check cannot be made: a warning says so.
Status check_fresh_checkout(Context& ctx, const EnvironmentConfig& env, bool allow) {
  Output& out = ctx.out();
  const Config& cfg = ctx.config();
  RB_TRY(git::check_remote_name(cfg.remote));
  git::Git git(ctx.runner(), cfg.repo);
  auto inside = git.try_run({"rev-parse", "--is-inside-work-tree"});
  if (!inside || !inside->ok()) {
    log_debug("{} is not a git checkout: the migrations are read as they are", cfg.repo.string());
    return {};
  }
  auto compared = git::compare_folder_with_branch(git, cfg.remote, env.branch, env.migrations.versions);
  if (!compared) {
    out.warn(fmt::format("cannot check that {} matches {}: {}", env.migrations.versions,
                         git::remote_display(cfg.remote, env.branch), compared.error().message));
    return {};
  }
  if (compared->fresh()) return {};
  std::string listed = "  " + join(compared->differences, "\n  ");
  std::string what = fmt::format(
      "the migrations in this checkout ({}) differ from {} at {} in {} file(s):\n{}", env.migrations.versions,
      git::remote_display(cfg.remote, env.branch), compared->branch_tip.substr(0, 12), compared->differences.size(), listed);
  if (allow) {
    out.warn(what + "\n(--allow-stale-checkout: going on with the checkout's scripts)");
    return {};
  }
  Error e = refusal(what + "\nthe scripts read here are not what " + env.name + " deploys; nothing was changed",
                    fmt::format("update the checkout (`git -C {0} checkout {1} -- {2}`, or `git pull` on {3}), or pass "
                                "--allow-stale-checkout if the checkout is what you mean",
                                cfg.repo.string(), git::remote_display(cfg.remote, env.branch), env.migrations.versions,
                                env.branch));
  e.tag = "stale-checkout";
  return e;
}

std::string rows_text(const std::vector<std::string>& rows) { return rows.empty() ? "no rows (base)" : join(rows, ", "); }

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

Result<db::DowngradeTarget> target_of(const DbOptions& o) {
  if (o.to && o.steps)
    return usage_error("--to and --steps contradict each other", "give a revision (or base) with --to, or a count with --steps");
  if (o.steps) {
    if (*o.steps < 1) return usage_error(fmt::format("--steps {} undoes nothing", *o.steps), "use --steps 1 or more");
    return db::DowngradeTarget::relative(*o.steps);
  }
  if (o.to) return db::DowngradeTarget::parse(*o.to);
  return db::DowngradeTarget::relative(1);
}

std::vector<std::string> split_revisions(const std::string& given) {
  std::vector<std::string> out;
  for (const auto& part : split(given, ','))
    if (!trim(part).empty()) out.push_back(trim(part));
  return out;
}

Error no_url_error(const db::MigrationsSetup& setup) {
  return usage_error(fmt::format("no database URL: ${} is not set and rollback.yaml has no migrations.url", setup.url_env),
                     fmt::format("export {}=postgresql://user:password@host:5432/db (the URL the application's "
                                 "Alembic uses), or set migrations.url_env to the variable that holds it",
                                 setup.url_env));
}


Result<std::vector<std::string>> read_rows(db::MigrationDatabase& database, const db::MigrationsSetup& setup) {
  auto rows = database.version_rows(setup.version_table, setup.version_table_schema);
  if (!rows) {
    Error e = rows.take_error();
    if (e.tag == "no-version-table") {
      e.code = ExitCode::Refused;
      e.message = fmt::format("{} has no version table {}: Alembic never ran there", database.describe(),
                              setup.version_table);
      e.hint = "check the database URL, and migrations.version_table / version_table_schema in rollback.yaml";
    }
    return e;
  }
  return *rows;
}

}  // namespace

Result<Prepared> prepare_downgrade(Context& ctx, const EnvironmentConfig& env, const DbOptions& o) {
  Output& out = ctx.out();
  Prepared p;
  RB_TRY_ASSIGN(auto target, target_of(o));
  RB_TRY_ASSIGN(p.setup, db::resolve_setup(ctx.config().repo, env.migrations));
  RB_TRY(check_fresh_checkout(ctx, env, o.allow_stale_checkout));
  const bool via_task = o.via == "ecs-task";
  if (!p.setup.url && !via_task) return no_url_error(p.setup);
  const auto from = split_revisions(o.from);
  if (!p.setup.url && from.empty())
    return usage_error(
        fmt::format("--via ecs-task without a database URL (${} is not set): rollback cannot read the version table, so "
                    "it cannot check the plan against the database, count the data at stake, back it up or verify "
                    "the result",
                        p.setup.url_env),
        fmt::format("give the URL when the database is reachable from here (a tunnel through a bastion will do); "
                    "otherwise state what the version table holds with --from REV (what `alembic current` prints in "
                    "the running task), and the plan is made from that",
                    p.setup.url_env));

  RB_TRY_ASSIGN(auto graph, db::load_graph(p.setup));
  p.graph = std::make_unique<db::RevisionGraph>(std::move(graph));

  std::vector<std::string> rows;
  if (p.setup.url) {
    RB_TRY_ASSIGN(p.database, db::open_database(*p.setup.url, p.setup.alembic_dir));
    RB_TRY_ASSIGN(rows, read_rows(*p.database, p.setup));
    if (!from.empty() && sorted(from) != sorted(rows))
      return refusal(fmt::format("--from says the database is at {}, but its version table holds {}", join(from, ", "),
                                 rows_text(rows)),
                     "drop --from (the version table is read), or check that the URL names the right database");
    RB_TRY_ASSIGN(p.tables_before, p.database->table_names());
  } else {
    for (const auto& r : from) {
      RB_TRY_ASSIGN(auto resolved, p.graph->resolve(r));
      if (resolved.revisions.size() != 1)
        return usage_error(fmt::format("--from {} does not name one revision", r), "give full revision ids");
      rows.push_back(resolved.revisions[0]);
    }
  }

  out.line(fmt::format("Database: {}{}", p.setup.url ? p.setup.url->redacted() : "not reachable from here (no URL)",
                       p.setup.url ? " (from " + p.setup.url_source + ")" : ""));
  out.line(fmt::format("Version table {}: {}{}", p.setup.version_table, rows_text(rows),
                       p.setup.url ? "" : " (as stated with --from, not read)"));
  out.line(fmt::format("Migrations: {} scripts in {}", p.graph->size(), p.setup.versions_dir.string()));

  RB_TRY_ASSIGN(auto plan, db::plan_downgrade(*p.graph, rows, target));
  RB_TRY_ASSIGN(p.plan, db::analyze_plan(*p.graph, std::move(plan), p.setup.url ? p.setup.url->dialect : ""));
  if (p.database) db::count_data(*p.database, p.plan);
  db::print_plan(out, p.plan);

  p.argv = db::downgrade_argv(p.setup.command, p.plan.plan.alembic_argument);
  if (via_task) {
    RB_TRY_ASSIGN(p.gateway, db::make_aws_task_gateway(ctx.config(), env, ctx.clock()));
    RB_TRY_ASSIGN(auto task, db::plan_task(*p.gateway, env, p.argv));
    out.line(fmt::format("Runs as an ECS task: RunTask {} in {} ({}{}), container {} command: {}", task.task_definition,
                         task.cluster, task.request.value("launchType", "capacity provider strategy"),
                         task.request.contains("networkConfiguration") ? ", the service's network configuration" : "",
                         task.container, format_argv(task.command)));
    p.task = std::move(task);
  } else {
    out.line(fmt::format("Runs: {}  (in {}, URL in ${})", format_argv(p.argv), p.setup.alembic_dir.string(),
                         p.setup.url_env));
  }

  // What must stop it, in the order a user should fix things.
  // (SQLite is always copied whole; the affected tables still shape the restore steps.)
  p.whole_backup = o.full_backup || p.plan.unknown_targets;
  p.backup = !o.no_backup && (p.plan.destroys_data || o.full_backup);
  if (!o.fix_forward) {  // the fix forward changes no environment: no gate
    RB_TRY_ASSIGN(Journal * journal, ctx.journal_for_reading());
    RB_TRY_ASSIGN(p.staging, db::check_staging(*journal, ctx.config(), env,
                                               {p.plan.plan.current_heads, p.plan.plan.target.value_or("base")}));
    p.staging.skipped = o.skip_staging_check && !p.staging.evidence;
    p.staging.skip_reason = trim(o.reason);
    if (p.staging.required) out.line("Staging first: " + p.staging.describe());
  }
  const std::string fix_forward_command =
      fmt::format("rollback db --env {} --to {} --fix-forward", env.name, p.plan.plan.target.value_or("base"));
  if (!o.fix_forward && (p.plan.destroys_data || !p.plan.blocking.empty()))
    out.line(fmt::format("Or fix forward: `{}` writes a new migration reversing these migrations' upgrade() for "
                         "review, on a local branch",
                         fix_forward_command));
  if (!p.plan.blocking.empty()) {
    p.blocker = refusal(
        fmt::format("the plan crosses an irreversible migration: {}", join(p.plan.blocking, "; ")),
        "Alembic would stop there (on SQLite/MySQL after the steps above it have run). Choose a target above it "
        "(--to the revision just above, or fewer --steps), fix forward with a new migration (`" +
            fix_forward_command + "` writes one for review), or restore from a backup");
    p.blocker->tag = "irreversible";
  } else if (p.plan.destroys_data && o.no_backup && !o.accept_data_loss) {
    p.blocker = refusal("--no-backup on a downgrade that destroys data (see \"Data at stake\" above)",
                        "drop --no-backup to take a backup first, or add --accept-data-loss to go on without one");
    p.blocker->tag = "no-backup";
  } else if (p.staging.blocks()) {
    p.blocker = p.staging.refusal_error(env.name, o.via);
  } else if (p.backup && !p.setup.url) {
    p.blocker = refusal("this downgrade destroys data and there is no database URL to back it up from",
                        "take a snapshot yourself (e.g. an RDS snapshot), then pass --no-backup --accept-data-loss; or "
                        "make the database reachable and give its URL");
    p.blocker->tag = "no-backup";
  }
  if (!o.fix_forward) {
    std::optional<bool> flag;
    if (o.snapshot) flag = true;
    if (o.no_snapshot) flag = false;
    RB_TRY_ASSIGN(p.snapshot, db::decide_snapshot(env, p.plan, flag));
    if (env.database.configured() || p.snapshot.take)
      out.line(fmt::format("RDS snapshot {}: {}",
                           env.database.rds_cluster.empty() ? "of instance " + env.database.rds_instance
                                                            : "of cluster " + env.database.rds_cluster,
                           p.snapshot.take ? "taken first (" + p.snapshot.why + ")" : p.snapshot.why));
  }
  if (p.backup && !p.blocker) {
    std::string what = "the whole database";
    if (p.setup.url && p.setup.url->is_sqlite()) {
      what = "a consistent copy of the SQLite file";
    } else if (!p.whole_backup) {
      std::vector<std::string> names;
      for (const auto& t : db::tables_to_dump(db::backup_options(p.plan, false, {}, {}, {})))
        names.push_back(t.schema.empty() ? t.table : t.schema + "." + t.table);
      what = "tables " + join(names, ", ") + " (pg_dump, custom format; --full-backup for everything)";
    }
    out.line("Backup first: " + what);
  }
  else if (p.plan.destroys_data && o.no_backup && o.accept_data_loss)
    out.warn("no backup (--no-backup --accept-data-loss): the data listed above is lost for good");
  return p;
}

namespace {

nlohmann::json plan_result(const EnvironmentConfig& env, const Prepared& p) {
  nlohmann::json j = {{"env", env.name}, {"layer", "db"}, {"plan", p.plan.to_json()}, {"command", p.argv},
                      {"via", p.task ? "ecs-task" : "local"}, {"backup_planned", p.backup},
                      {"staging_check", p.staging.to_json()}, {"snapshot_planned", p.snapshot.take}};
  j["database"] = p.setup.url ? nlohmann::json(p.setup.url->redacted()) : nlohmann::json(nullptr);
  if (p.task) j["task"] = p.task->to_json();
  return j;
}

// The last lines of Alembic's output, indented, for an error message.
std::string tail_text(const std::vector<std::string>& tail) {
  std::string text;
  for (const auto& l : tail) text += "\n    " + l;
  return text;
}

// The version table as it is now, after a failed run; nullopt when it cannot be read.
std::optional<std::vector<std::string>> rows_now(const Prepared& p) {
  if (!p.setup.url) return std::nullopt;
  auto database = db::open_database(*p.setup.url, p.setup.alembic_dir);
  if (!database) return std::nullopt;
  auto rows = read_rows(**database, p.setup);
  if (!rows) return std::nullopt;
  return *rows;
}

// rollback db --fix-forward: the plan of the downgrade, then instead of running it a new
// migration reversing the planned migrations' upgrade(), committed on a local branch.
Status run_fix_forward(Context& ctx, const EnvironmentConfig& env, const DbOptions& o) {
  Output& out = ctx.out();
  const bool dry_run = ctx.options().dry_run;
  RB_TRY_ASSIGN(auto p, prepare_downgrade(ctx, env, o));
  std::vector<const db::MigrationScript*> scripts;
  for (const auto& s : p.plan.plan.steps)
    if (s.script) scripts.push_back(s.script);
  RB_TRY_ASSIGN(auto ff, db::make_fix_forward(scripts, sorted(p.plan.plan.current_heads), db::new_revision_id(),
                                              iso8601(ctx.clock().wall_now())));
  out.line("");
  out.line(fmt::format("Fix forward: new migration {} on top of {}, reversing the upgrade() of {}:", ff.revision,
                       rows_text(ff.down_revisions), join(ff.reversed, ", ")));
  for (const auto& op : ff.ops)
    out.line(fmt::format("  - {}  ({} line {})", op.what, op.revision, op.line));
  if (ff.ops.empty()) out.line("  (nothing could be derived)");
  if (!ff.todos.empty()) {
    out.line(fmt::format("TODO, not derived ({}): written in the file, to do by hand:", ff.todos.size()));
    for (const auto& t : ff.todos) {
      out.line(fmt::format("  - {} line {}: {}", t.revision, t.line, t.original));
      out.line("      " + t.why);
    }
  }
  if (ff.destroys_data())
    out.warn("the fix forward drops what the upgrade() added, with the data written there since (\"Data at stake\" "
             "above): back it up before it is deployed, as `rollback db` would before the downgrade");
  nlohmann::json j = plan_result(env, p);
  j["fix_forward"] = ff.to_json();
  j["dry_run"] = dry_run;
  if (dry_run) {
    out.line(fmt::format("dry run: the file {} would be:", ff.filename));
    for (const auto& l : split(ff.source, '\n')) out.line("  | " + l);
    out.line("dry run: nothing was written");
    j["ok"] = true;
    j["source"] = ff.source;
    out.result(j);
    return {};
  }
  git::Git git(ctx.runner(), ctx.config().repo);
  RB_TRY_ASSIGN(auto commit, db::commit_fix_forward(git, p.setup.versions_dir, ff));
  out.line(fmt::format("Written: {} on branch {} (commit {} on {}; local only, not pushed)", commit.path.string(),
                       commit.branch, commit.sha.substr(0, 12), commit.base_sha.substr(0, 12)));
  out.line("Next: review it like any migration (the TODOs first), then publish it for review:");
  out.line(fmt::format("  git checkout {}", commit.branch));
  out.line(fmt::format("  git push {} {}", ctx.config().remote, commit.branch));
  j["ok"] = true;
  j["branch"] = commit.branch;
  j["commit"] = commit.sha;
  j["path"] = commit.path.string();
  out.result(j);
  return {};
}

}  // namespace

namespace {

// The runbook's "Before Rollback" items for `rollback db` (a release checks its own).
std::vector<CheckItem> db_before_items(Context& ctx, const EnvironmentConfig& env, const DbOptions& o, const Prepared& p) {
  const auto& plan = p.plan.plan;
  std::vector<std::string> undone;
  for (const auto& s : plan.steps) undone.push_back(s.revision);
  std::vector<CheckItem> items;
  items.push_back(issue_item(ctx, env, o.reason));
  items.push_back({std::string(kItemKnowTarget), std::string(kPhaseBefore), CheckResult::Pass,
                   fmt::format("downgrade {} -> {}: undoes {}", join(plan.current_heads, ", "),
                               plan.target.value_or("base"), undone.empty() ? "nothing" : join(undone, ", "))});
  items.push_back(p.task ? aws_access_item(ctx, env)
                         : CheckItem{std::string(kItemAwsAccess), std::string(kPhaseBefore), CheckResult::Skipped,
                                     "a local downgrade needs the database URL, not AWS"});
  std::vector<std::string> dropped;
  auto qualified = [](const std::string& schema, const std::string& name) {
    return schema.empty() ? name : schema + "." + name;
  };
  for (const auto& t : p.plan.dropped_tables) dropped.push_back("table " + qualified(t.schema, t.table));
  for (const auto& c : p.plan.dropped_columns) dropped.push_back("column " + qualified(c.schema, c.table) + "." + c.column);
  items.push_back({std::string(kItemDatabasePlan), std::string(kPhaseBefore),
                   p.plan.destroys_data && !p.backup ? CheckResult::Warn : CheckResult::Pass,
                   fmt::format("alembic downgrade {} ({} migration{}), risk {}{}; {}{}", plan.alembic_argument,
                               plan.steps.size(), plan.steps.size() == 1 ? "" : "s", db::to_string(p.plan.severity),
                               dropped.empty() ? "" : ", drops " + join(dropped, ", "),
                               p.backup ? "backed up first" : "no backup",
                               p.plan.destroys_data && !p.backup ? " although it destroys data" : "")});
  items.push_back(team_notified_item(ctx, env));
  return items;
}

}  // namespace

Result<std::string> run_prepared_downgrade(Context& ctx, const EnvironmentConfig& environment, const DbOptions& o,
                                           Prepared& p, LockHandle& lock, const nlohmann::json& extra_details,
                                           nlohmann::json& result) {
  Output& out = ctx.out();
  // "Monitor logs for errors" compares the window after the downgrade with the one before it.
  const auto downgrade_wall_start = ctx.clock().wall_now();
  const EnvironmentConfig* env = &environment;
  const auto& plan = p.plan.plan;
  const std::string target = plan.target.value_or("base");
  JournalEntry entry;
  entry.env = env->name;
  entry.layer = "db";
  entry.from = join(plan.current_heads, ", ");
  entry.to = target;
  entry.reason = o.reason;
  std::vector<std::string> undone;
  for (const auto& s : plan.steps) undone.push_back(s.revision);
  entry.details = {{"database", p.setup.url ? nlohmann::json(p.setup.url->redacted()) : nlohmann::json(nullptr)},
                   {"from_rows", plan.current_rows},
                   {"from_heads", sorted(plan.current_heads)},
                   {"to_revision", target},
                   {"alembic_argument", plan.alembic_argument},
                   {"command", p.argv},
                   {"downgraded", undone},
                   {"expected_rows", plan.expected_rows},
                   {"severity", db::to_string(p.plan.severity)},
                   {"destroys_data", p.plan.destroys_data},
                   {"via", p.task ? "ecs-task" : "local"}};
  if (p.plan.destroys_data && !p.backup) entry.details["data_loss_accepted"] = true;
  if (p.staging.required) entry.details["staging_check"] = p.staging.to_json();
  entry.details["snapshot_planned"] = p.snapshot.take;
  if (extra_details.is_object()) entry.details.update(extra_details);
  RB_TRY_ASSIGN(auto record, RollbackRecord::begin(ctx, lock, entry));
  out.line(fmt::format("rollback {} started", record->id()));
  if (p.staging.skipped)
    record->event("staging check skipped (--skip-staging-check): " + p.staging.skip_reason);
  else if (p.staging.evidence)
    record->note("staging check passed: " + p.staging.describe());
  result = plan_result(*env, p);
  result["rollback_id"] = record->id();

  if (p.snapshot.take) {
    auto gateway = db::make_aws_snapshot_gateway(ctx.config(), *env, ctx.clock());
    if (!gateway) return record->fail(gateway.take_error());
    const std::string name = db::snapshot_name(record->id());
    record->event(fmt::format("taking snapshot {} of {}", name, (*gateway)->target()));
    auto snap = db::take_snapshot(**gateway, ctx.clock(), name, db::kSnapshotTimeout,
                                  [&](const std::string& line) { record->event(line); });
    if (!snap) {
      Error e = snap.take_error();
      e.message = "the RDS snapshot failed, so the downgrade did not run (nothing changed): " + e.message;
      return record->fail(std::move(e));
    }
    record->event(fmt::format("snapshot {} available: {}", snap->identifier, snap->arn));
    record->checkpoint({{"snapshot", db::snapshot_to_json(*snap)}});
    result["snapshot"] = db::snapshot_to_json(*snap);
  }

  if (p.backup) {
    auto options = db::backup_options(p.plan, p.whole_backup, ctx.backup_dir(), env->name + "-" + record->id(),
                                      p.setup.alembic_dir);
    if (p.database) db::keep_existing_tables(*p.database, options);
    if (options.dropped_tables.empty() && options.dropped_columns.empty()) options.whole_database = true;
    record->event(fmt::format("backing up {} into {}", options.whole_database ? "the whole database" : "the affected tables",
                              options.folder.string()));
    auto backup = db::take_backup(*p.setup.url, options, ctx.runner());
    if (!backup) {
      Error e = backup.take_error();
      e.message = "the backup failed, so the downgrade did not run (nothing changed): " + e.message;
      return record->fail(std::move(e));
    }
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : backup->files) {
      record->event(fmt::format("backup: {} ({} bytes){}", f.path.string(), f.bytes, f.table.empty() ? "" : ", table " + f.table));
      files.push_back({{"path", f.path.string()}, {"bytes", f.bytes}, {"table", f.table}});
    }
    out.line("To restore:");
    for (const auto& l : backup->restore) out.line("  " + l);
    nlohmann::json backup_j = {{"files", files}, {"restore", backup->restore}, {"whole_database", options.whole_database}};
    record->add_details({{"backup", backup_j}});
    result["backup"] = backup_j;
  }
  p.database.reset();  // no session of ours stays open while the schema changes

  if (p.task) {
    auto emit = [&](const std::string& m) { record->event(m); };
    auto outcome = db::run_task_and_wait(*p.gateway, ctx.clock(), out, emit, *p.task, "rollback/" + record->id(),
                                         ctx.timeout());
    if (!outcome) return record->fail(outcome.take_error());
    record->add_details({{"task", outcome->to_json()}});
    result["task"]["outcome"] = outcome->to_json();
    if (!outcome->ok()) {
      std::string state = p.setup.url ? db::after_failure_state(*p.setup.url, plan.current_rows, rows_now(p))
                                      : "the version table cannot be read from here: check it with `alembic current` "
                                        "in a task";
      return record->fail(failure(
          fmt::format("the downgrade task {} failed: {}. {}", ecs::short_task_id(outcome->task_arn), outcome->describe(),
                      state),
          p.task->logs.empty() ? "its output is in the task's logs" : "its output: " + p.task->logs));
    }
    record->event(fmt::format("task {} finished: {}", ecs::short_task_id(outcome->task_arn), outcome->describe()));
  } else {
    out.line(fmt::format("running {}", format_argv(p.argv)));
    auto ran = db::run_alembic(ctx.runner(), p.setup, p.argv, ctx.timeout(), [&](const std::string& line) {
      out.line("  | " + line);
      record->note("alembic: " + line);
    });
    if (!ran) return record->fail(ran.take_error());
    if (!ran->result.ok()) {
      std::string state = db::after_failure_state(*p.setup.url, plan.current_rows, rows_now(p));
      return record->fail(failure(fmt::format("{} failed ({}); its last lines:{}\n{}", format_argv(p.argv),
                                              ran->result.describe(), tail_text(ran->tail), state),
                                  p.backup ? "the backup above holds the data as it was before the run"
                                           : "fix the cause and run `rollback db` again; `rollback db status` shows "
                                             "where the database is"));
    }
    record->event(fmt::format("{} finished", format_argv(p.argv)));
  }

  // The runbook's "After Rollback" items when `rollback db` runs on its own (its "before" items
  // came in extra_details).
  std::vector<CheckItem> checklist =
      extra_details.is_object() && extra_details.contains("checklist") ? checklist_from_json(extra_details["checklist"])
                                                                       : std::vector<CheckItem>{};
  CheckItem integrity{std::string(kItemVerifyDatabase), std::string(kPhaseAfter), CheckResult::Skipped,
                      "without a database URL the version table cannot be read from here"};
  auto record_checklist = [&]() {
    if (checklist.empty()) return;
    std::vector<CheckItem> after = {integrity};
    const std::string& url = env->verify_health_url();
    if (url.empty()) {
      after.push_back({std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Skipped,
                       "no health URL configured"});
    } else {
      auto h = ecs::probe_health_once(url);
      after.push_back({std::string(kItemVerifyApi), std::string(kPhaseAfter),
                       h.healthy ? CheckResult::Pass : CheckResult::Fail, fmt::format("{} answered {}", url, h.answer)});
    }
    // The service's logs when this run uses the environment's AWS anyway (a local downgrade
    // needs only the database URL, and must not start needing AWS for a checklist item).
    if (p.task || p.snapshot.take)
      after.push_back(service_logs_item(ctx, *env, *record, downgrade_wall_start, ctx.clock().wall_now()));
    else
      after.push_back({std::string(kItemMonitorLogs), std::string(kPhaseAfter), CheckResult::Skipped,
                       "a local downgrade uses no AWS (no --via ecs-task, no snapshot): the service's CloudWatch "
                       "Logs were not read"});
    for (auto& i : closing_items(ctx, *env, record->id())) after.push_back(std::move(i));
    out.line("checklist after the rollback:");
    for (const auto& line : checklist_lines(after)) out.line(line);
    for (auto& i : after) checklist.push_back(std::move(i));
    record->add_details({{"checklist", checklist_to_json(checklist)}});
    result["checklist"] = checklist_to_json(checklist);
  };
  if (p.setup.url) {
    RB_TRY_ASSIGN(auto database, db::open_database(*p.setup.url, p.setup.alembic_dir));
    auto verified = db::verify_downgrade(*database, p.setup, p.plan, p.tables_before);
    if (!verified) return record->fail(verified.take_error());
    for (const auto& c : verified->checks) {
      record->event("verified: " + c);
      out.verified("database: " + c);
    }
    for (const auto& w : verified->warnings) {
      out.warn(w);
      record->note("warning: " + w);
    }
    record->add_details({{"verification", verified->to_json()}});
    result["verification"] = verified->to_json();
    integrity = {std::string(kItemVerifyDatabase), std::string(kPhaseAfter),
                 verified->ok ? CheckResult::Pass : CheckResult::Fail,
                 verified->ok ? join(verified->checks, "; ") : join(verified->problems, "; ")};
    if (!verified->ok) record_checklist();
    if (!verified->ok)
      return record->fail(failure(fmt::format("the downgrade ran but the database is not as planned: {}",
                                              join(verified->problems, "; ")),
                                  "check the database before anything else (`rollback db status`)"));
  } else {
    out.warn("not verified: without a database URL the version table cannot be read from here; check it with "
             "`alembic current` in a task");
    record->add_details({{"verification", {{"ok", nullptr}, {"why", "no database URL"}}}});
    result["verification"] = nullptr;
  }

  record_checklist();
  RB_TRY(record->finish(kOutcomeSucceeded));
  out.line(fmt::format("rollback {} succeeded: {} is at {}", record->id(), env->name, rows_text(plan.expected_rows)));
  return record->id();
}

Result<std::vector<std::string>> read_version_rows(Context& ctx, const EnvironmentConfig& env) {
  RB_TRY_ASSIGN(auto setup, db::resolve_setup(ctx.config().repo, env.migrations));
  if (!setup.url) return no_url_error(setup);
  RB_TRY_ASSIGN(auto database, db::open_database(*setup.url, setup.alembic_dir));
  return read_rows(*database, setup);
}

namespace {

Status run(Context& ctx, const DbOptions& o) {
  const GlobalOptions& g = ctx.options();
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  if (o.via != "local" && o.via != "ecs-task")
    return usage_error(fmt::format("--via {}: unknown", o.via), "use --via local (default) or --via ecs-task");
  if (o.no_backup && o.full_backup) return usage_error("--no-backup and --full-backup contradict each other");
  if (o.snapshot && o.no_snapshot) return usage_error("--snapshot and --no-snapshot contradict each other");
  if (o.skip_staging_check && trim(o.reason).empty())
    return usage_error("--skip-staging-check needs --reason \"...\": skipping the staging run is journaled with why",
                       "add --reason \"why this cannot wait for staging\", or drop --skip-staging-check and run the "
                       "downgrade on staging first");
  if (g.no_wait)
    return usage_error("rollback db always follows the downgrade to its end (--no-wait is not supported here)",
                       "the verification needs the finished run; drop --no-wait");

  if (o.fix_forward) {
    if (o.skip_staging_check || o.no_backup || o.full_backup || o.accept_data_loss || o.via != "local" || o.snapshot ||
        o.no_snapshot)
      return usage_error("--fix-forward writes a migration and changes no database: it takes no staging, backup or "
                         "--via options",
                         "rollback db --env ENV [--to REV | --steps N] --fix-forward [--dry-run]");
    return run_fix_forward(ctx, *env, o);
  }
  RB_TRY(reason_gate(ctx, *env, o.reason, "db"));
  if (g.dry_run) {
    RB_TRY(ctx.check_lock(*env));  // the real run's first check
    RB_TRY_ASSIGN(auto p, prepare_downgrade(ctx, *env, o));
    if (p.blocker) {
      out.line("dry run: the real run would be refused: " + p.blocker->message);
      out.line("  hint: " + p.blocker->hint);
    }
    auto checklist = db_before_items(ctx, *env, o, p);
    RB_TRY(present_checklist(ctx, "checklist before the rollback (not recorded in a dry run):", checklist));
    out.line("dry run: nothing was changed");
    auto j = plan_result(*env, p);
    j["checklist"] = checklist_to_json(checklist);
    j["ok"] = true;
    j["dry_run"] = true;
    if (p.blocker) j["would_refuse"] = {{"message", p.blocker->message}, {"hint", p.blocker->hint}, {"tag", p.blocker->tag}};
    out.result(j);
    return {};
  }

  // Plan under the lock, so nobody migrates between our reading of the version table and our run.
  RB_TRY_ASSIGN(auto lock, ctx.lock(*env));
  RB_TRY_ASSIGN(auto p, prepare_downgrade(ctx, *env, o));
  if (p.blocker) return *p.blocker;
  const auto& plan = p.plan.plan;
  const std::string target = plan.target.value_or("base");
  auto checklist = db_before_items(ctx, *env, o, p);
  RB_TRY(present_checklist(ctx, "checklist before the rollback:", checklist));
  RB_TRY(confirm_environment(ctx, *env,
                             fmt::format("downgrade the database of {} from {} to {} ({} migration{})", env->name,
                                         join(plan.current_heads, ", "), target, plan.steps.size(),
                                         plan.steps.size() == 1 ? "" : "s")));

  nlohmann::json result;
  RB_TRY(run_prepared_downgrade(ctx, *env, o, p, lock, {{"checklist", checklist_to_json(checklist)}}, result));
  out.line("");
  out.line("Next (the runbook, scenario 3): revert the code PR that needed the newer schema, or fix forward:");
  out.line(fmt::format("  rollback app --env {} --pr <PR number> --allow-migrations{}", env->name,
                       env->reason_hint()));
  result["ok"] = true;
  result["outcome"] = kOutcomeSucceeded;
  out.result(result);
  return {};
}

// ---- rollback db status ------------------------------------------------------------------

// Revisions within `depth` steps of `from` (parents when `down`, children otherwise).
std::set<std::string> near(const db::RevisionGraph& g, const std::vector<std::string>& from, bool down, int depth) {
  std::set<std::string> seen(from.begin(), from.end());
  std::vector<std::string> frontier = from;
  for (int d = 0; d < depth && !frontier.empty(); ++d) {
    std::vector<std::string> next;
    for (const auto& r : frontier)
      for (const auto& n : down ? g.parents(r) : g.children(r))
        if (seen.insert(n).second) next.push_back(n);
    frontier = std::move(next);
  }
  return seen;
}

Status run_status(Context& ctx, const DbStatusOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  RB_TRY_ASSIGN(auto setup, db::resolve_setup(ctx.config().repo, env->migrations));
  if (!setup.url) return no_url_error(setup);
  RB_TRY(check_fresh_checkout(ctx, *env, o.allow_stale_checkout));
  RB_TRY_ASSIGN(auto graph, db::load_graph(setup));
  RB_TRY_ASSIGN(auto database, db::open_database(*setup.url, setup.alembic_dir));
  RB_TRY_ASSIGN(auto rows, read_rows(*database, setup));

  nlohmann::json j = {{"env", env->name}, {"layer", "db"}, {"database", setup.url->redacted()}, {"rows", rows}};
  out.line(fmt::format("Database: {} (from {})", setup.url->redacted(), setup.url_source));
  out.line(fmt::format("Version table {}: {}", setup.version_table, rows_text(rows)));
  out.line(fmt::format("Migrations: {} scripts in {}; heads: {}", graph.size(), setup.versions_dir.string(),
                       join(graph.heads(), ", ")));

  std::vector<std::string> unknown, known;
  for (const auto& r : rows) (graph.contains(r) ? known : unknown).push_back(r);
  // The rows no other row descends from; the others are stale (Alembic 1.8.1 leaves a row for a
  // depends_on when it downgrades).
  std::vector<std::string> current, stale;
  for (const auto& r : known) {
    auto above = graph.descendants({r}, false);
    bool below_another = std::any_of(known.begin(), known.end(), [&](const std::string& other) { return other != r && above.count(other); });
    (below_another ? stale : current).push_back(r);
  }
  if (!stale.empty())
    out.line(fmt::format("note: {} {} below {}: a row Alembic 1.8.1 leaves after downgrading a revision with "
                         "depends_on; `rollback db` plans from {}",
                         join(stale, ", "), stale.size() == 1 ? "is" : "are", join(current, ", "), join(current, ", ")));
  j["current_heads"] = current;
  j["stale_rows"] = stale;
  if (!unknown.empty())
    out.warn(fmt::format("the database is at {}, which no script defines: the checkout does not match the deployed "
                         "code (or the URL names another database)",
                         join(unknown, ", ")));
  j["unknown_rows"] = unknown;

  // Applied = everything below the rows; pending = the rest below the scripts' heads.
  auto applied = graph.ancestors(known, true);
  std::vector<std::string> pending_heads;
  for (const auto& h : graph.heads())
    if (!applied.count(h)) pending_heads.push_back(h);
  std::set<std::string> pending;
  for (const auto& id : graph.ancestors(pending_heads, true))
    if (!applied.count(id)) pending.insert(id);
  auto pending_order = graph.topological_order(pending, pending_heads);
  std::reverse(pending_order.begin(), pending_order.end());  // in the order `upgrade heads` runs them
  j["pending_heads"] = pending_heads;
  j["pending"] = pending_order;
  if (pending_heads.empty()) {
    out.line("Up to date: every head of the scripts is applied");
  } else {
    std::vector<std::string> listed(pending_order.begin(),
                                    pending_order.begin() + static_cast<long>(std::min(pending_order.size(), kStatusPendingListed)));
    std::string more = pending_order.size() > listed.size() ? fmt::format(" ... and {} more", pending_order.size() - listed.size()) : "";
    out.line(fmt::format("Pending upgrades: heads {} are not applied ({} migration{}: {}{})", join(pending_heads, ", "),
                         pending_order.size(), pending_order.size() == 1 ? "" : "s", join(listed, ", "), more));
  }

  // The graph around the current revision(s), newest first.
  if (!current.empty()) {
    auto around = near(graph, current, true, kStatusAncestorDepth);
    auto above = near(graph, current, false, kStatusDescendantDepth);
    around.insert(above.begin(), above.end());
    std::vector<std::string> tops;
    for (const auto& id : around) {
      bool child_in = false;
      for (const auto& c : graph.children(id)) child_in = child_in || around.count(c);
      if (!child_in) tops.push_back(id);
    }
    out.line("Near the current revision (newest first; * current, + pending):");
    j["graph"] = nlohmann::json::array();
    for (const auto& id : graph.topological_order(around, tops)) {
      const bool is_current = std::find(current.begin(), current.end(), id) != current.end();
      const bool is_stale = std::find(stale.begin(), stale.end(), id) != stale.end();
      const bool is_pending = pending.count(id) > 0;
      const auto* s = graph.find(id);
      std::string marks;
      if (is_current) marks += "  <- current";
      else if (is_stale) marks += "  <- stale row";
      else if (is_pending) marks += "  (pending)";
      out.line(fmt::format("  {} {}{}", is_current ? "*" : is_pending ? "+" : " ", graph.history_line(id), marks));
      j["graph"].push_back({{"revision", id}, {"down_revisions", s->down_revisions}, {"doc", s->doc},
                            {"current", is_current}, {"pending", is_pending}});
    }
  }

  // What `rollback db` (downgrade -1) would do now.
  out.line("Next `rollback db` (downgrade -1):");
  auto plan = db::plan_downgrade(graph, rows, db::DowngradeTarget::relative(1));
  if (!plan) {
    const Error& e = plan.error();
    out.line("  would be refused: " + e.message);
    for (const auto& l : split(e.hint, '\n')) out.line("    " + l);
    j["next_downgrade"] = {{"refused", true}, {"message", e.message}, {"hint", e.hint}, {"tag", e.tag}};
  } else {
    RB_TRY_ASSIGN(auto analyzed, db::analyze_plan(graph, std::move(*plan), setup.url->dialect));
    db::count_data(*database, analyzed);
    for (const auto& s : analyzed.steps) {
      out.line(fmt::format("  undoes {} ({}), risk {}", s.step.revision, s.step.script ? s.step.script->doc : "",
                           db::severity_label(s.risk.severity)));
    }
    for (const auto& s : analyzed.steps)
      for (const auto& f : s.risk.findings)
        out.line(fmt::format("    - {}: {}{}{}", db::severity_label(f.severity), f.action,
                             f.table.empty() ? "" : " " + f.table, f.column.empty() ? "" : "." + f.column));
    for (const auto& c : analyzed.counts)
      out.line(fmt::format("    data at stake: {}: {}", c.check.description, c.count ? std::to_string(*c.count) : c.note));
    if (!analyzed.blocking.empty()) out.line("    irreversible: " + join(analyzed.blocking, "; "));
    out.line(fmt::format("  leaves the version table at {}", rows_text(analyzed.plan.expected_rows)));
    j["next_downgrade"] = analyzed.to_json();
  }
  out.result(j);
  return {};
}

}  // namespace

void register_db(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<DbOptions>();
  auto status_opts = std::make_shared<DbStatusOptions>();
  Subcommand sub = app.add_subcommand(
      "db", "Database migration rollback: plan `alembic downgrade` with risk analysis, back up, run, verify");
  sub.require_subcommand(0, 1);
  sub.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)");
  sub.add_option("--to", opts->to, "Target revision: a full id, a unique prefix (4+ characters), or base");
  add_number_option(sub, "--steps", opts->steps, 1, kMaxSteps,
                    "Undo the last N migrations (default 1, like `alembic downgrade -1`)");
  sub.add_flag("--full-backup", opts->full_backup, "Back up the whole database, not only the affected tables");
  sub.add_flag("--no-backup", opts->no_backup, "Take no backup (needs --accept-data-loss when data is destroyed)");
  sub.add_flag("--accept-data-loss", opts->accept_data_loss, "Go on without a backup although the downgrade destroys data");
  sub.add_option("--via", opts->via, "Where alembic runs: local (default) or ecs-task (a one-off task of the service)");
  sub.add_option("--from", opts->from,
                  "What the version table holds (REV[,REV]); checked against the database, required with --via "
                  "ecs-task when there is no database URL");
  sub.add_option("--reason", opts->reason, "Why (recorded in the journal)");
  sub.add_flag("--fix-forward", opts->fix_forward,
                "Instead of downgrading, write a new migration reversing the planned migrations' upgrade() on a "
                "local git branch (not pushed), for review");
  sub.add_flag("--snapshot", opts->snapshot,
                "Take an RDS snapshot of the environment's database (`database:` in rollback.yaml) first, whatever "
                "the plan");
  sub.add_flag("--no-snapshot", opts->no_snapshot,
                "Take no RDS snapshot, even where a downgrade that changes data on a protected environment would");
  sub.add_flag("--skip-staging-check", opts->skip_staging_check,
                "On a protected environment, go on although the same downgrade has not succeeded on a non-protected "
                "one (needs --reason; journaled)");
  sub.add_flag("--allow-stale-checkout", opts->allow_stale_checkout,
                "Use the checkout's migrations even when they differ from the environment's branch");
  add_global_options(sub, g);

  Subcommand status = sub.add_subcommand(
      "status", "Where the database is: version table, pending upgrades, the graph nearby, the risk of the next downgrade");
  status.add_option("--env,-e", status_opts->env, "Environment (from rollback.yaml)").required();
  status.add_flag("--allow-stale-checkout", status_opts->allow_stale_checkout,
                   "Use the checkout's migrations even when they differ from the environment's branch");
  add_global_options(status, g);
  Subcommand pitr = register_db_pitr(sub, g, action);

  sub.on_parsed([&g, &action, opts, status_opts, status, pitr] {
    if (status.parsed() || pitr.parsed()) {
      if (opts->to || opts->steps || !opts->from.empty() || opts->full_backup || opts->no_backup ||
          opts->fix_forward || opts->snapshot || opts->no_snapshot || opts->skip_staging_check) {
        const std::string sub_name = status.parsed() ? "status" : "pitr";
        action = [&g, sub_name] {
          return execute(g, false, [sub_name](Context&) {
            return Status(usage_error(fmt::format("`rollback db {}` does not take `rollback db`'s own options", sub_name),
                                      "put --to/--steps/--from, backup, snapshot, staging and fix-forward options "
                                      "on `rollback db` itself"));
          });
        };
        return;
      }
      if (pitr.parsed()) return;  // its own callback set the action
      action = [&g, status_opts] {
        return execute(g, true, [status_opts](Context& ctx) { return run_status(ctx, *status_opts); });
      };
      return;
    }
    action = [&g, opts] {
      return execute(g, true, [opts](Context& ctx) {
        if (opts->env.empty())
          return Status(usage_error("--env is required", "rollback db --env ENV [--to REV | --steps N] [--dry-run]"));
        return run(ctx, *opts);
      });
    };
  });
}

}  // namespace rb::cli
