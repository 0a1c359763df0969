// The emergency rollback: plan, send the update safely, follow the deployment to its end.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/journal.hpp"
#include "core/output.hpp"
#include "ecs/gateway.hpp"
#include "ecs/target.hpp"
#include "ecs/waiter.hpp"
#include "util/clock.hpp"

namespace rb::ecs {

struct EcsPlan {
  std::string cluster, service_name;
  Service service;
  TaskDefinition current, target;
  Target choice;
  std::string container;
  std::vector<std::string> api_calls;  // what will be sent, in AWS CLI terms
  nlohmann::json to_json() const;
};

// Revisions this service completed successfully, according to the journal (newest first).
Result<std::vector<KnownGood>> known_good_revisions(Journal& journal, const std::string& app, const EnvironmentConfig& env);

// Reads the service and the family and chooses the target. Read-only.
Result<EcsPlan> plan_rollback(EcsGateway& ecs, const EnvironmentConfig& env, const std::vector<KnownGood>& known_good,
                              const std::optional<std::string>& requested);

void print_plan(Output& out, const EcsPlan& plan);

using Emit = std::function<void(const std::string&)>;

// Sends UpdateService once. After an ambiguous failure (5xx, dropped connection) it reads the
// service before sending again, so a lost response never starts a second deployment.
Status send_update(EcsGateway& ecs, Clock& clock, const Emit& emit, const std::string& cluster,
                   const std::string& service, const std::string& target_arn, double started_at);

struct WaitResult {
  Service last;
  std::chrono::milliseconds elapsed{0};
};

// Polls until the deployment of `target_arn` succeeds (Ok), fails or times out (ExitCode::Failed),
// or the user interrupts (ExitCode::Interrupted). Progress lines go to `emit`; a live status line
// goes to `out`.
// `previous`: the service's deployment ids before the UpdateService, when known (see evaluate()).
Result<WaitResult> wait_for_rollout(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                    const std::string& cluster, const std::string& service,
                                    const std::string& target_arn, double started_at, std::chrono::milliseconds timeout,
                                    const std::set<std::string>* previous = nullptr);

// A restart: new tasks of the revision that runs now (runbook scenarios 2 and 4: "restart ECS
// tasks to pick up new connections"). Read-only.
Result<EcsPlan> plan_restart(EcsGateway& ecs, const EnvironmentConfig& env);

// Whether an image was built from `commit` according to the environment's image_tag pattern:
// "{sha}" (the default) matches a tag containing the full SHA or its first 7 characters;
// "{short_sha}" the first 7; other text in the pattern must appear around it as written.
bool image_matches_commit(const std::string& image, const std::string& pattern, const std::string& commit);

// After a revert is pushed, the team's CI builds and deploys it. Polls the service until a
// deployment appears whose image (of `container`) was built from `commit`, and returns that
// deployment's task definition ARN. Times out with ExitCode::Failed naming what runs instead.
Result<std::string> wait_for_commit_deployment(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                               const EnvironmentConfig& env, const std::string& commit,
                                               std::chrono::milliseconds timeout);

// epoch seconds of a wall clock reading.
double epoch_seconds(std::chrono::system_clock::time_point t);

}  // namespace rb::ecs
