// rollback db pitr: the runbook's last database net, point-in-time recovery, done the safe way.
// The environment's RDS instance is restored as it was at a given time into a NEW instance next
// to the live one (its subnet group, security groups and parameter group); an Aurora cluster
// into a NEW cluster (the same, with its cluster parameter group) with one instance of its
// writer's class. The tool follows the restore to `available`, compares the restored database
// with the live one (Alembic version, row counts) and prints the cutover steps. It never
// switches the application over by itself.
#include <fmt/format.h>

#include "cli/checklist_flow.hpp"
#include "cli/command.hpp"
#include "db/database.hpp"
#include "db/pitr.hpp"
#include "db/rollback.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {

struct PitrOptions {
  std::string env;
  std::string to_time;
  std::string name;    // the new instance or cluster (default: <source>-pitr-<time>)
  std::string tables;  // a,b,c: the tables whose rows are compared
  std::string reason;
};

std::string versions_text(const std::optional<std::vector<std::string>>& v) {
  if (!v) return "unknown";
  if (v->empty()) return "(empty: base)";
  return join(*v, ", ");
}

std::string count_text(const std::optional<long long>& n) { return n ? std::to_string(*n) : "?"; }

// Connects to the restored instance (and the live database) and prints them side by side. The
// comparison is advice for the cutover: what cannot be read is said, never an error.
nlohmann::json compare(Context& ctx, RollbackRecord& record, const EnvironmentConfig& env,
                       const db::Restored& restored, const PitrOptions& o) {
  Output& out = ctx.out();
  auto setup = db::resolve_setup(ctx.config().repo, env.migrations);
  if (!setup || !setup->url) {
    std::string why = setup ? fmt::format("no database URL (${} is not set)", setup->url_env) : setup.error().message;
    out.warn("the restored database was not compared with the live one: " + why);
    record.note("comparison skipped: " + why);
    return {{"skipped", why}};
  }
  if (setup->url->dialect != "postgresql") {
    std::string why = "the live database URL is " + setup->url->dialect + ", not PostgreSQL";
    out.warn("the restored database was not compared with the live one: " + why);
    return {{"skipped", why}};
  }
  db::DatabaseUrl url = db::restored_url(*setup->url, restored.address, restored.port);
  auto restored_db = db::open_database(url, setup->alembic_dir);
  if (!restored_db) {
    std::string why = fmt::format("{} is not reachable from here: {}", url.redacted(), restored_db.error().message);
    out.warn("the restored database was not compared with the live one: " + why);
    out.line("  (run this command from inside the VPC, or through a tunnel, to compare)");
    record.note("comparison skipped: " + why);
    return {{"skipped", why}};
  }
  auto live_db = db::open_database(*setup->url, setup->alembic_dir);
  if (!live_db) out.warn("the live database is not reachable from here: " + live_db.error().message);
  std::vector<std::string> tables;
  for (const auto& t : split(o.tables, ','))
    if (!trim(t).empty()) tables.push_back(trim(t));
  auto c = db::compare_databases(live_db ? live_db->get() : nullptr, **restored_db, *setup, tables);

  out.line("");
  out.line(fmt::format("Restored database {} next to the live one:", url.redacted()));
  out.line(fmt::format("  Alembic version: live {}, restored {}", versions_text(c.live_versions),
                       versions_text(c.restored_versions)));
  if (!c.tables.empty()) {
    size_t width = 5;
    for (const auto& t : c.tables) width = std::max(width, t.table.size());
    out.line(fmt::format("  {:<{}}  {:>12}  {:>13}", "table", width, "live rows", "restored rows"));
    for (const auto& t : c.tables)
      out.line(fmt::format("  {:<{}}  {:>12}  {:>13}", t.table, width, count_text(t.live), count_text(t.restored)));
  }
  for (const auto& n : c.notes) out.warn(n);
  record.note(fmt::format("compared: Alembic version live {}, restored {}; {} tables counted",
                           versions_text(c.live_versions), versions_text(c.restored_versions), c.tables.size()));
  return c.to_json();
}

Status run(Context& ctx, const PitrOptions& o) {
  const GlobalOptions& g = ctx.options();
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  if (trim(o.to_time).empty())
    return usage_error("--to-time is required: the time to restore the database to",
                       "e.g. --to-time 2026-11-30T09:15:00Z, or --to-time '45m ago'");
  if (!env->database.configured())
    return usage_error(fmt::format("environment {} names no RDS database", env->name),
                       fmt::format("add `database: {{ rds_instance: NAME }}` to {} in rollback.yaml", env->name));
  if (!o.name.empty())
    RB_TRY(aws::check_rds_identifier(o.name, aws::kMaxRdsIdentifier,
                                     env->database.rds_cluster.empty() ? "instance name (--name)"
                                                                       : "cluster name (--name)"));
  const auto now = std::chrono::system_clock::now();
  RB_TRY_ASSIGN(auto when, db::parse_restore_time(o.to_time, now));
  RB_TRY(reason_gate(ctx, *env, o.reason, "db pitr"));
  if (g.dry_run) RB_TRY(ctx.check_lock(*env));

  RB_TRY_ASSIGN(auto gateway, db::make_aws_restore_gateway(ctx.config(), *env, ctx.clock()));
  RB_TRY_ASSIGN(auto source, db::read_source(*gateway, env->database, env->name));
  RB_TRY_ASSIGN(auto window, db::restore_window(source));
  RB_TRY(db::check_in_window(when, window, source.describe()));
  const std::string target = o.name.empty() ? db::restored_instance_name(source.identifier(), when) : o.name;
  // The plan's request; the rollback id its tags carry is known once the journal entry exists.
  RB_TRY(db::check_targets_free(*gateway, db::pitr_request(source, target, when, "")));
  const auto estimate = db::estimate_restore(source);

  for (const auto& line : db::plan_lines(source, target, when, window, estimate)) out.line(line);
  nlohmann::json result = {{"env", env->name},
                           {"kind", source.is_cluster ? "cluster" : "instance"},
                           {"source", source.is_cluster ? db::cluster_to_json(source.cluster)
                                                        : db::instance_to_json(source.instance)},
                           {"restore_time", iso8601(when)},
                           {"window", {{"earliest", iso8601(window.earliest)}, {"latest", iso8601(window.latest)}}},
                           {"target", target},
                           {"estimate_seconds", std::chrono::duration_cast<std::chrono::seconds>(estimate).count()}};
  if (g.dry_run) {
    out.line("dry run: nothing was changed");
    result["ok"] = true;
    result["dry_run"] = true;
    out.result(result);
    return {};
  }

  RB_TRY_ASSIGN(auto lock, ctx.lock(*env));
  RB_TRY(confirm_environment(ctx, *env,
                             fmt::format("restore the database of {} as of {} into a new {} {}", env->name,
                                         iso8601(when), source.is_cluster ? "Aurora cluster" : "RDS instance",
                                         target)));
  JournalEntry entry;
  entry.env = env->name;
  entry.layer = "db-pitr";
  entry.from = source.identifier();
  entry.to = target + " @ " + iso8601(when);
  entry.reason = o.reason;
  entry.details = {{"source", source.identifier()},
                   {"kind", result["kind"]},
                   {"target", target},
                   {"restore_time", iso8601(when)},
                   {"window", result["window"]},
                   {"estimate_seconds", result["estimate_seconds"]}};
  RB_TRY_ASSIGN(auto record, RollbackRecord::begin(ctx, lock, entry));
  out.line(fmt::format("rollback {} started", record->id()));
  result["rollback_id"] = record->id();

  auto request = db::pitr_request(source, target, when, record->id());
  if (source.is_cluster) result["instance"] = request.cluster_instance.identifier;
  if (g.no_wait) {
    auto sent = db::start_restore(*gateway, request);
    if (!sent) return record->fail(sent.take_error());
    record->event(fmt::format("restore of {} into {} started ({})", source.identifier(), target,
                              (*sent)["status"].get<std::string>()));
    RB_TRY(record->finish(kOutcomeSucceeded, {{"restored", *sent}, {"followed", false}}));
    if (source.is_cluster) {
      const auto& ci = request.cluster_instance;
      out.line(fmt::format("restore started (--no-wait): follow it with `aws rds wait db-cluster-available "
                           "--db-cluster-identifier {}`; a restored cluster has no instance: then add one with `aws "
                           "rds create-db-instance --db-cluster-identifier {} --db-instance-identifier {} --engine {} "
                           "--db-instance-class {}`",
                           target, target, ci.identifier, ci.engine, ci.instance_class));
    } else {
      out.line(fmt::format("restore started (--no-wait): follow it with `aws rds wait db-instance-available "
                           "--db-instance-identifier {}`",
                           target));
    }
    result["ok"] = true;
    result["restored"] = *sent;
    out.result(result);
    return {};
  }
  auto restored = db::restore_and_wait(*gateway, ctx.clock(), request, db::kRestoreTimeout,
                                       [&](const std::string& line) { record->event(line); });
  if (!restored) return record->fail(restored.take_error());
  record->checkpoint({{"restored", restored->json}});
  result["restored"] = restored->json;
  result["comparison"] = compare(ctx, *record, *env, *restored, o);

  RB_TRY(record->finish(kOutcomeSucceeded));
  out.line("");
  out.line(fmt::format("rollback {} succeeded: {} is available at {}:{}", record->id(), target, restored->address,
                       restored->port));
  out.line("Cutover, when the restored data is what you need (the tool does not switch over):");
  out.line(fmt::format("  1. stop writes that would be lost: the live {} keeps receiving them until step 3",
                       source.describe()));
  out.line(fmt::format("  2. point the service at {}:{}: change the database URL the task definition reads (its "
                       "secret or environment variable; locally ${})",
                       restored->address, restored->port, env->migrations.url_env));
  out.line(fmt::format("  3. rollback ecs --env {} --restart{}   (new tasks read the new URL)", env->name,
                       env->reason_hint()));
  out.line(fmt::format("  4. keep {} until the incident is closed; then delete the {} you no longer need",
                       source.identifier(), source.is_cluster ? "cluster (and its instances)" : "instance"));
  result["ok"] = true;
  result["outcome"] = kOutcomeSucceeded;
  out.result(result);
  return {};
}

}  // namespace

Subcommand register_db_pitr(Subcommand db, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<PitrOptions>();
  Subcommand sub = db.add_subcommand(
      "pitr",
      "Point-in-time recovery into a NEW RDS instance or Aurora cluster (never in place): restore, compare, print the "
      "cutover");
  sub.add_option("--env,-e", opts->env,
                  "Environment (from rollback.yaml, with `database: { rds_instance: X }` or `{ rds_cluster: X }`)")
      .required();
  sub.add_option("--to-time", opts->to_time, "When to restore to: ISO-8601 with a zone (2026-11-30T09:15:00Z) or '45m ago'")
      .required();
  sub.add_option("--name", opts->name,
                  "The new instance's or cluster's identifier (default: <source>-pitr-<YYYYMMDD-HHMM>; a cluster's "
                  "instance is <name>-1)");
  sub.add_option("--tables", opts->tables, "Tables whose rows are compared (a,b,c; default: the first 20 by name)");
  sub.add_option("--reason", opts->reason, "Why (recorded in the journal)");
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
  return sub;
}

}  // namespace rb::cli
