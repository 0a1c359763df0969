// What `rollback ecs` exposes to `rollback release --ecs-first`: its options and its run as one
// step of a larger plan, under a lock the caller already holds.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/context.hpp"

namespace rb::cli {

struct EcsOptions {
  std::string env;
  std::optional<std::string> to_revision;
  std::string reason;
  bool restart = false;
  std::string method;  // "", "update-service", "stop-deployment"
  bool force = false;
  bool no_verify = false;
};

// An emergency rollback run as a release's step: the environment's lock is held by the caller
// (not taken again), the confirmation was given for the whole plan, `details` (e.g. {"parent":
// id}) go into its journal entry, and its journal id is written to `child_id` once it began.
struct EcsStep {
  LockHandle& lock;
  nlohmann::json details = nlohmann::json::object();
  std::string child_id;
};

// `rollback ecs`: plans, (unless a step) takes the lock and asks for confirmation, rolls the
// service back, waits and verifies. As a step it prints no JSON result and no follow-up.
Status run_ecs(Context& ctx, const EcsOptions& o, EcsStep* step = nullptr);

}  // namespace rb::cli
