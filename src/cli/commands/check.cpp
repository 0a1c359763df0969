// rollback check: is a rollback of this environment possible right now? A read-only readiness
// check for a nightly CI job, exit 0 only when every procedure the runbook might need would work.
#include <fmt/format.h>

#include <algorithm>

#include "cli/command.hpp"
#include "core/identity.hpp"
#include "db/database.hpp"
#include "db/rollback.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/rollback.hpp"
#include "ecs/verify.hpp"
#include "infra/aws_storage.hpp"
#include "util/utf8.hpp"

namespace rb::cli {

namespace {

// What `--skip` accepts: the groups of checks, each one procedure of the runbook.
constexpr const char* kGroups[] = {"aws", "lock", "ecs", "health", "db", "state"};

struct CheckOptions {
  std::string env;
  std::vector<std::string> skip;
};

struct CheckRow {
  std::string group, name;
  std::string result;  // ok, FAIL, warn, skipped
  std::string detail;
  std::string fix;
};

class Checks {
 public:
  void ok(const std::string& group, const std::string& name, std::string detail) {
    rows_.push_back({group, name, "ok", std::move(detail), {}});
  }
  void fail(const std::string& group, const std::string& name, std::string detail, std::string fix) {
    rows_.push_back({group, name, "FAIL", std::move(detail), std::move(fix)});
  }
  void fail(const std::string& group, const std::string& name, const Error& e) { fail(group, name, e.message, e.hint); }
  void warn(const std::string& group, const std::string& name, std::string detail, std::string fix = {}) {
    rows_.push_back({group, name, "warn", std::move(detail), std::move(fix)});
  }
  void skipped(const std::string& group, const std::string& name, std::string why) {
    rows_.push_back({group, name, "skipped", std::move(why), {}});
  }
  const std::vector<CheckRow>& rows() const { return rows_; }
  std::vector<std::string> failed() const {
    std::vector<std::string> out;
    for (const auto& r : rows_)
      if (r.result == "FAIL") out.push_back(r.name);
    return out;
  }

 private:
  std::vector<CheckRow> rows_;
};

void check_aws(Context& ctx, const EnvironmentConfig& env, Checks& c) {
  auto identity = environment_identity(ctx.config(), env);
  if (!identity) return c.fail("aws", "credentials", identity.error());
  std::string who = fmt::format("{} in account {} ({})", identity->caller.arn, identity->caller.account,
                                identity->credential_source);
  if (env.account_id.empty()) {
    c.ok("aws", "credentials", who);
    c.warn("aws", "account", "no account_id configured: a rollback cannot refuse credentials of the wrong account",
           fmt::format("set environments.{}.account_id to the 12-digit account", env.name));
  } else if (identity->caller.account != env.account_id) {
    c.fail("aws", "account", account_mismatch_error(env, *identity));
  } else {
    c.ok("aws", "credentials", who);
    c.ok("aws", "account", fmt::format("{} as configured", env.account_id));
  }
}

void check_lock(Context& ctx, const EnvironmentConfig& env, Checks& c) {
  if (auto st = ctx.check_lock(env); !st) return c.fail("lock", "lock", st.error());
  c.ok("lock", "lock", "free: nobody is rolling this environment back");
}

void check_ecs(Context& ctx, const EnvironmentConfig& env, Journal& journal, Checks& c) {
  auto gateway = ecs::make_aws_gateway(ctx.config(), env, ctx.clock());
  if (!gateway) return c.fail("ecs", "ecs service", gateway.error());
  auto service = (*gateway)->describe_service(env.cluster, env.service);
  if (!service) return c.fail("ecs", "ecs service", service.error());
  const ecs::Deployment* primary = service->primary();
  auto running = primary ? ecs::parse_task_def(primary->task_definition) : std::nullopt;
  c.ok("ecs", "ecs service",
       fmt::format("{} runs {}: {}", env.service, running ? running->label() : std::string("no PRIMARY deployment"),
                   primary ? ecs::deployment_summary(*primary) : std::string("-")));

  auto known_good = ecs::known_good_revisions(journal, ctx.config().app, env);
  if (!known_good) return c.fail("ecs", "last known good", known_good.error());
  auto revisions = (*gateway)->list_revisions(env.task_family);
  if (!revisions) return c.fail("ecs", "last known good", revisions.error());
  const ecs::KnownGood* last_good = nullptr;
  for (const auto& k : *known_good)
    if (!running || k.revision != running->revision) {
      last_good = &k;
      break;
    }
  if (!last_good) {
    c.skipped("ecs", "last known good", "no rollback or deployment of another revision recorded as good yet");
  } else {
    std::string status = "not found";
    for (const auto& r : *revisions)
      if (r.ref.revision == last_good->revision) status = r.status;
    std::string label = fmt::format("{}:{}", env.task_family, last_good->revision);
    if (status == "ACTIVE")
      c.ok("ecs", "last known good", fmt::format("{} (good since {}) is ACTIVE", label, last_good->when));
    else
      c.fail("ecs", "last known good",
             fmt::format("{}, the last revision known good ({}), is {}: an emergency rollback can no longer go back to it",
                         label, last_good->when, status),
             "register it again from its JSON (aws ecs register-task-definition), or accept the next candidate shown "
             "by `rollback ecs --env " + env.name + " --dry-run`");
  }

  ecs::PlanOptions options;
  options.known_good = *known_good;
  auto bad = ecs::revisions_left_by_rollbacks(journal, ctx.config().app, env);
  if (bad) options.journal_bad = *bad;
  options.protected_env = env.is_protected;
  auto plan = ecs::plan_rollback(**gateway, env, options);
  if (!plan) return c.fail("ecs", "emergency rollback", plan.error());
  c.ok("ecs", "emergency rollback",
       fmt::format("`rollback ecs --env {}` would go to {} ({})", env.name, plan->target.ref.label(), plan->choice.why));
}

void check_health(const EnvironmentConfig& env, Checks& c) {
  if (env.health_url.empty())
    return c.warn("health", "health url", "no health_url: a rollback cannot verify that the API answers",
                  fmt::format("set environments.{}.health_url", env.name));
  auto h = ecs::probe_health_once(env.health_url);
  if (!h.status) return c.fail("health", "health url", fmt::format("{}: {}", env.health_url, h.answer),
                               "check the URL and that this machine can reach it");
  if (!h.healthy)
    return c.fail("health", "health url", fmt::format("{} answered {}", env.health_url, h.answer),
                  "the API is unhealthy now: `rollback status --env " + env.name + "` shows what runs");
  c.ok("health", "health url", fmt::format("{} answered {}", env.health_url, h.answer));
}

// The alarms the verification gate reads (verify.alarms): each must exist, and none may be in
// ALARM now (the gate would fail the rollback on it).
void check_alarms(Context& ctx, const EnvironmentConfig& env, Checks& c) {
  const auto& names = env.verify.alarms;
  if (names.empty())
    return c.warn("health", "alarms", "no verify.alarms: a rollback's verification reads only the service's own "
                                      "deployment alarms",
                  fmt::format("list the alarms that page for {} under environments.{}.verify.alarms", env.name,
                              env.name));
  auto gateway = ecs::make_aws_verify_gateway(ctx.config(), env, ctx.clock());
  if (!gateway) return c.fail("health", "alarms", gateway.error());
  auto states = (*gateway)->alarms(names);
  if (!states) return c.fail("health", "alarms", states.error());
  std::vector<std::string> missing, alarming, unknown_data;
  for (const auto& n : names) {
    auto it = std::find_if(states->begin(), states->end(), [&](const aws::AlarmState& a) { return a.name == n; });
    if (it == states->end()) missing.push_back(n);
    else if (it->state == "ALARM") alarming.push_back(n + " (" + it->reason + ")");
    else if (it->state != "OK") unknown_data.push_back(n);
  }
  if (!missing.empty())
    return c.fail("health", "alarms", fmt::format("CloudWatch has no alarm {}: the verification gate fails on it",
                                                  join(missing, ", ")),
                  fmt::format("correct environments.{}.verify.alarms (names are case-sensitive)", env.name));
  if (!alarming.empty())
    return c.fail("health", "alarms", fmt::format("in ALARM now: {}", join(alarming, "; ")),
                  "the environment is unhealthy now: `rollback diagnose --env " + env.name + "` says why");
  if (!unknown_data.empty())
    return c.warn("health", "alarms", fmt::format("{} readable; INSUFFICIENT_DATA: {}", names.size(),
                                                  join(unknown_data, ", ")));
  c.ok("health", "alarms", fmt::format("{} readable, all OK: {}", names.size(), join(names, ", ")));
}

void check_db(Context& ctx, const EnvironmentConfig& env, Checks& c) {
  auto setup = db::resolve_setup(ctx.config().repo, env.migrations);
  if (!setup) return c.fail("db", "database", setup.error());
  if (!setup->url)
    return c.skipped("db", "database", fmt::format("no database URL (${} or migrations.url)", env.migrations.url_env));
  std::error_code ec;
  if (!std::filesystem::is_directory(setup->versions_dir, ec))
    return c.skipped("db", "database", fmt::format("no migrations folder {}", setup->versions_dir.string()));
  auto graph = db::load_graph(*setup);
  if (!graph) return c.fail("db", "migrations", graph.error());
  auto database = db::open_database(*setup->url, setup->alembic_dir);
  if (!database) return c.fail("db", "database", database.error());
  auto rows = (*database)->version_rows(setup->version_table, setup->version_table_schema);
  if (!rows) return c.fail("db", "database", rows.error());
  c.ok("db", "database", fmt::format("{} is at {}", setup->url->redacted(), rows->empty() ? "base" : join(*rows, ", ")));
  if (rows->empty()) return c.skipped("db", "downgrade path", "the database is at base: nothing to downgrade");
  auto plan = db::plan_downgrade(*graph, *rows, db::DowngradeTarget::relative(1));
  if (!plan) return c.fail("db", "downgrade path", plan.error());
  auto analyzed = db::analyze_plan(*graph, std::move(*plan), setup->url->dialect);
  if (!analyzed) return c.fail("db", "downgrade path", analyzed.error());
  std::vector<std::string> undone;
  for (const auto& s : analyzed->steps) undone.push_back(s.step.revision);
  if (!analyzed->blocking.empty())
    return c.fail("db", "downgrade path",
                  fmt::format("the downgrade of the head is irreversible: {}", join(analyzed->blocking, "; ")),
                  "write a downgrade() for it now, while nothing is on fire, or plan a fix forward");
  c.ok("db", "downgrade path",
       fmt::format("undoing {} is possible, risk {}{}", join(undone, ", "), db::severity_label(analyzed->severity),
                   analyzed->destroys_data ? " (destroys data: a backup is taken first)" : ""));
}

void check_state(Context& ctx, const EnvironmentConfig& env, Checks& c) {
  auto backend = infra::make_state_backend(ctx.config(), env, ctx.clock());
  if (!backend) return c.fail("state", "state bucket", backend.error());
  const auto& loc = backend->location;
  auto versioning = backend->store->bucket_versioning(loc.bucket);
  if (!versioning) {
    Error e = versioning.take_error();
    if (e.hint.empty()) e.hint = fmt::format("if {} has no Terraform state, pass --skip state", env.name);
    return c.fail("state", "state bucket", e);
  }
  if (*versioning != "Enabled")
    c.fail("state", "state bucket",
           fmt::format("versioning on s3://{} is {}: there are no earlier state versions to restore", loc.bucket,
                       versioning->empty() ? "not enabled" : *versioning),
           fmt::format("aws s3api put-bucket-versioning --bucket {} --versioning-configuration Status=Enabled", loc.bucket));
  else
    c.ok("state", "state bucket", fmt::format("s3://{} has versioning Enabled", loc.bucket));

  auto versions = backend->store->list_object_versions(loc.bucket, loc.key);
  if (!versions) return c.fail("state", "state versions", versions.error());
  size_t count = 0;
  bool current = false;
  for (const auto& v : *versions)
    if (v.key == loc.key && !v.is_delete_marker) {
      ++count;
      current = current || v.is_latest;
    }
  if (!current)
    c.fail("state", "state versions", fmt::format("{} has no current state object", backend->url()),
           "check terraform.state.bucket/key in rollback.yaml against the backend \"s3\" block");
  else if (count < 2)
    c.warn("state", "state versions", fmt::format("{} has {} version: nothing earlier to restore yet", backend->url(), count));
  else
    c.ok("state", "state versions", fmt::format("{} has {} versions to restore from", backend->url(), count));

  if (backend->locks) {
    auto held = backend->locks->get_item(backend->config.dynamodb_table, loc.lock_id(), "Info");
    if (!held) return c.fail("state", "terraform lock", held.error());
    if (*held)
      c.fail("state", "terraform lock",
             fmt::format("a Terraform lock is held in {}: {}", backend->config.dynamodb_table, printable_inline(**held)),
             "if its holder is gone: terraform force-unlock LOCK_ID in the environment's folder");
    else
      c.ok("state", "terraform lock", fmt::format("lock table {} is readable and holds no lock", backend->config.dynamodb_table));
  } else if (backend->config.use_lockfile) {
    bool held = false;
    for (const auto& v : *versions)
      if (v.key == loc.key + ".tflock" && v.is_latest && !v.is_delete_marker) held = true;
    if (held)
      c.fail("state", "terraform lock", fmt::format("s3://{}/{}.tflock exists: a Terraform run holds the lock", loc.bucket, loc.key),
             "if its holder is gone: terraform force-unlock LOCK_ID in the environment's folder");
    else
      c.ok("state", "terraform lock", "no lock file held");
  } else {
    c.warn("state", "terraform lock", "no dynamodb_table and no use_lockfile: a state restore cannot lock out Terraform",
           fmt::format("set environments.{}.terraform.state.dynamodb_table (or use_lockfile: true)", env.name));
  }
}

Status run(Context& ctx, const CheckOptions& o) {
  Output& out = ctx.out();
  for (const auto& s : o.skip)
    if (std::find(std::begin(kGroups), std::end(kGroups), s) == std::end(kGroups))
      return usage_error(fmt::format("--skip {}: no such group of checks", s), "groups: aws, lock, ecs, health, db, state");
  auto skipped = [&](const char* group) { return std::find(o.skip.begin(), o.skip.end(), group) != o.skip.end(); };
  // Not ctx.environment(): it refuses credentials of the wrong account, which here is a check
  // to report among the others.
  if (auto st = check_environment_name(o.env); !st) {
    Error e = st.take_error();
    e.message = "--env: " + e.message;
    return e;
  }
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.config().environment(o.env));
  RB_TRY_ASSIGN(Journal * journal, ctx.journal_for_reading());

  Checks c;
  if (skipped("aws")) c.skipped("aws", "credentials", "--skip aws");
  else check_aws(ctx, *env, c);
  if (skipped("lock")) c.skipped("lock", "lock", "--skip lock");
  else check_lock(ctx, *env, c);
  if (skipped("ecs")) c.skipped("ecs", "ecs service", "--skip ecs");
  else check_ecs(ctx, *env, *journal, c);
  if (skipped("health")) {
    c.skipped("health", "health url", "--skip health");
    c.skipped("health", "alarms", "--skip health");
  } else {
    check_health(*env, c);
    check_alarms(ctx, *env, c);
  }
  if (skipped("db")) c.skipped("db", "database", "--skip db");
  else check_db(ctx, *env, c);
  if (skipped("state")) c.skipped("state", "state bucket", "--skip state");
  else check_state(ctx, *env, c);

  out.line(fmt::format("Readiness of {} ({}):", env->name, ctx.config().app));
  out.line(fmt::format("  {:<20} {:<8} {}", "CHECK", "RESULT", "DETAIL"));
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows()) {
    out.line(fmt::format("  {:<20} {:<8} {}", r.name, r.result, printable_inline(r.detail)));
    if (!r.fix.empty()) out.line(fmt::format("  {:<20} {:<8} fix: {}", "", "", printable_inline(r.fix)));
    rows.push_back({{"group", r.group}, {"check", r.name}, {"result", r.result == "FAIL" ? "fail" : r.result},
                    {"detail", r.detail}, {"fix", r.fix}});
  }
  auto failed = c.failed();
  out.attach("checks", rows);
  out.attach("ready", failed.empty());
  out.attach("env", env->name);
  if (!failed.empty())
    return failure(fmt::format("{} is not ready for a rollback: {} failed", env->name, join(failed, ", ")),
                   "each failed check above says how to fix it");
  out.line(fmt::format("{} is ready: every procedure a rollback needs would work now", env->name));
  out.result({{"ok", true}});
  return {};
}

}  // namespace

void register_check(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<CheckOptions>();
  Subcommand sub = app.add_subcommand("check", "Readiness: would a rollback of this environment work right now? (read-only)");
  sub.add_option("--env,-e", opts->env, "The environment").required();
  sub.add_option("--skip", opts->skip, "Groups of checks to leave out: aws, lock, ecs, health, db, state").delimiter(',');
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
