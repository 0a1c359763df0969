// Waiting for a deployment: a pure state machine fed with DescribeServices snapshots.
//
// Unlike `aws ecs wait services-stable` (one deployment and runningCount == desiredCount,
// never looking at rolloutState), success here means the PRIMARY deployment runs the target.
// A deployment the circuit breaker rolled back also ends "stable", but is a failure here.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ecs/model.hpp"

namespace rb::ecs {

enum class WaitPhase { InProgress, Succeeded, Failed };

struct WaitVerdict {
  WaitPhase phase = WaitPhase::InProgress;
  std::string summary;  // "2/2 running, 0 pending, 0 failed, rollout COMPLETED"
  std::string reason;   // why it failed (empty otherwise)
  const Deployment* target_deployment = nullptr;
};

// The number of failed tasks at which ECS's circuit breaker gives up on a deployment:
// max(3, min(200, ceil(0.5 x desired))) (DOMAIN.md §1, AWS ECS circuit breaker docs).
int circuit_breaker_threshold(int desired);

// `target_arn` is the task definition rolled back to; `started_at` (epoch seconds) is when the
// UpdateService was sent, so a deployment of the target that predates it is not mistaken for ours.
// `previous` (when given) lists the deployment ids that existed before the UpdateService: ours
// is a new one, and success needs the PRIMARY to be ours. That is what tells a restart (a new
// deployment of the revision already running) from the old deployment it replaces.
WaitVerdict evaluate(const Service& s, const std::string& target_arn, double started_at,
                     const std::set<std::string>* previous = nullptr);

// "2026-11-30T03:52:10Z" for an ECS timestamp (epoch seconds).
std::string event_time(double epoch);

// Reports what changed between snapshots: new service events (oldest first, each with its own
// ECS timestamp, "event at 2026-11-30T03:52:10Z: ...") and deployment changes.
class ChangeTracker {
 public:
  // Events created before `since` (epoch seconds), or without a timestamp, are history, not news.
  explicit ChangeTracker(double since) : since_(since) {}
  std::vector<std::string> update(const Service& s);

 private:
  double since_;
  std::set<std::string> seen_events_;
  std::map<std::string, std::string> deployments_;  // id -> last summary
};

// Poll delay: about 1 s at first so the end of a deployment is seen within a second, backing
// off to kMaxPollDelay on long deployments while nothing moves; back to 1 s whenever
// something changes, and kept at 1 s once the target's tasks all run (only the old
// deployment's draining is left, and the end should be seen within a second).
class PollSchedule {
 public:
  std::chrono::milliseconds next(bool something_changed, bool nearly_done = false);

 private:
  std::chrono::milliseconds current_{0};
  int quiet_polls_ = 0;
};

std::string deployment_summary(const Deployment& d);

}  // namespace rb::ecs
