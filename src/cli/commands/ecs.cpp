// rollback ecs: the runbook's "Method 2: Emergency ECS Rollback" in one command.
#include <fmt/format.h>

#include <regex>
#include <set>

#include "cli/checklist_flow.hpp"
#include "cli/command.hpp"
#include "cli/ecs_flow.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/rollback.hpp"
#include "ecs/verify.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {


// The duration estimate from the service's settings and its target groups'. A target group
// that cannot be read is counted with ELBv2's defaults, and the estimate says so.
ecs::DurationEstimate estimate_for(ecs::VerifyGateway& verify, const ecs::EcsPlan& plan, const EnvironmentConfig& env,
                                   bool no_verify, std::vector<std::string>& notes) {
  std::vector<ecs::TargetGroupTiming> timings;
  for (const auto& tg : plan.service.target_groups) {
    auto t = verify.target_group_timing(tg);
    if (t) timings.push_back(std::move(*t));
    else {
      notes.push_back(fmt::format("could not read target group {} ({}); the estimate assumes ELBv2's defaults", tg,
                                  t.error().message));
      timings.push_back({tg, 0, 0, std::nullopt});
    }
  }
  auto bake = no_verify ? std::chrono::milliseconds(0) : env.bake();
  return ecs::estimate_duration(ecs::estimate_input(plan.service, plan.target, timings, bake));
}

// The commit a bad image was built from, when its tag follows the configured pattern.
std::optional<std::string> commit_from_image(const std::string& image) {
  static const std::regex sha(R"((?:^|[^0-9a-f])([0-9a-f]{7,40})(?:$|[^0-9a-f]))");
  std::smatch m;
  std::string tag = ecs::image_tag(image);
  if (std::regex_search(tag, m, sha)) return m[1].str();
  return std::nullopt;
}

std::string follow_up_command(const EnvironmentConfig& env, const std::string& bad_image) {
  if (auto sha = commit_from_image(bad_image))
    return fmt::format("rollback app --env {} --commit {}{}", env.name, *sha, env.reason_hint());
  return fmt::format("rollback app --env {} --pr <PR number>{}", env.name, env.reason_hint());
}

// The runbook's "Before Rollback" items for an emergency rollback (a release checks its own).
std::vector<CheckItem> before_items(Context& ctx, const EnvironmentConfig& env, ecs::EcsGateway& gateway,
                                    ecs::VerifyGateway& verify, const ecs::EcsPlan& plan, const EcsOptions& o) {
  std::vector<CheckItem> items;
  items.push_back(issue_item(ctx, env, o.reason, &verify, &gateway, &plan.service));
  items.push_back({std::string(kItemKnowTarget), std::string(kPhaseBefore), CheckResult::Pass,
                   o.restart ? fmt::format("a restart of {} (no revision changes)", plan.current.ref.label())
                             : fmt::format("{} -> {} ({}); the bad change: {}", plan.current.ref.label(),
                                           plan.target.ref.label(), plan.choice.why,
                                           follow_up_command(env, plan.current.image_of(env.container)))});
  items.push_back(aws_access_item(ctx, env));
  items.push_back({std::string(kItemDatabasePlan), std::string(kPhaseBefore), CheckResult::Skipped,
                   "an ECS rollback changes no database (`rollback db` or `rollback release` plan one)"});
  items.push_back(team_notified_item(ctx, env));
  return items;
}

// The log group the target revision writes to (awslogs), "" when none or unreadable.
std::string log_group_of(ecs::EcsGateway& gateway, const EnvironmentConfig& env, const ecs::EcsPlan& plan) {
  auto td = gateway.describe_task_definition_json(plan.target.ref.arn);
  return td ? ecs::awslogs_group_of(*td, env.container) : std::string();
}

}  // namespace

Status run_ecs(Context& ctx, const EcsOptions& o, EcsStep* step) {
  const GlobalOptions& g = ctx.options();
  Output& out = ctx.out();
  // "Monitor logs for errors" compares the window after the rollback with the one before this command.
  const auto command_wall_start = ctx.clock().wall_now();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  // A release's step runs under the release's own reason, checked when the release began.
  if (!step) RB_TRY(reason_gate(ctx, *env, o.reason, "ecs"));
  RB_TRY_ASSIGN(auto gateway, ecs::make_aws_gateway(ctx.config(), *env, ctx.clock()));
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  ecs::PlanOptions plan_options;
  RB_TRY_ASSIGN(plan_options.known_good, ecs::known_good_revisions(*journal, ctx.config().app, *env));
  RB_TRY_ASSIGN(plan_options.journal_bad, ecs::revisions_left_by_rollbacks(*journal, ctx.config().app, *env));
  plan_options.requested = o.to_revision;
  plan_options.force = o.force;
  plan_options.protected_env = env->is_protected;
  if (o.method == "update-service") plan_options.method = ecs::Method::UpdateService;
  if (o.method == "stop-deployment") plan_options.method = ecs::Method::StopDeployment;

  auto make_plan = [&]() -> Result<ecs::EcsPlan> {
    RB_TRY_ASSIGN(auto plan, o.restart ? ecs::plan_restart(*gateway, *env) : ecs::plan_rollback(*gateway, *env, plan_options));
    // The gate's reads belong to the plan's calls too (unless --no-verify).
    if (!o.no_verify)
      for (auto& c : ecs::gate_api_calls(ecs::make_gate_plan(*env, plan.service, ecs::kHealthTimeout)))
        plan.api_calls.push_back(std::move(c));
    return plan;
  };
  RB_TRY_ASSIGN(auto verify, ecs::make_aws_verify_gateway(ctx.config(), *env, ctx.clock()));
  auto print_estimate = [&](const ecs::EcsPlan& plan) {
    std::vector<std::string> notes;
    auto estimate = estimate_for(*verify, plan, *env, o.no_verify, notes);
    for (const auto& n : notes) out.line("note: " + n);
    out.line("estimate: " + estimate.text);
    return estimate;
  };
  if (g.dry_run) {
    RB_TRY_ASSIGN(auto plan, make_plan());
    ecs::print_plan(out, plan);
    auto estimate = print_estimate(plan);
    auto checklist = before_items(ctx, *env, *gateway, *verify, plan, o);
    RB_TRY(present_checklist(ctx, "checklist before the rollback (not recorded in a dry run):", checklist));
    out.line("dry run: nothing was changed");
    auto plan_json = plan.to_json();
    plan_json["estimate"] = estimate.to_json();
    out.result({{"ok", true},
                {"dry_run", true},
                {"env", env->name},
                {"layer", "ecs"},
                {"plan", plan_json},
                {"checklist", checklist_to_json(checklist)}});
    return {};
  }

  // Plan under the lock, so nobody changes the service between our plan and our update.
  std::optional<LockHandle> own_lock;
  if (!step) {
    RB_TRY_ASSIGN(auto taken, ctx.lock(*env));
    own_lock.emplace(std::move(taken));
  }
  LockHandle& lock = step ? step->lock : *own_lock;
  RB_TRY_ASSIGN(auto plan, make_plan());
  ecs::print_plan(out, plan);
  const auto estimate = print_estimate(plan);
  std::vector<CheckItem> checklist;
  if (!step) {
    checklist = before_items(ctx, *env, *gateway, *verify, plan, o);
    RB_TRY(present_checklist(ctx, "checklist before the rollback:", checklist));
  }
  if (!step)
    RB_TRY(confirm_environment(ctx, *env,
                               o.restart ? fmt::format("restart every task of {}", env->service)
                                         : fmt::format("roll {} back to {}", env->service, plan.target.ref.label())));

  JournalEntry entry;
  entry.env = env->name;
  entry.layer = "ecs";
  entry.from = plan.current.ref.arn;
  entry.to = plan.target.ref.arn;
  entry.reason = o.reason;
  entry.details = {{"cluster", env->cluster},
                   {"service", env->service},
                   {"from_revision", plan.current.ref.revision},
                   {"to_revision", plan.target.ref.revision},
                   {"from_image", plan.current.image_of(env->container)},
                   {"to_image", plan.target.image_of(env->container)},
                   {"why", plan.choice.why},
                   {"method", std::string(ecs::method_name(plan.method))},
                   {"passed_over", plan.choice.passed_over},
                   {"restart", o.restart},
                   {"estimate_seconds", estimate.total.count()},
                   {"estimate", estimate.text}};
  if (plan.in_flight) entry.details["service_deployment"] = plan.in_flight->arn;
  if (plan.choice.known_bad_warning) entry.details["known_bad_warning"] = *plan.choice.known_bad_warning;
  if (!checklist.empty()) entry.details["checklist"] = checklist_to_json(checklist);
  if (step && step->details.is_object()) entry.details.update(step->details);
  RB_TRY_ASSIGN(auto record, RollbackRecord::begin(ctx, lock, entry));
  if (step) step->child_id = record->id();
  auto emit = [&](const std::string& m) { record->event(m); };
  out.line(fmt::format("rollback {} started", record->id()));

  if (plan.choice.known_bad_warning) emit("warning: " + *plan.choice.known_bad_warning);
  for (const auto& n : plan.notes) record->note("note: " + n);

  std::set<std::string> previous;
  for (const auto& d : plan.service.deployments) previous.insert(d.id);
  const auto command_start = ctx.clock().now();
  auto took = [&] {
    return std::chrono::duration<double>(ctx.clock().now() - command_start).count();
  };
  double started = ecs::epoch_seconds(ctx.clock().wall_now());
  // An in-flight deployment: ECS's own rollback, unless ECS refuses it (then UpdateService).
  if (plan.method != ecs::Method::UpdateService) {
    if (auto st = ecs::start_ecs_rollback(*gateway, ctx.clock(), emit, plan); !st) {
      Error e = st.take_error();
      if (e.tag != ecs::kTagEcsRefusedRollback) return record->fail(std::move(e));
      emit(fmt::format("{}; falling back to UpdateService", e.message));
      record->add_details({{"method", "update-service"}, {"fallback_from", std::string(ecs::method_name(plan.method))}});
      plan.method = ecs::Method::UpdateService;
    }
  }
  if (plan.method == ecs::Method::UpdateService) {
    if (auto st = ecs::send_update(*gateway, ctx.clock(), emit, env->cluster, env->service, plan.target.ref.arn, previous);
        !st)
      return record->fail(st.take_error());
    emit(fmt::format("UpdateService sent: {} -> {} (force new deployment)", plan.current.ref.label(),
                     plan.target.ref.label()));
  }

  std::string follow_up = follow_up_command(*env, plan.current.image_of(env->container));
  nlohmann::json result = {{"ok", true},
                           {"rollback_id", record->id()},
                           {"env", env->name},
                           {"layer", "ecs"},
                           {"plan", plan.to_json()},
                           {"follow_up", follow_up}};
  if (g.no_wait) {
    (void)record->finish("started", {{"waited", false}});
    out.line(fmt::format("not waiting (--no-wait): follow it with `rollback status --env {}`", env->name));
    result["outcome"] = "started";
    if (!step) out.result(result);
    return {};
  }

  auto waited = plan.method != ecs::Method::UpdateService
                    ? ecs::follow_ecs_rollback(*gateway, ctx.clock(), out, emit, plan, started, ctx.timeout())
                : !o.restart && ecs::is_staged_strategy(plan.service.strategy)
                    ? ecs::follow_staged_rollout(*gateway, ctx.clock(), out, emit, plan, started, ctx.timeout())
                    : ecs::wait_for_rollout(*gateway, ctx.clock(), out, emit, env->cluster, env->service,
                                                   plan.target.ref.arn, started, ctx.timeout(), &previous);
  if (!waited) {
    Error e = waited.take_error();
    if (e.code == ExitCode::Failed && !o.restart) {
      std::string next = ecs::after_failure_hint(*gateway, *env, plan, plan_options);
      e.hint = e.hint.empty() ? next : e.hint + ". " + next;
    }
    record->add_details({{"duration_seconds", took()}});
    return record->fail(std::move(e));
  }
  emit(fmt::format("{} runs {} on all {} tasks ({})", env->service, plan.target.ref.label(), waited->last.desired,
                   format_duration(waited->elapsed)));
  out.verified(fmt::format("ECS: the PRIMARY deployment of {} runs {} on all {} tasks, rollout COMPLETED, no other deployment",
                           env->service, plan.target.ref.label(), waited->last.desired));
  // The verification gate: alarms, the load balancer's view, the health URL, across the bake window.
  std::string verify_evidence;
  if (o.no_verify) {
    emit("warning: verification skipped (--no-verify): no alarm, target group or health URL was checked");
    record->checkpoint({{"verify", "skipped"}});
    result["verify"] = "skipped";
  } else {
    auto gate = ecs::make_gate_plan(*env, waited->last.target_groups.empty() ? plan.service : waited->last,
                                    ecs::health_budget(ctx.timeout(), waited->elapsed));
    if (!gate.target_groups.empty()) {
      // Which targets are the new tasks: by the private IPs of the target revision's tasks.
      if (auto tasks = gateway->running_tasks(env->cluster, env->service))
        gate.new_task_ips = ecs::task_ips_of(*tasks, plan.target.ref.arn);
      else
        emit(fmt::format("verify: could not read the service's tasks ({}); targets are judged without telling new "
                         "tasks from old ones", tasks.error().message));
    }
    record->note("started:verify " + dump_json(gate.to_json()));
    ecs::GateReport report;
    auto st = ecs::run_gate(*verify, ctx.clock(), gate, emit, &report);
    record->checkpoint({{"verify", report.to_json()}, {"duration_seconds", took()}});
    if (!st && !step) {
      checklist.push_back({std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Fail, st.error().message});
      record->add_details({{"checklist", checklist_to_json(checklist)}});
    }
    if (!st) return record->fail(st.take_error());
    record->note("done:verify");
    std::set<std::string> signals;
    for (const auto& r : report.results) signals.insert(r.signal);
    verify_evidence = fmt::format("the verification gate passed: {} signal check{} over {} ({})", report.results.size(),
                                  report.results.size() == 1 ? "" : "s", format_duration(gate.bake),
                                  signals.empty() ? std::string("no signal configured")
                                                  : join(std::vector<std::string>(signals.begin(), signals.end()), ", "));
    out.verified(fmt::format("gate: {} signal check{} passed over {}", report.results.size(),
                             report.results.size() == 1 ? "" : "s", format_duration(gate.bake)));
    result["verify"] = report.to_json();
  }
  // The rollback's own duration: the logs watched after it are the checklist's, not the rollback's.
  const double duration = took();
  if (!step) {
    // The runbook's "After Rollback" items: what the gate proved, the logs, the report.
    const auto finished = ctx.clock().wall_now();
    checklist.push_back(
        o.no_verify ? CheckItem{std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Skipped,
                                "--no-verify: no alarm, target group or health URL was checked"}
                    : CheckItem{std::string(kItemVerifyApi), std::string(kPhaseAfter), CheckResult::Pass,
                                verify_evidence});
    // A journaled step when the logs are watched, so the report shows the wait apart from the rollback.
    checklist.push_back(
        watch_logs(ctx, *env, *verify, *record, log_group_of(*gateway, *env, plan), command_wall_start, finished));
    for (auto& i : closing_items(ctx, *env, record->id())) checklist.push_back(std::move(i));
    std::vector<CheckItem> after(checklist.end() - 4, checklist.end());
    out.line("checklist after the rollback:");
    for (const auto& line : checklist_lines(after)) out.line(line);
    record->checkpoint({{"checklist", checklist_to_json(checklist)}});
    result["checklist"] = checklist_to_json(checklist);
  }
  // A restart says nothing about whether the revision is good: it is not a known-good mark.
  RB_TRY(record->finish(kOutcomeSucceeded, {{o.restart ? "restarted_task_definition" : "deployed_task_definition",
                                             plan.target.ref.arn},
                                            {"elapsed_seconds", waited->elapsed.count() / 1000.0},
                                            {"duration_seconds", duration}}));
  result["outcome"] = kOutcomeSucceeded;
  result["elapsed_seconds"] = waited->elapsed.count() / 1000.0;
  result["duration_seconds"] = duration;
  result["estimate_seconds"] = estimate.total.count();
  if (o.restart) {
    out.line(fmt::format("rollback {} succeeded: every task of {} was replaced ({})", record->id(), env->service,
                         plan.target.ref.label()));
    out.result(result);
    return {};
  }
  out.line(fmt::format("rollback {} succeeded: {} is back on {}", record->id(), env->name, plan.target.ref.label()));
  if (step) return {};  // the release's own revert step follows
  out.line("");
  out.line("Next: the bad change is still in git and the next deploy would bring it back.");
  out.line(fmt::format("Revert it too (the runbook: \"still create a revert PR\"):  {}", follow_up));
  out.result(result);
  return {};
}

void register_ecs(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<EcsOptions>();
  Subcommand sub = app.add_subcommand(
      "ecs", "Emergency rollback: point the ECS service at the last known good task definition, wait, verify");
  sub.add_option("--env,-e", opts->env, "Environment (from rollback.yaml)").required();
  auto to = sub.add_option("--to-revision", opts->to_revision, "Roll back to this revision (N, family:N or an ARN)");
  sub.add_flag("--restart", opts->restart,
                "Start new tasks of the revision that runs now (runbook scenarios 2 and 4: pick up new connections)")
      .excludes(to);
  sub.add_option("--reason", opts->reason, "Why (recorded in the journal)");
  sub.add_option("--method", opts->method,
                  "How: update-service (a new deployment of the target) or stop-deployment (ECS's own rollback of "
                  "a deployment in flight); default: stop-deployment when one is in flight, else update-service")
      .one_of({"update-service", "stop-deployment"});
  sub.add_flag("--force", opts->force,
                "Allow a known-bad --to-revision (one ECS rolled back or a rollback left) on a protected environment");
  sub.add_flag("--no-verify", opts->no_verify,
                "Skip the verification gate (alarms, target groups, health URL over the bake window); journaled "
                "as a warning");
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run_ecs(ctx, *opts); });
}

}  // namespace rb::cli
