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

using Emit = std::function<void(const std::string&)>;

struct WaitResult {
  Service last;
  std::chrono::milliseconds elapsed{0};
};

// How the rollback is made. UpdateService: a new deployment of the target. StopDeployment:
// StopServiceDeployment(stopType=ROLLBACK) on the deployment in flight (ECS returns to the
// source revision, whose tasks still run). ContinueRollback: ContinueServiceDeployment(action=
// ROLLBACK) on a deployment paused at a lifecycle hook.
enum class Method { UpdateService, StopDeployment, ContinueRollback };
std::string_view method_name(Method m);  // "update-service", "stop-deployment", "continue-deployment"

struct EcsPlan {
  std::string cluster, service_name;
  Service service;
  TaskDefinition current, target;
  Target choice;
  std::string container;
  Method method = Method::UpdateService;
  std::optional<ServiceDeploymentInfo> in_flight;  // the deployment StopDeployment/ContinueRollback acts on
  std::string hook_id;                             // ContinueRollback: the hook that waits
  std::vector<TaskDefinition> between;  // every revision between the current one and the target, newest first
  std::vector<std::string> notes;       // said once in the plan (fallbacks, why a method was not used)
  std::set<std::string> known_deployments;  // service deployment ARNs that existed when planning
  std::vector<std::string> api_calls;  // what will be sent, in AWS CLI terms
  nlohmann::json to_json() const;
};

// Revisions this service completed successfully, according to the journal (newest first).
Result<std::vector<KnownGood>> known_good_revisions(Journal& journal, const std::string& app, const EnvironmentConfig& env);

// Revisions that our own rollbacks left (the `from` of each successful ECS rollback that was
// not a restart), newest first: known bad.
Result<std::vector<KnownBad>> revisions_left_by_rollbacks(Journal& journal, const std::string& app,
                                                          const EnvironmentConfig& env);

struct PlanOptions {
  std::vector<KnownGood> known_good;
  std::vector<KnownBad> journal_bad;
  std::optional<std::string> requested;  // --to-revision
  std::optional<Method> method;          // --method; nullopt: chosen from the service's state
  bool force = false;                    // --force: a known-bad --to-revision on a protected environment
  bool protected_env = false;
};

// Reads the service, the family and ECS's deployment history, chooses the target and the method.
// Read-only. Refuses (ExitCode::Refused) services that ECS does not deploy itself (CODE_DEPLOY,
// EXTERNAL), naming the command that rolls them back.
Result<EcsPlan> plan_rollback(EcsGateway& ecs, const EnvironmentConfig& env, const PlanOptions& options);
Result<EcsPlan> plan_rollback(EcsGateway& ecs, const EnvironmentConfig& env, const std::vector<KnownGood>& known_good,
                              const std::optional<std::string>& requested);

// StopServiceDeployment / ContinueServiceDeployment(action=ROLLBACK) for plan.method, sent once.
// When ECS refuses it (no completed deployment to return to, the API missing, or an ambiguous
// failure after which the deployment is still in flight) the error is tagged
// kTagEcsRefusedRollback and nothing changed: the caller falls back to UpdateService.
inline constexpr std::string_view kTagEcsRefusedRollback = "ecs-refused-rollback";
Status start_ecs_rollback(EcsGateway& ecs, Clock& clock, const Emit& emit, const EcsPlan& plan);

// Follows ECS's own rollback until the service deployment is ROLLBACK_SUCCESSFUL and the PRIMARY
// (the only deployment) runs the target (Ok); ROLLBACK_FAILED, another end or the timeout is
// ExitCode::Failed. Prints each status and lifecycle stage as it changes, and new service events.
Result<WaitResult> follow_ecs_rollback(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                       const EcsPlan& plan, double started_at, std::chrono::milliseconds timeout);

// BLUE_GREEN, LINEAR and CANARY: deployments go through lifecycle stages, bake time and hooks.
bool is_staged_strategy(const std::string& strategy);

// After UpdateService on a service with a staged strategy: finds our new service deployment
// (one not in plan.known_deployments, of the target) and follows it, printing each lifecycle
// stage as it starts and a hook that waits for action; done only when the service deployment
// is SUCCESSFUL and the PRIMARY (the only deployment) runs the target.
Result<WaitResult> follow_staged_rollout(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                         const EcsPlan& plan, double started_at, std::chrono::milliseconds timeout);

// After a failed rollback: what ECS runs now and which revision the tool would try next, as a
// hint ("ECS runs connect2-api-prod:6 now; next candidate: connect2-api-prod:3 (`rollback ecs
// --env prod --to-revision 3`)").
std::string after_failure_hint(EcsGateway& ecs, const EnvironmentConfig& env, const EcsPlan& plan,
                               const PlanOptions& options);

void print_plan(Output& out, const EcsPlan& plan);


// Sends UpdateService once. After an ambiguous failure (5xx, dropped connection) it reads the
// service before sending again, so a lost response never starts a second deployment.
// `previous`: the service's deployment ids read before the first send. Our deployment is one
// of the target that is not among them; one that existed before is never ours (a restart's
// old deployment runs the same revision, so neither its revision nor its age can tell).
Status send_update(EcsGateway& ecs, Clock& clock, const Emit& emit, const std::string& cluster,
                   const std::string& service, const std::string& target_arn,
                   const std::set<std::string>& previous);


// Polls until the deployment of `target_arn` succeeds (Ok), fails or times out (ExitCode::Failed),
// or the user interrupts (ExitCode::Interrupted). Progress lines go to `emit`; a live status line
// goes to `out`.
// `previous`: the service's deployment ids before the UpdateService, when known (see evaluate()).
// `events_since` (epoch seconds, default `started_at`): service events older than this are
// history and never reported; each reported event carries its own ECS timestamp.
Result<WaitResult> wait_for_rollout(EcsGateway& ecs, Clock& clock, Output& out, const Emit& emit,
                                    const std::string& cluster, const std::string& service,
                                    const std::string& target_arn, double started_at, std::chrono::milliseconds timeout,
                                    const std::set<std::string>* previous = nullptr,
                                    std::optional<double> events_since = std::nullopt);

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
