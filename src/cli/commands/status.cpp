// rollback status: what runs now, the recent revisions, the last events and rollbacks.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/identity.hpp"
#include "core/team_lock.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/rollback.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb::cli {

namespace {

// How much history `status` shows.
constexpr size_t kRevisionsShown = 8;
constexpr size_t kEventsShown = 10;
constexpr size_t kRollbacksShown = 5;
constexpr size_t kTaskFailuresShown = 5;

struct StatusOptions {
  std::string env;
};

std::string when(double epoch) {
  if (epoch <= 0) return "";
  return iso8601(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(epoch))));
}

Status run(Context& ctx, const StatusOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  RB_TRY_ASSIGN(auto gateway, ecs::make_aws_gateway(ctx.config(), *env, ctx.clock()));
  RB_TRY_ASSIGN(auto svc, gateway->describe_service(env->cluster, env->service));
  RB_TRY_ASSIGN(auto revisions, gateway->list_revisions(env->task_family));
  std::string current_arn = svc.current_task_definition();
  auto current_ref = ecs::parse_task_def(current_arn);
  std::string current_image;
  if (auto td = gateway->describe_task_definition(current_arn)) current_image = td->image_of(env->container);

  nlohmann::json j = {{"env", env->name}, {"cluster", env->cluster}, {"service", env->service},
                      {"status", svc.status}, {"desired", svc.desired}, {"running", svc.running},
                      {"task_definition", current_arn}, {"image", current_image}};
  out.line(fmt::format("{} / {} ({}): {}", env->cluster, env->service, env->name, svc.status));
  out.line(fmt::format("  runs     {}  image {}", current_ref ? current_ref->label() : current_arn, current_image));
  out.line(fmt::format("  tasks    {}/{} running, {} pending", svc.running, svc.desired, svc.pending));
  if (auto who = environment_identity(ctx.config(), *env)) {
    out.line(fmt::format("  identity {} (account {}, credentials from {})", who->caller.arn, who->caller.account,
                         who->credential_source));
    j["identity"] = {{"arn", who->caller.arn}, {"account", who->caller.account}, {"user_id", who->caller.user_id},
                     {"credential_source", who->credential_source}, {"profile", who->profile}};
  } else {
    out.line("  identity unknown: " + who.error().message);
    j["identity"] = {{"error", who.error().message}};
  }

  j["deployments"] = nlohmann::json::array();
  out.line("  deployments:");
  for (const auto& d : svc.deployments) {
    auto ref = ecs::parse_task_def(d.task_definition);
    out.line(fmt::format("    {:<8} {}  {}  {}{}", d.status, d.id, ref ? ref->label() : d.task_definition,
                         ecs::deployment_summary(d),
                         d.rollout_state_reason.empty() ? "" : "  (" + d.rollout_state_reason + ")"));
    j["deployments"].push_back({{"id", d.id}, {"status", d.status}, {"task_definition", d.task_definition},
                                {"desired", d.desired}, {"running", d.running}, {"pending", d.pending},
                                {"failed_tasks", d.failed_tasks}, {"rollout_state", d.rollout_state},
                                {"rollout_state_reason", d.rollout_state_reason}, {"created_at", when(d.created_at)}});
  }

  std::sort(revisions.begin(), revisions.end(), [](const auto& a, const auto& b) { return a.ref.revision > b.ref.revision; });
  out.line("  recent revisions:");
  j["revisions"] = nlohmann::json::array();
  for (size_t i = 0; i < revisions.size() && i < kRevisionsShown; ++i) {
    const auto& r = revisions[i];
    bool is_current = current_ref && r.ref.revision == current_ref->revision;
    out.line(fmt::format("    {:<28} {}{}", r.ref.label(), r.status, is_current ? "   <- running" : ""));
    j["revisions"].push_back({{"revision", r.ref.revision}, {"status", r.status}, {"arn", r.ref.arn}, {"running", is_current}});
  }

  // The evidence a person checks before believing "2/2 running": does the API answer, and are
  // tasks failing? Each is read once; a failure to read is shown, not fatal.
  if (!env->health_url.empty()) {
    auto h = ecs::probe_health_once(env->health_url);
    out.line(fmt::format("  health   {} answered {}{}", env->health_url, h.answer, h.healthy ? "" : "   <- UNHEALTHY"));
    j["health"] = {{"url", env->health_url}, {"healthy", h.healthy}, {"answer", h.answer}};
    if (h.status) j["health"]["status"] = *h.status;
  }
  j["task_failures"] = nlohmann::json::array();
  std::vector<std::string> failures;
  for (const auto& d : svc.deployments) {
    auto stopped = gateway->stopped_tasks(env->cluster, env->service, d.id);
    if (!stopped) {
      failures.push_back("could not read the stopped tasks of " + d.id + ": " + stopped.error().message);
      continue;
    }
    for (const auto& t : *stopped) {
      if (failures.size() >= kTaskFailuresShown) break;
      failures.push_back(t.describe());
      j["task_failures"].push_back({{"task", t.arn}, {"task_definition", t.task_definition}, {"deployment", d.id},
                                    {"stop_code", t.stop_code}, {"stopped_reason", t.stopped_reason}});
    }
  }
  if (failures.empty()) {
    out.line("  failures none: no stopped tasks of the current deployments");
  } else {
    out.line("  recent task failures:");
    for (const auto& f : failures) out.line("    " + f);
  }

  out.line("  last events:");
  j["events"] = nlohmann::json::array();
  for (size_t i = 0; i < svc.events.size() && i < kEventsShown; ++i) {
    out.line(fmt::format("    {}  {}", when(svc.events[i].created_at), svc.events[i].message));
    j["events"].push_back({{"at", when(svc.events[i].created_at)}, {"message", svc.events[i].message}});
  }

  if (ctx.is_team()) {
    // Team mode: the lock is the item on DynamoDB.
    RB_TRY_ASSIGN(team::TeamStore * store, ctx.team_store());
    auto item = team::read_team_lock(*store, ctx.config().app, env->name);
    if (!item) out.warn("the team lock could not be read: " + item.error().message);
    else if (*item) out.line("  lock     held (team) by " + (*item)->describe());
    else out.line("  lock     free (team)");
    j["lock"] = !item ? "unknown" : *item ? "held" : "free";
    if (item && *item) j["lock_holder"] = (*item)->holder.to_json();
  } else {
    RB_TRY_ASSIGN(auto lock, EnvironmentLock::inspect(ctx.lock_dir(), ctx.config().app, env->name));
    if (lock.state == LockState::Held) out.line("  lock     held by " + lock.holder->describe());
    else if (lock.state == LockState::Stale) out.line("  lock     STALE, left by " + lock.holder->describe());
    else out.line("  lock     free");
    j["lock"] = lock.state == LockState::Free ? "free" : lock.state == LockState::Held ? "held" : "stale";
  }

  RB_TRY_ASSIGN(Journal * journal, ctx.journal_for_reading());
  JournalFilter f;
  f.app = ctx.config().app;
  f.env = env->name;
  f.limit = kRollbacksShown;
  RB_TRY_ASSIGN(auto entries, journal->list(f));
  out.line("  recent rollbacks:");
  if (entries.empty()) out.line("    none recorded");
  j["rollbacks"] = nlohmann::json::array();
  for (const auto& e : entries) {
    out.line(fmt::format("    {}  {:<5} {:<11} by {}  {}{}", printable_inline(e.id), printable_inline(e.layer),
                         printable_inline(e.outcome), printable_inline(e.user), printable_inline(e.started_at),
                         e.unshared ? "  (not yet shared)" : ""));
    j["rollbacks"].push_back(entry_to_json(e));
  }
  out.result(j);
  return {};
}

}  // namespace

void register_status(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<StatusOptions>();
  Subcommand sub = app.add_subcommand("status", "What runs now in an environment: deployments, revisions, events, lock, rollbacks");
  sub.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)").required();
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
