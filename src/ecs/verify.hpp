// After ECS reports a rollback done: the verification gate (CloudWatch alarms, the load
// balancer's view of the targets, the health URL, across a bake window), and the estimate of
// how long a rollback takes, said before it starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/cloudwatch.hpp"
#include "aws/elbv2.hpp"
#include "core/config.hpp"
#include "ecs/model.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace rb::ecs {

// The error tag of a failed gate: the rollback happened, the service is not proven good.
inline constexpr std::string_view kTagVerifyFailed = "verify-failed";

// Health-check settings of one target group, as the estimate needs them.
struct TargetGroupTiming {
  std::string arn;
  int health_check_interval_seconds = 0;  // 0: unknown (the ELB default is assumed)
  int healthy_threshold = 0;              // 0: unknown
  std::optional<int> deregistration_delay_seconds;
};

// The reads the gate and the estimate make, behind an interface: the real one speaks to
// CloudWatch, ELBv2 and the health URL; unit tests substitute a fake.
class VerifyGateway {
 public:
  virtual ~VerifyGateway() = default;
  // CloudWatch DescribeAlarms for these names (absent names are not in the answer).
  virtual Result<std::vector<aws::AlarmState>> alarms(const std::vector<std::string>& names) = 0;
  // ELBv2 DescribeTargetHealth of one target group.
  virtual Result<std::vector<aws::TargetHealthInfo>> target_health(const std::string& target_group_arn) = 0;
  // ELBv2 DescribeTargetGroups + DescribeTargetGroupAttributes of one target group.
  virtual Result<TargetGroupTiming> target_group_timing(const std::string& target_group_arn) = 0;
  // One GET of `url`: the HTTP status, or an error for a connection problem.
  virtual Result<long> probe(const std::string& url) = 0;
  // CloudWatch Logs FilterLogEvents of `group` in [start_ms, end_ms] with `pattern`, up to
  // kMaxLogLinesRead messages; the bool says the limit cut the reading short. This default (for
  // fakes without logs) is an error.
  virtual Result<std::pair<std::vector<std::string>, bool>> log_messages(const std::string& group, std::int64_t start_ms,
                                                                         std::int64_t end_ms, const std::string& pattern);
};

// The most log lines "Monitor logs for errors" reads per window: enough to count a burst of
// errors and name the frequent ones, bounded so a noisy group costs a few pages at most.
inline constexpr size_t kMaxLogLinesRead = 2000;

// The CloudWatch Logs group the container `container` of a task definition (the taskDefinition
// object of DescribeTaskDefinition) sends its output to: its logConfiguration's awslogs-group
// when the driver is awslogs; "" otherwise (the first container's when `container` is not found).
std::string awslogs_group_of(const nlohmann::json& task_definition, const std::string& container);

// CloudWatch and ELBv2 through the signed, retrying AWS client (credentials, region and
// endpoints resolved like the ECS gateway's), and the health URL through libcurl.
Result<std::unique_ptr<VerifyGateway>> make_aws_verify_gateway(const Config& config, const EnvironmentConfig& env,
                                                               Clock& clock);

// What the gate checks.
struct GatePlan {
  std::chrono::milliseconds bake{0};
  std::vector<std::string> alarms;         // the service's deployment alarms, then the configured ones; no repeats
  std::vector<std::string> target_groups;  // the service's loadBalancers
  // Private IPs of the target revision's running tasks, when known: each must be a healthy
  // target of every target group by the last round, and none may be draining. Empty: targets
  // are judged without telling new tasks from old ones.
  std::set<std::string> new_task_ips;
  std::string health_url;                  // empty: no health probes
  int probes = 1;                          // rounds of checks across the bake window (1 when bake is 0)
  // How long the first health probe may keep trying for a 2xx (load balancers need a few
  // health-check intervals before they send traffic to new tasks); later probes get one try.
  std::chrono::milliseconds first_health_budget{0};
  nlohmann::json to_json() const;
};

GatePlan make_gate_plan(const EnvironmentConfig& env, const Service& service,
                        std::chrono::milliseconds first_health_budget);

// One signal's result in one round.
struct SignalResult {
  std::string signal;  // "alarms", "target group NAME", "health"
  bool ok = true;
  std::string detail;
};

struct GateReport {
  std::vector<SignalResult> results;
  nlohmann::json to_json() const;
};

using GateEmit = std::function<void(const std::string&)>;

// What the gate will read, in AWS CLI terms, for the plan's list of calls. The health URL is
// named only as "health_url" (it may carry a token).
std::vector<std::string> gate_api_calls(const GatePlan& plan);

// The private IPs of `tasks` that run `target_task_definition` (compared as family:revision).
std::set<std::string> task_ips_of(const std::vector<StoppedTask>& tasks, const std::string& target_task_definition);

// Runs the gate: `plan.probes` rounds spread evenly over the bake window (the first right away,
// the last at its end). In each round: any alarm in ALARM fails (naming it and its reason), a
// named alarm CloudWatch does not know fails; a target that is unhealthy or unavailable fails,
// and so does a target of a new task (plan.new_task_ips) that is draining; at the last round
// every target must be past its initial checks with at least one healthy, and every new task
// must be a healthy target; the health URL must answer 2xx. Each signal's result goes to `emit` as it
// comes. A failure is ExitCode::Failed tagged kTagVerifyFailed, naming the failing signal;
// `report` (when given) holds every result up to then either way.
Status run_gate(VerifyGateway& gw, Clock& clock, const GatePlan& plan, const GateEmit& emit,
                GateReport* report = nullptr);

// ---- the duration estimate ----

// Defaults of ELBv2 target groups (ELBv2 API reference, CreateTargetGroup / target group
// attributes): HealthCheckIntervalSeconds 30, HealthyThresholdCount 5,
// deregistration_delay.timeout_seconds 300. Used when a target group does not say.
inline constexpr int kElbDefaultHealthCheckIntervalSeconds = 30;
inline constexpr int kElbDefaultHealthyThreshold = 5;
inline constexpr int kElbDefaultDeregistrationDelaySeconds = 300;
// ECS's default container stopTimeout: SIGKILL 30 s after SIGTERM (task definition reference).
inline constexpr int kEcsDefaultStopTimeoutSeconds = 30;
// ECS's default maximumPercent / minimumHealthyPercent of a replica service (ECS developer
// guide, "Deployment configuration"): 200 and 100.
inline constexpr int kEcsDefaultMaximumPercent = 200;
inline constexpr int kEcsDefaultMinimumHealthyPercent = 100;
// Time for a batch of new tasks to go from PROVISIONING to RUNNING (image pull, ENI attach):
// our assumption, the lower end of the 30-60 s Fargate start times AWS's container blog posts
// quote. It is an estimate, said as one.
inline constexpr int kTaskStartSeconds = 30;

struct EstimateInput {
  int desired = 0;
  int maximum_percent = -1, minimum_healthy_percent = -1;  // -1: ECS's defaults
  std::string strategy;                                     // ROLLING (or empty), BLUE_GREEN, LINEAR, CANARY
  int service_bake_minutes = 0;                             // deploymentConfiguration.bakeTimeInMinutes
  std::vector<TargetGroupTiming> target_groups;             // none: no load balancer
  int stop_timeout_seconds = 0;                             // the target's longest stopTimeout; 0: ECS's default
  std::chrono::seconds gate_bake{0};                        // our verification bake window
};

struct DurationEstimate {
  std::chrono::seconds total{0};
  int batches = 0;
  std::vector<std::string> parts;  // "2 batches × (30 s task start + 5 × 30 s health checks)", "300 s draining", ...
  std::string text;                // "about 9 min: 2 batches × (...) + 300 s draining + ..."
  nlohmann::json to_json() const;
};

// Pure: how long a rollback deployment of a service with these settings takes, with its parts.
// Rolling: batches of (floor(desired × max%) − ceil(desired × min%)) tasks, at least one;
// staged strategies (blue/green, linear, canary) start the whole new fleet in one batch and add
// the service's bake time.
DurationEstimate estimate_duration(const EstimateInput& in);

// The input from the service, the target task definition and the target groups' settings.
EstimateInput estimate_input(const Service& service, const TaskDefinition& target,
                             const std::vector<TargetGroupTiming>& target_groups, std::chrono::milliseconds gate_bake);

}  // namespace rb::ecs
