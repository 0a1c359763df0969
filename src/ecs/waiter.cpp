#include "ecs/waiter.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "util/strings.hpp"

namespace rb::ecs {

namespace {

// Polling: 1 s at first; after kQuietPollsBeforeBackoff polls with no change, grow by 1.5x up to
// kMaxPollDelay. ecspresso waits with the 15 s AWS waiter and fabfuel polls every 1 s (and hit
// "Rate exceeded" in parallel deploys): 1-3 s keeps us close to the moment ECS is steady
// while staying far under DescribeServices' throttling limits.
constexpr auto kInitialPollDelay = std::chrono::milliseconds(1000);
constexpr auto kMaxPollDelay = std::chrono::milliseconds(3000);
constexpr int kQuietPollsBeforeBackoff = 10;
// A deployment of the target created slightly before our UpdateService (clock skew between
// this machine and AWS) is still ours.
constexpr double kClockSkewSeconds = 30;

bool same_task_definition(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto pa = parse_task_def(a), pb = parse_task_def(b);
  return pa && pb && pa->family == pb->family && pa->revision == pb->revision;
}

}  // namespace

std::string event_time(double epoch) {
  auto t = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(epoch)));
  return iso8601(t);
}

int circuit_breaker_threshold(int desired) {
  int half = static_cast<int>(std::ceil(0.5 * desired));
  return std::max(3, std::min(200, half));
}

std::string deployment_summary(const Deployment& d) {
  std::string out = fmt::format("{}/{} running, {} pending, {} failed", d.running, d.desired, d.pending, d.failed_tasks);
  if (!d.rollout_state.empty()) out += ", rollout " + d.rollout_state;
  return out;
}

WaitVerdict evaluate(const Service& s, const std::string& target_arn, double started_at,
                     const std::set<std::string>* previous) {
  WaitVerdict v;
  const Deployment* primary = s.primary();
  const Deployment* ours = nullptr;
  for (const auto& d : s.deployments) {
    bool new_enough = previous ? previous->count(d.id) == 0 : d.created_at + kClockSkewSeconds >= started_at;
    // With `previous`, ours is the first new deployment: a later one of the same revision is
    // ECS's circuit-breaker rollback (or someone else), not what we started.
    bool better = !ours || (previous ? d.created_at < ours->created_at : d.created_at > ours->created_at);
    if (same_task_definition(d.task_definition, target_arn) && new_enough && better) ours = &d;
  }
  v.target_deployment = ours;

  if (s.status == "DRAINING" || s.status == "INACTIVE") {
    v.phase = WaitPhase::Failed;
    v.reason = fmt::format("the service is {}", s.status);
    return v;
  }
  if (ours) {
    v.summary = deployment_summary(*ours);
    if (ours->rollout_state == "FAILED") {
      v.phase = WaitPhase::Failed;
      v.reason = ours->rollout_state_reason.empty() ? "the deployment failed (rolloutState FAILED)"
                                                    : ours->rollout_state_reason;
      return v;
    }
    if (ours->failed_tasks >= circuit_breaker_threshold(ours->desired)) {
      v.phase = WaitPhase::Failed;
      v.reason = fmt::format("{} tasks of the target failed to start or stopped (the circuit breaker limit for {} "
                             "desired tasks is {})",
                             ours->failed_tasks, ours->desired, circuit_breaker_threshold(ours->desired));
      return v;
    }
  }
  if (!primary) {
    v.summary = "no PRIMARY deployment";
    return v;
  }
  if (previous && primary != ours) {
    // A restart: until our new deployment is PRIMARY, the old one (same revision) is not success.
    if (previous->count(primary->id) == 0 && !same_task_definition(primary->task_definition, target_arn)) {
      v.phase = WaitPhase::Failed;
      v.reason = fmt::format("ECS moved the service away from the target: the PRIMARY deployment {} now runs {}",
                             primary->id, primary->task_definition);
      return v;
    }
    if (ours && ours->status != "PRIMARY") {
      v.phase = WaitPhase::Failed;
      v.reason = fmt::format("our deployment {} is no longer PRIMARY (ECS rolled back)", ours->id);
      return v;
    }
    v.summary = "waiting for the new deployment to appear";
    return v;
  }
  if (!same_task_definition(primary->task_definition, target_arn)) {
    // Our deployment was replaced: the circuit breaker rolled back, or someone deployed over us.
    if (ours || primary->created_at + kClockSkewSeconds >= started_at) {
      v.phase = WaitPhase::Failed;
      auto ref = parse_task_def(primary->task_definition);
      v.reason = fmt::format("ECS moved the service away from the target: the PRIMARY deployment {} now runs {}{}",
                             primary->id, ref ? ref->label() : primary->task_definition,
                             s.circuit_breaker_rollback ? " (the deployment circuit breaker rolled back)" : "");
      return v;
    }
    v.summary = "waiting for the new deployment to appear";
    return v;
  }
  v.summary = deployment_summary(*primary);
  bool rollout_done = primary->rollout_state.empty() || primary->rollout_state == "COMPLETED";
  if (s.deployments.size() == 1 && primary->running == primary->desired && rollout_done &&
      s.running == s.desired) {
    v.phase = WaitPhase::Succeeded;
  }
  return v;
}

std::vector<std::string> ChangeTracker::update(const Service& s) {
  std::vector<std::string> out;
  // Events arrive newest first; report the new ones oldest first.
  for (auto it = s.events.rbegin(); it != s.events.rend(); ++it) {
    if (!seen_events_.insert(it->id.empty() ? it->message : it->id).second) continue;
    // Older than the command, or of unknown age: history, not news.
    if (it->created_at == 0 || it->created_at < since_) continue;
    out.push_back(fmt::format("event at {}: {}", event_time(it->created_at), it->message));
  }
  std::map<std::string, std::string> now;
  for (const auto& d : s.deployments) {
    auto ref = parse_task_def(d.task_definition);
    std::string summary = fmt::format("deployment {} ({}, {}): {}", d.id, d.status,
                                      ref ? ref->label() : d.task_definition, deployment_summary(d));
    now[d.id] = summary;
    auto old = deployments_.find(d.id);
    if (old == deployments_.end() || old->second != summary) out.push_back(summary);
  }
  for (const auto& [id, summary] : deployments_)
    if (!now.count(id)) out.push_back(fmt::format("deployment {} is gone", id));
  deployments_ = std::move(now);
  return out;
}

std::chrono::milliseconds PollSchedule::next(bool something_changed, bool nearly_done) {
  if (current_.count() == 0 || something_changed || nearly_done) {
    quiet_polls_ = 0;
    current_ = kInitialPollDelay;
    return current_;
  }
  if (++quiet_polls_ > kQuietPollsBeforeBackoff)
    current_ = std::min<std::chrono::milliseconds>(kMaxPollDelay, std::chrono::milliseconds(current_.count() * 3 / 2));
  return current_;
}

}  // namespace rb::ecs
