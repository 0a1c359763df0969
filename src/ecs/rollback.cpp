#include "ecs/rollback.hpp"

#include <fmt/format.h>

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
          {"api_calls", api_calls}};
}

Result<std::vector<KnownGood>> known_good_revisions(Journal& journal, const std::string& app, const EnvironmentConfig& env) {
  JournalFilter f;
  f.app = app;
  f.env = env.name;
  f.outcome = kOutcomeSucceeded;
  f.limit = 200;
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

Result<EcsPlan> plan_rollback(EcsGateway& ecs, const EnvironmentConfig& env, const std::vector<KnownGood>& known_good,
                              const std::optional<std::string>& requested) {
  EcsPlan plan;
  plan.cluster = env.cluster;
  plan.service_name = env.service;
  plan.container = env.container;
  RB_TRY_ASSIGN(plan.service, ecs.describe_service(env.cluster, env.service));
  RB_TRY_ASSIGN(auto revisions, ecs.list_revisions(env.task_family));
  if (revisions.empty())
    return refusal(fmt::format("task definition family {} has no revisions", env.task_family),
                   "check task_family for this environment in rollback.yaml");
  TargetInputs in{env.task_family, plan.service, revisions, known_good, requested};
  RB_TRY_ASSIGN(plan.choice, choose_target(in));
  RB_TRY_ASSIGN(plan.current, ecs.describe_task_definition(plan.service.current_task_definition()));
  std::string target_name = plan.choice.ref.arn.empty() ? plan.choice.ref.label() : plan.choice.ref.arn;
  RB_TRY_ASSIGN(plan.target, ecs.describe_task_definition(target_name));
  if (plan.target.status != "ACTIVE")
    return refusal(fmt::format("{} is {}: ECS cannot run it", plan.target.ref.label(), plan.target.status));
  plan.api_calls = {
      fmt::format("aws ecs update-service --cluster {} --service {} --task-definition {} --force-new-deployment",
                  env.cluster, env.service, plan.target.ref.label()),
      fmt::format("aws ecs describe-services --cluster {} --services {}  (polled until the PRIMARY deployment of {} is "
                  "complete)",
                  env.cluster, env.service, plan.target.ref.label())};
  return plan;
}

Result<EcsPlan> plan_restart(EcsGateway& ecs, const EnvironmentConfig& env) {
  EcsPlan plan;
  plan.cluster = env.cluster;
  plan.service_name = env.service;
  plan.container = env.container;
  RB_TRY_ASSIGN(plan.service, ecs.describe_service(env.cluster, env.service));
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
  const Deployment* primary = p.service.primary();
  out.line(fmt::format("  now   {} deployment{}, {}/{} tasks running{}", p.service.deployments.size(),
                       p.service.deployments.size() == 1 ? "" : "s", p.service.running, p.service.desired,
                       primary && !primary->rollout_state.empty() ? ", rollout " + primary->rollout_state : ""));
  out.line("  calls:");
  for (const auto& c : p.api_calls) out.line("    " + c);
}

Status send_update(EcsGateway& ecs, Clock& clock, const Emit& emit, const std::string& cluster,
                   const std::string& service, const std::string& target_arn, double started_at) {
  for (int attempt = 1;; ++attempt) {
    auto sent = ecs.update_service(cluster, service, target_arn);
    if (sent) return {};
    Error err = sent.take_error();
    if (err.tag != aws::kTagAmbiguous || attempt >= kMaxUpdateAttempts) return err;
    emit(fmt::format("UpdateService got no clear answer ({}); reading the service before sending again", err.message));
    if (!clock.sleep_for(kAmbiguityPause)) return interrupted_error("interrupted while sending UpdateService");
    RB_TRY_ASSIGN(auto svc, ecs.describe_service(cluster, service));
    for (const auto& d : svc.deployments) {
      if (d.status == "PRIMARY" && d.created_at + 30 >= started_at) {
        auto a = parse_task_def(d.task_definition), b = parse_task_def(target_arn);
        if (a && b && a->family == b->family && a->revision == b->revision) {
          emit(fmt::format("the update did reach ECS: deployment {} of {} exists; not sending it again", d.id,
                           a->label()));
          return {};
        }
      }
    }
    emit("the update did not reach ECS; sending it again");
  }
}

Result<WaitResult> wait_for_rollout(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                    const std::string& cluster, const std::string& service,
                                    const std::string& target_arn, double started_at,
                                    std::chrono::milliseconds timeout, const std::set<std::string>* previous) {
  auto start = clock.now();
  const auto target_ref = parse_task_def(target_arn);
  const std::string target_label = target_ref ? target_ref->label() : target_arn;
  ChangeTracker tracker(started_at);
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

}  // namespace rb::ecs
