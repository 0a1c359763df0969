#include "ecs/rollback.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "aws/client.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace rb::ecs {

namespace {

// How many times UpdateService is sent when each attempt fails ambiguously (after checking
// that the previous one did not take effect).
constexpr int kMaxUpdateAttempts = 3;
// Pause before reading the service after an ambiguous failure, so a request that did reach
// ECS has time to show its deployment.
constexpr auto kAmbiguityPause = std::chrono::milliseconds(1000);

// Polling for the redeploy of a pushed revert: CI needs minutes to build, so a few seconds
// between reads costs nothing and keeps DescribeServices traffic low.
constexpr auto kRedeployPollDelay = std::chrono::milliseconds(2000);
constexpr size_t kShortShaLength = 7;

// Reads of the service that fail even after the client's retries (throttling storms) are
// tolerated this many times in a row while waiting, each followed by this pause.
constexpr int kMaxReadFailures = 10;
constexpr auto kMaxReadBackoff = std::chrono::milliseconds(3000);

// Journal entries read back for known-good and known-bad revisions: months of rollbacks.
constexpr size_t kJournalLookBack = 200;
// Revisions listed between the current one and the target: enough for any real rollback,
// bounded so that a far jump does not describe hundreds of task definitions.
constexpr size_t kMaxRevisionsShown = 20;
// Between reads of the history while waiting for our blue/green (linear, canary) service
// deployment to appear: it shows up within a second of UpdateService.
constexpr auto kInitialHistoryPoll = std::chrono::milliseconds(1000);

bool is_transient_read_error(const Error& e) {
  return aws::is_throttling_error(e.tag) || aws::is_transient_error(e.tag) || aws::is_transport_error(e) ||
         e.tag == aws::kTagAmbiguous;
}

}  // namespace

bool image_matches_commit(const std::string& image, const std::string& pattern, const std::string& commit) {
  if (commit.size() < kShortShaLength) return false;
  std::string tag = image_tag(image);
  std::string short_sha = commit.substr(0, kShortShaLength);
  auto expand = [&](const std::string& sha_value) {
    std::string out = pattern;
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"{sha}", sha_value}, {"{short_sha}", short_sha}}) {
      for (size_t pos = 0; (pos = out.find(key, pos)) != std::string::npos; pos += value.size()) out.replace(pos, key.size(), value);
    }
    return out;
  };
  if (tag.find(expand(commit)) != std::string::npos) return true;
  // "{sha}" accepts the short form too.
  return pattern.find("{sha}") != std::string::npos && tag.find(expand(short_sha)) != std::string::npos;
}

Result<std::string> wait_for_commit_deployment(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                               const EnvironmentConfig& env, const std::string& commit,
                                               std::chrono::milliseconds timeout) {
  auto start = clock.now();
  std::map<std::string, std::string> image_cache;  // task definition ARN -> image
  std::string last_seen;
  emit(fmt::format("waiting for CI to deploy {} to {} (an image whose tag matches '{}')", commit.substr(0, 12),
                   env.service, env.image_tag));
  for (;;) {
    RB_TRY_ASSIGN(auto svc, ecs.describe_service(env.cluster, env.service));
    for (const auto& d : svc.deployments) {
      auto cached = image_cache.find(d.task_definition);
      if (cached == image_cache.end()) {
        RB_TRY_ASSIGN(auto td, ecs.describe_task_definition(d.task_definition));
        cached = image_cache.emplace(d.task_definition, td.image_of(env.container)).first;
      }
      if (image_matches_commit(cached->second, env.image_tag, commit)) {
        emit(fmt::format("deployment {} runs {} ({})", d.id, cached->second,
                         parse_task_def(d.task_definition) ? parse_task_def(d.task_definition)->label() : d.task_definition));
        return d.task_definition;
      }
    }
    std::string now = svc.current_task_definition();
    if (now != last_seen) {
      last_seen = now;
      auto it = image_cache.find(now);
      emit(fmt::format("the service still runs {}{}", parse_task_def(now) ? parse_task_def(now)->label() : now,
                       it != image_cache.end() ? " (" + it->second + ")" : ""));
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    if (elapsed >= timeout)
      return failure(fmt::format("timed out after {}: no deployment of {} built from {} appeared", format_duration(timeout),
                                 env.service, commit.substr(0, 12)),
                     "check the CI pipeline of the branch; when it deploys, `rollback status` shows it");
    out.status(fmt::format("[{}] waiting for the deployment of {}", format_duration(elapsed), commit.substr(0, 12)));
    if (!clock.sleep_for(kRedeployPollDelay))
      return interrupted_error("interrupted while waiting for CI to deploy the revert (the revert is pushed)");
  }
}

double epoch_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

nlohmann::json EcsPlan::to_json() const {
  return {{"cluster", cluster},
          {"service", service_name},
          {"from", {{"task_definition", current.ref.arn}, {"revision", current.ref.revision}, {"image", current.image_of(container)}}},
          {"to", {{"task_definition", target.ref.arn}, {"revision", target.ref.revision}, {"image", target.image_of(container)}}},
          {"why", choice.why},
          {"skipped_inactive", choice.skipped_inactive},
          {"passed_over", choice.passed_over},
          {"known_bad_warning", choice.known_bad_warning ? *choice.known_bad_warning : std::string()},
          {"method", std::string(method_name(method))},
          {"service_deployment", in_flight ? in_flight->arn : std::string()},
          {"between", [&] {
             nlohmann::json out = nlohmann::json::array();
             for (const auto& td : between)
               out.push_back({{"revision", td.ref.revision}, {"status", td.status}, {"image", td.image_of(container)}});
             return out;
           }()},
          {"notes", notes},
          {"api_calls", api_calls}};
}

std::string_view method_name(Method m) {
  switch (m) {
    case Method::StopDeployment: return "stop-deployment";
    case Method::ContinueRollback: return "continue-deployment";
    case Method::UpdateService: break;
  }
  return "update-service";
}

Result<std::vector<KnownGood>> known_good_revisions(Journal& journal, const std::string& app, const EnvironmentConfig& env) {
  JournalFilter f;
  f.app = app;
  f.env = env.name;
  f.outcome = kOutcomeSucceeded;
  f.limit = kJournalLookBack;
  RB_TRY_ASSIGN(auto entries, journal.list(f));
  std::vector<KnownGood> out;
  for (const auto& e : entries) {
    const auto& d = e.details;
    if (!d.is_object() || !d.contains("deployed_task_definition") || !d["deployed_task_definition"].is_string()) continue;
    if (json_string(d, "service") != env.service || json_string(d, "cluster") != env.cluster) continue;
    auto ref = parse_task_def(d["deployed_task_definition"].get<std::string>());
    if (!ref || ref->family != env.task_family) continue;
    out.push_back({ref->revision, e.id, e.ended_at});
  }
  return out;
}

Result<std::vector<KnownBad>> revisions_left_by_rollbacks(Journal& journal, const std::string& app,
                                                          const EnvironmentConfig& env) {
  JournalFilter f;
  f.app = app;
  f.env = env.name;
  f.layer = "ecs";
  f.outcome = kOutcomeSucceeded;
  f.limit = kJournalLookBack;
  RB_TRY_ASSIGN(auto entries, journal.list(f));
  std::vector<KnownBad> out;
  for (const auto& e : entries) {
    const auto& d = e.details;
    // Journal details may come from another machine (team mode): read without throwing.
    auto restart = d.is_object() ? d.find("restart") : d.end();
    bool was_restart = restart != d.end() && restart->is_boolean() && restart->get<bool>();
    if (!d.is_object() || was_restart || !d.contains("deployed_task_definition")) continue;
    if (json_string(d, "service") != env.service || json_string(d, "cluster") != env.cluster) continue;
    auto ref = parse_task_def(e.from);
    if (!ref || ref->family != env.task_family) continue;
    out.push_back({ref->revision, e.ended_at.substr(0, 10), fmt::format("rollback {} left it", e.id)});
  }
  return out;
}

namespace {

// CODE_DEPLOY and EXTERNAL services: UpdateService cannot change their task definition; their
// own controller rolls them back.
Status refuse_foreign_controller(const Service& s, const EnvironmentConfig& env) {
  if (s.deployment_controller == "CODE_DEPLOY")
    return refusal(
        fmt::format("service {} is deployed by CodeDeploy (deploymentController CODE_DEPLOY): ECS cannot roll it "
                    "back with UpdateService, and nothing was changed",
                    env.service),
        fmt::format("roll it back in CodeDeploy: for a deployment in flight `aws deploy stop-deployment "
                    "--deployment-id <id> --auto-rollback-enabled` (find the id with `aws deploy list-deployments "
                    "--application-name AppECS-{0}-{1} --deployment-group-name DgpECS-{0}-{1} "
                    "--include-only-statuses InProgress Ready`); otherwise create a CodeDeploy deployment of the "
                    "known-good task definition",
                    env.cluster, env.service));
  if (s.deployment_controller != "ECS" && !s.deployment_controller.empty())
    return refusal(fmt::format("service {} has deploymentController {}: its task sets are managed outside ECS's "
                               "deployments, and nothing was changed",
                               env.service, s.deployment_controller),
                   fmt::format("roll it back with the tool that manages its task sets (`aws ecs "
                               "update-service-primary-task-set --cluster {} --service {} --primary-task-set "
                               "<the known-good task set>`)",
                               env.cluster, env.service));
  return {};
}

// Reading the history must never block a rollback: a missing API, or a read that fails, falls
// back to the older rules and says why.
std::optional<std::vector<ServiceDeploymentInfo>> read_history(EcsGateway& ecs, const EnvironmentConfig& env,
                                                               std::string& why_not) {
  auto h = ecs.service_deployments(env.cluster, env.service);
  if (h) return std::move(*h);
  why_not = is_unsupported_api(h.error()) ? h.error().message
                                          : fmt::format("reading it failed: {}", h.error().message);
  return std::nullopt;
}

}  // namespace

Result<EcsPlan> plan_rollback(EcsGateway& ecs, const EnvironmentConfig& env, const std::vector<KnownGood>& known_good,
                              const std::optional<std::string>& requested) {
  PlanOptions o;
  o.known_good = known_good;
  o.requested = requested;
  return plan_rollback(ecs, env, o);
}

Result<EcsPlan> plan_rollback(EcsGateway& ecs, const EnvironmentConfig& env, const PlanOptions& o) {
  EcsPlan plan;
  plan.cluster = env.cluster;
  plan.service_name = env.service;
  plan.container = env.container;
  RB_TRY_ASSIGN(plan.service, ecs.describe_service(env.cluster, env.service));
  RB_TRY(refuse_foreign_controller(plan.service, env));
  RB_TRY_ASSIGN(auto revisions, ecs.list_revisions(env.task_family));
  if (revisions.empty())
    return refusal(fmt::format("task definition family {} has no revisions", env.task_family),
                   "check task_family for this environment in rollback.yaml");
  TargetInputs in{env.task_family, plan.service, revisions, o.known_good, o.requested, std::nullopt, {}, o.journal_bad};
  in.history = read_history(ecs, env, in.history_unavailable);
  if (in.history)
    for (const auto& d : *in.history) plan.known_deployments.insert(d.arn);

  // A deployment still in flight: ECS's own rollback returns to what ran before it.
  const ServiceDeploymentInfo* flight = nullptr;
  if (in.history && !in.history->empty() && in.history->front().in_flight()) flight = &in.history->front();
  if (o.method == Method::StopDeployment || o.method == Method::ContinueRollback) {
    if (o.requested)
      return usage_error("--method stop-deployment returns the service to what ECS ran before the deployment in "
                         "flight; it cannot go to a --to-revision",
                         "drop --to-revision, or use --method update-service");
    if (!flight)
      return refusal(in.history ? "--method stop-deployment needs a service deployment in progress, and ECS's newest "
                                  "one has ended"
                                : "--method stop-deployment needs ECS's deployment history: " + in.history_unavailable,
                     "use --method update-service (the default when nothing is in flight)");
  }
  bool use_ecs_rollback = flight && !o.requested && o.method != Method::UpdateService;
  std::optional<TaskDefRef> source;
  if (use_ecs_rollback) {
    for (const auto& td : flight->source_task_definitions) {
      auto ref = parse_task_def(td);
      if (ref && ref->family == env.task_family && td != flight->target_task_definition) source = ref;
      if (source) break;
    }
    if (!source) {
      use_ecs_rollback = false;
      plan.notes.push_back("a deployment is in flight but ECS names no earlier revision of the family to return to: "
                           "using UpdateService");
    }
  }

  if (use_ecs_rollback) {
    plan.in_flight = *flight;
    const LifecycleHook* hook = flight->awaiting_hook();
    plan.method = hook ? Method::ContinueRollback : Method::StopDeployment;
    if (hook) plan.hook_id = hook->id;
    auto current = parse_task_def(plan.service.current_task_definition());
    plan.choice.ref = *source;
    plan.choice.current = current ? *current : TaskDefRef{};
    plan.choice.why = fmt::format("deployment {} is still {}{}: ECS's own rollback returns the service to {}, which "
                                  "ran before it (its tasks still run)",
                                  short_task_id(flight->arn), flight->status,
                                  hook ? fmt::format(" (paused at lifecycle hook {} in {})", hook->id,
                                                     flight->lifecycle_stage)
                                       : std::string(),
                                  source->label());
    // Known-bad revisions in between are still worth seeing.
    TargetInputs probe = in;
    probe.requested = source->arn.empty() ? source->label() : source->arn;
    if (auto t = choose_target(probe)) {
      plan.choice.passed_over = t->passed_over;
      plan.choice.skipped_inactive = t->skipped_inactive;
      plan.choice.known_bad_warning = t->known_bad_warning;
      plan.choice.ref = t->ref;
    }
  } else {
    RB_TRY_ASSIGN(plan.choice, choose_target(in));
  }
  if (!in.history) plan.notes.push_back(plan.choice.note.empty() ? "ECS's deployment history is not available" : plan.choice.note);
  if (flight && !use_ecs_rollback && !plan.in_flight && o.method == Method::UpdateService)
    plan.notes.push_back(fmt::format("deployment {} is in flight; --method update-service starts a new deployment "
                                     "instead of ECS's own rollback",
                                     short_task_id(flight->arn)));
  if (plan.choice.known_bad_warning && o.protected_env && !o.force)
    return refusal(fmt::format("{} on protected environment {}", *plan.choice.known_bad_warning, env.name),
                   "choose another revision, or pass --force if you are sure it is the right one");

  RB_TRY_ASSIGN(plan.current, ecs.describe_task_definition(plan.service.current_task_definition()));
  std::string target_name = plan.choice.ref.arn.empty() ? plan.choice.ref.label() : plan.choice.ref.arn;
  RB_TRY_ASSIGN(plan.target, ecs.describe_task_definition(target_name));
  if (plan.target.status != "ACTIVE")
    return refusal(fmt::format("{} is {}: ECS cannot run it", plan.target.ref.label(), plan.target.status));

  // Every revision between the current one and the target, with its image.
  int low = std::min(plan.current.ref.revision, plan.target.ref.revision);
  int high = std::max(plan.current.ref.revision, plan.target.ref.revision);
  for (const auto& r : revisions) {
    if (r.ref.revision <= low || r.ref.revision >= high) continue;
    if (plan.between.size() >= kMaxRevisionsShown) break;
    auto td = ecs.describe_task_definition(r.ref.arn.empty() ? r.ref.label() : r.ref.arn);
    if (td) plan.between.push_back(std::move(*td));
  }

  if (plan.method == Method::UpdateService) {
    plan.api_calls = {
        fmt::format("aws ecs update-service --cluster {} --service {} --task-definition {} --force-new-deployment",
                    env.cluster, env.service, plan.target.ref.label()),
        fmt::format("aws ecs describe-services --cluster {} --services {}  (polled until the PRIMARY deployment of {} "
                    "is complete)",
                    env.cluster, env.service, plan.target.ref.label())};
  } else if (plan.method == Method::StopDeployment) {
    plan.api_calls = {
        fmt::format("aws ecs stop-service-deployment --service-deployment-arn {} --stop-type ROLLBACK",
                    plan.in_flight->arn),
        fmt::format("aws ecs describe-service-deployments --service-deployment-arns {}  (polled until "
                    "ROLLBACK_SUCCESSFUL and the PRIMARY runs {})",
                    plan.in_flight->arn, plan.target.ref.label())};
  } else {
    plan.api_calls = {
        fmt::format("aws ecs continue-service-deployment --service-deployment-arn {} --hook-id {} --action ROLLBACK",
                    plan.in_flight->arn, plan.hook_id),
        fmt::format("aws ecs describe-service-deployments --service-deployment-arns {}  (polled until "
                    "ROLLBACK_SUCCESSFUL and the PRIMARY runs {})",
                    plan.in_flight->arn, plan.target.ref.label())};
  }
  return plan;
}

Result<EcsPlan> plan_restart(EcsGateway& ecs, const EnvironmentConfig& env) {
  EcsPlan plan;
  plan.cluster = env.cluster;
  plan.service_name = env.service;
  plan.container = env.container;
  RB_TRY_ASSIGN(plan.service, ecs.describe_service(env.cluster, env.service));
  RB_TRY(refuse_foreign_controller(plan.service, env));
  RB_TRY_ASSIGN(plan.current, ecs.describe_task_definition(plan.service.current_task_definition()));
  if (plan.current.status != "ACTIVE")
    return refusal(fmt::format("{} runs {}, which is {}: ECS cannot start new tasks of it", env.service,
                               plan.current.ref.label(), plan.current.status),
                   "roll back to an ACTIVE revision with `rollback ecs` instead");
  plan.target = plan.current;
  plan.choice.ref = plan.current.ref;
  plan.choice.current = plan.current.ref;
  plan.choice.why = "restart: new tasks of the revision that runs now, to pick up new connections and secrets";
  plan.api_calls = {
      fmt::format("aws ecs update-service --cluster {} --service {} --task-definition {} --force-new-deployment",
                  env.cluster, env.service, plan.current.ref.label()),
      fmt::format("aws ecs describe-services --cluster {} --services {}  (polled until the new deployment is complete)",
                  env.cluster, env.service)};
  return plan;
}

void print_plan(Output& out, const EcsPlan& p) {
  bool restart = p.current.ref.arn == p.target.ref.arn;
  out.line(fmt::format("{} of {} in cluster {}", restart ? "Restart" : "Emergency ECS rollback", p.service_name,
                       p.cluster));
  out.line(fmt::format("  from  {}  image {}", p.current.ref.label(), p.current.image_of(p.container)));
  out.line(fmt::format("  to    {}  image {}", p.target.ref.label(), p.target.image_of(p.container)));
  out.line(fmt::format("  why   {}", p.choice.why));
  if (!p.choice.skipped_inactive.empty()) {
    std::vector<std::string> revs;
    for (int r : p.choice.skipped_inactive) revs.push_back(std::to_string(r));
    out.line(fmt::format("  skipped INACTIVE (deregistered) revision{}: {}", revs.size() > 1 ? "s" : "", join(revs, ", ")));
  }
  for (const auto& p_over : p.choice.passed_over) out.line("  passed over  " + p_over);
  if (p.choice.known_bad_warning) out.line("  WARNING  " + *p.choice.known_bad_warning);
  if (!restart) out.line(fmt::format("  method  {}", method_name(p.method)));
  if (!p.between.empty()) {
    out.line("  between:");
    for (const auto& td : p.between)
      out.line(fmt::format("    {}  {}  image {}", td.ref.label(), td.status, td.image_of(p.container)));
  }
  if (is_staged_strategy(p.service.strategy))
    out.line(fmt::format("  strategy  {} (bake time {} min{}): followed stage by stage", p.service.strategy,
                         p.service.bake_time_minutes, p.service.alarm_names.empty() ? "" : ", deployment alarms on"));
  for (const auto& n : p.notes) out.line("  note  " + n);
  const Deployment* primary = p.service.primary();
  out.line(fmt::format("  now   {} deployment{}, {}/{} tasks running{}", p.service.deployments.size(),
                       p.service.deployments.size() == 1 ? "" : "s", p.service.running, p.service.desired,
                       primary && !primary->rollout_state.empty() ? ", rollout " + primary->rollout_state : ""));
  out.line("  calls:");
  for (const auto& c : p.api_calls) out.line("    " + c);
}

Status send_update(EcsGateway& ecs, Clock& clock, const Emit& emit, const std::string& cluster,
                   const std::string& service, const std::string& target_arn,
                   const std::set<std::string>& previous) {
  const auto target = parse_task_def(target_arn);
  for (int attempt = 1;; ++attempt) {
    auto sent = ecs.update_service(cluster, service, target_arn);
    if (sent) return {};
    Error err = sent.take_error();
    if (err.tag != aws::kTagAmbiguous) return err;
    // No clear answer: whether or not attempts are left, read the service before deciding. The
    // last attempt may well have reached ECS (R1 of docs/RELIABILITY.md found exactly that: a
    // rollback that worked, reported as failed).
    emit(fmt::format("UpdateService got no clear answer ({}); reading the service before deciding", err.message));
    if (!clock.sleep_for(kAmbiguityPause)) return interrupted_error("interrupted while sending UpdateService");
    RB_TRY_ASSIGN(auto svc, ecs.describe_service(cluster, service));
    for (const auto& d : svc.deployments) {
      if (previous.count(d.id)) continue;  // it was there before we sent anything: not ours
      auto a = parse_task_def(d.task_definition);
      if (a && target && a->family == target->family && a->revision == target->revision) {
        emit(fmt::format("the update did reach ECS: deployment {} of {} is new; not sending it again", d.id,
                         a->label()));
        return {};
      }
    }
    if (attempt >= kMaxUpdateAttempts) {
      err.message += fmt::format("; after {} attempts the service still shows no new deployment of the target", attempt);
      return err;
    }
    emit("the update did not reach ECS (no new deployment of the target); sending it again");
  }
}

Result<WaitResult> wait_for_rollout(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                    const std::string& cluster, const std::string& service,
                                    const std::string& target_arn, double started_at,
                                    std::chrono::milliseconds timeout, const std::set<std::string>* previous,
                                    std::optional<double> events_since) {
  auto start = clock.now();
  const auto target_ref = parse_task_def(target_arn);
  const std::string target_label = target_ref ? target_ref->label() : target_arn;
  ChangeTracker tracker(events_since.value_or(started_at));
  PollSchedule schedule;
  std::set<std::string> reported_tasks;
  int reported_failed = 0;
  WaitResult result;
  int read_failures = 0;
  for (;;) {
    auto read = ecs.describe_service(cluster, service);
    if (!read) {
      // The client already retried; a throttling storm or a blip must not abandon a rollback
      // that is under way in ECS. Keep polling, slower, until the timeout.
      if (!is_transient_read_error(read.error()) || ++read_failures > kMaxReadFailures) return read.take_error();
      emit(fmt::format("could not read the service ({}); still waiting", read.error().message));
      if (!clock.sleep_for(kMaxReadBackoff))
        return interrupted_error("interrupted while waiting; the deployment goes on in ECS without us");
      continue;
    }
    read_failures = 0;
    result.last = std::move(*read);
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    auto changes = tracker.update(result.last);
    for (const auto& c : changes) emit(c);
    WaitVerdict v = evaluate(result.last, target_arn, started_at, previous);

    // Tasks of the target that stopped: say why, as soon as they do.
    if (v.target_deployment && v.target_deployment->failed_tasks > reported_failed) {
      reported_failed = v.target_deployment->failed_tasks;
      auto stopped = ecs.stopped_tasks(cluster, service, v.target_deployment->id);
      if (stopped) {
        for (const auto& t : *stopped)
          if (reported_tasks.insert(t.arn).second) emit("stopped " + t.describe());
      } else {
        emit("could not read the stopped tasks: " + stopped.error().message);
      }
    }

    if (v.phase == WaitPhase::Succeeded) {
      out.clear_status();
      return result;
    }
    if (v.phase == WaitPhase::Failed) {
      out.clear_status();
      return failure(fmt::format("the rollback deployment failed: {}", v.reason),
                     "`rollback status` shows the service and its events; the stopped tasks above say why they stopped");
    }
    if (result.elapsed >= timeout) {
      out.clear_status();
      return failure(fmt::format("timed out after {} waiting for {} to run {} ({})", format_duration(timeout), service,
                                 target_label,
                                 v.summary),
                     "ECS is still working on it: follow it with `rollback status`, or wait longer with --timeout");
    }
    out.status(fmt::format("[{}] {}", format_duration(result.elapsed), v.summary));
    bool nearly_done = v.target_deployment && v.target_deployment->desired > 0 &&
                       v.target_deployment->running >= v.target_deployment->desired;
    auto delay = schedule.next(!changes.empty(), nearly_done);
    if (!clock.sleep_for(delay))
      return interrupted_error(fmt::format(
          "interrupted while waiting; the deployment of {} goes on in ECS without us (check `rollback status`)",
          target_label));
  }
}

Status start_ecs_rollback(EcsGateway& ecs, Clock& clock, const Emit& emit, const EcsPlan& plan) {
  const ServiceDeploymentInfo& flight = *plan.in_flight;
  const bool resume = plan.method == Method::ContinueRollback;
  const std::string call = resume ? "ContinueServiceDeployment(action=ROLLBACK)" : "StopServiceDeployment(stopType=ROLLBACK)";
  const std::string id = short_task_id(flight.arn);
  auto sent = resume ? ecs.continue_service_deployment(flight.arn, plan.hook_id, "ROLLBACK")
                     : ecs.stop_service_deployment(flight.arn);
  if (!sent) {
    Error e = sent.take_error();
    bool took_effect = false;
    if (e.tag == aws::kTagAmbiguous) {
      // The answer was lost: did ECS start rolling back? Read before anything else.
      emit(fmt::format("{} got no clear answer ({}); reading the deployment", call, e.message));
      if (!clock.sleep_for(kAmbiguityPause)) return interrupted_error("interrupted while sending " + call);
      RB_TRY_ASSIGN(auto now, ecs.describe_service_deployment(flight.arn));
      took_effect = now.rolled_back();
      if (!took_effect)
        return Error{ExitCode::Failed, fmt::format("{} did not reach ECS ({}): deployment {} is still {}", call,
                                                   e.message, id, now.status),
                     {}, std::string(kTagEcsRefusedRollback)};
    } else if (is_unsupported_api(e) || e.tag == "ClientException" || e.tag == "InvalidParameterException" ||
               e.tag == "UnsupportedFeatureException" || e.tag == "ServiceDeploymentNotFoundException") {
      return Error{ExitCode::Failed, fmt::format("ECS refused {} on deployment {}: {}", call, id, e.message), e.hint,
                   std::string(kTagEcsRefusedRollback)};
    } else {
      return e;
    }
  }
  emit(fmt::format("{} sent for deployment {}: ECS returns {} to {}", call, id, plan.service_name,
                   plan.target.ref.label()));
  return {};
}

namespace {

// A service deployment's lifecycle stages in the order ECS goes through them (botocore's
// ServiceDeploymentLifecycleStage).
constexpr std::string_view kLifecycleStages[] = {
    "RECONCILE_SERVICE",        "PRE_SCALE_UP",          "SCALE_UP",      "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",       "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",        "CLEAN_UP"};

// Follows one service deployment to `success_status` with the PRIMARY (the only deployment)
// on the target. Prints status and lifecycle stage changes, a hook that waits for action, and
// new service events.
Result<WaitResult> follow_service_deployment(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                             const std::string& cluster, const std::string& service,
                                             const std::string& arn, const TaskDefRef& target,
                                             std::string_view success_status, double started_at,
                                             std::chrono::milliseconds timeout) {
  const std::string id = short_task_id(arn);
  const bool rollback = success_status == "ROLLBACK_SUCCESSFUL";
  auto start = clock.now();
  const std::string target_label = target.label();
  ChangeTracker tracker(started_at);
  PollSchedule schedule;
  std::string last_status, last_stage;
  std::set<std::string> reported_hooks;
  WaitResult result;
  int read_failures = 0;
  for (;;) {
    auto sd = ecs.describe_service_deployment(arn);
    auto svc = sd ? ecs.describe_service(cluster, service) : Result<Service>(sd.error());
    if (!svc) {
      Error e = svc.take_error();
      if (!is_transient_read_error(e) || ++read_failures > kMaxReadFailures) return e;
      emit(fmt::format("could not read the deployment ({}); still waiting", e.message));
      if (!clock.sleep_for(kMaxReadBackoff))
        return interrupted_error("interrupted while waiting; the deployment goes on in ECS without us");
      continue;
    }
    read_failures = 0;
    result.last = std::move(*svc);
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    auto changes = tracker.update(result.last);
    if (sd->status != last_status) {
      changes.push_back(fmt::format("service deployment {}: {}", id, sd->status));
      last_status = sd->status;
    }
    if (!sd->lifecycle_stage.empty() && sd->lifecycle_stage != last_stage) {
      // Stages shorter than a poll are not seen: name the ones passed in between, in ECS's order.
      auto index = [](const std::string& stage) {
        auto it = std::find(std::begin(kLifecycleStages), std::end(kLifecycleStages), stage);
        return it == std::end(kLifecycleStages) ? -1 : static_cast<int>(it - std::begin(kLifecycleStages));
      };
      int from = index(last_stage), to = index(sd->lifecycle_stage);
      if (from >= 0 && to > from + 1)
        for (int i = from + 1; i < to; ++i) changes.push_back(fmt::format("stage {} started", kLifecycleStages[i]));
      changes.push_back(fmt::format("stage {} started", sd->lifecycle_stage));
      last_stage = sd->lifecycle_stage;
    }
    if (const LifecycleHook* hook = sd->awaiting_hook(); hook && reported_hooks.insert(hook->id).second)
      changes.push_back(fmt::format("lifecycle hook {} waits for action in {}: `aws ecs continue-service-deployment "
                                    "--service-deployment-arn {} --hook-id {} --action CONTINUE` (or ROLLBACK)",
                                    hook->id, sd->lifecycle_stage, arn, hook->id));
    for (const auto& c : changes) emit(c);

    const Deployment* primary = result.last.primary();
    auto primary_ref = primary ? parse_task_def(primary->task_definition) : std::nullopt;
    bool on_target = primary_ref && primary_ref->family == target.family && primary_ref->revision == target.revision;
    if (sd->status == success_status && on_target && result.last.deployments.size() == 1) {
      out.clear_status();
      return result;
    }
    bool ended = sd->status == "ROLLBACK_FAILED" || sd->status == "STOPPED" ||
                 (rollback ? sd->status == "SUCCESSFUL" : sd->rolled_back());
    if (ended) {
      out.clear_status();
      std::string why = sd->status_reason.empty() ? sd->failure_words() : sd->status_reason;
      return failure(fmt::format("{} of deployment {} ended {}{}", rollback ? "ECS's rollback" : "the rollback",
                                 id, sd->status, why.empty() ? "" : ": " + why),
                     "`rollback status` shows the service and its events");
    }
    if (result.elapsed >= timeout) {
      out.clear_status();
      return failure(fmt::format("timed out after {} waiting for deployment {} of {} to {} ({}{})",
                                 format_duration(timeout), id, target_label, success_status, sd->status,
                                 sd->lifecycle_stage.empty() ? "" : ", stage " + sd->lifecycle_stage),
                     "ECS is still working on it: follow it with `rollback status`, or wait longer with --timeout");
    }
    out.status(fmt::format("[{}] {}{}; PRIMARY {}", format_duration(result.elapsed), sd->status,
                           sd->lifecycle_stage.empty() ? "" : " (" + sd->lifecycle_stage + ")",
                           primary ? deployment_summary(*primary) : "none"));
    if (!clock.sleep_for(schedule.next(!changes.empty(), sd->status == success_status)))
      return interrupted_error(fmt::format(
          "interrupted while waiting; the deployment of {} goes on in ECS without us (check `rollback status`)",
          target_label));
  }
}

}  // namespace

Result<WaitResult> follow_ecs_rollback(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                       const EcsPlan& plan, double started_at, std::chrono::milliseconds timeout) {
  return follow_service_deployment(ecs, clock, out, emit, plan.cluster, plan.service_name, plan.in_flight->arn,
                                   plan.target.ref, "ROLLBACK_SUCCESSFUL", started_at, timeout);
}

bool is_staged_strategy(const std::string& strategy) {
  return strategy == "BLUE_GREEN" || strategy == "LINEAR" || strategy == "CANARY";
}

Result<WaitResult> follow_staged_rollout(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                         const EcsPlan& plan, double started_at, std::chrono::milliseconds timeout) {
  auto start = clock.now();
  // Our service deployment: the first one of the target that was not in the history before.
  for (;;) {
    auto history = ecs.service_deployments(plan.cluster, plan.service_name);
    if (!history) {
      if (is_unsupported_api(history.error()) || !is_transient_read_error(history.error()))
        return history.take_error();
    } else {
      for (auto it = history->rbegin(); it != history->rend(); ++it) {
        auto ref = parse_task_def(it->target_task_definition);
        if (plan.known_deployments.count(it->arn) || !ref || ref->revision != plan.target.ref.revision ||
            ref->family != plan.target.ref.family)
          continue;
        emit(fmt::format("{} deployment {} of {} started", plan.service.strategy, short_task_id(it->arn),
                         plan.target.ref.label()));
        auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
        auto r = follow_service_deployment(ecs, clock, out, emit, plan.cluster, plan.service_name, it->arn,
                                           plan.target.ref, "SUCCESSFUL", started_at,
                                           timeout > spent ? timeout - spent : std::chrono::milliseconds(0));
        if (r) r->elapsed += spent;
        return r;
      }
    }
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    if (spent >= timeout)
      return failure(fmt::format("timed out after {}: ECS shows no service deployment of {}", format_duration(timeout),
                                 plan.target.ref.label()),
                     "`rollback status` shows the service and its events");
    if (!clock.sleep_for(kInitialHistoryPoll))
      return interrupted_error("interrupted while waiting for the service deployment to appear");
  }
}

std::string after_failure_hint(EcsGateway& ecs, const EnvironmentConfig& env, const EcsPlan& plan,
                               const PlanOptions& options) {
  std::string now = "an unknown revision (the service could not be read)";
  if (auto svc = ecs.describe_service(env.cluster, env.service)) {
    auto ref = parse_task_def(svc->current_task_definition());
    now = ref ? ref->label() : svc->current_task_definition();
  }
  PlanOptions next = options;
  next.requested.reset();
  next.method = Method::UpdateService;
  next.journal_bad.push_back({plan.target.ref.revision, "today", "this rollback to it failed"});
  auto again = plan_rollback(ecs, env, next);
  if (!again)
    return fmt::format("ECS runs {} now; no other revision to try: {}", now, again.error().message);
  return fmt::format("ECS runs {} now; the next candidate is {} ({}): `rollback ecs --env {} --to-revision {}{}`",
                     now, again->target.ref.label(), again->choice.why, env.name, again->target.ref.revision,
                     env.reason_hint());
}

}  // namespace rb::ecs
