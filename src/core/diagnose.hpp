// rollback diagnose: symptoms read from AWS turned into findings, each naming the runbook's
// scenario and the command (or console step) that fixes it. Pure: the command gathers the facts
// (cli/commands/diagnose.cpp); these functions judge them, so the judgement is unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/acm.hpp"
#include "aws/ec2.hpp"
#include "aws/route53.hpp"
#include "aws/secretsmanager.hpp"

namespace rb {

enum class FindingLevel { Critical = 0, High = 1, Medium = 2, Info = 3 };

struct Finding {
  FindingLevel level = FindingLevel::Info;
  std::string scenario;  // "Scenario 5: SSL Certificate Issues" (the runbook's heading)
  std::string what;      // what was found, with the evidence
  std::string fix;       // the `rollback` command or console step
  nlohmann::json to_json() const;
};

const char* finding_level_name(FindingLevel level);

// One stopped task of the service (stop code and reason as ECS gives them), judged: secrets that
// could not be fetched (scenario 2/4: infrastructure or Redis credentials), an image that cannot
// be pulled, failed health checks or a crashing container (scenario 1: a bad deploy), ...
Finding stopped_task_finding(const std::string& env, const std::string& task_definition, const std::string& stop_code,
                             const std::string& reason, int count);

// ACM certificates judged (scenario 5): PENDING_VALIDATION (with whether each DNS validation
// record exists in the Route 53 zone it belongs to: `records` are the record sets of `zones`, by
// zone id), FAILED / VALIDATION_TIMED_OUT / EXPIRED / REVOKED, and ISSUED ones expiring within
// kCertificateExpiryWarningDays. `now` in seconds since the epoch.
inline constexpr int kCertificateExpiryWarningDays = 14;
std::vector<Finding> certificate_findings(const std::vector<aws::AcmCertificate>& certificates,
                                          const std::vector<aws::HostedZone>& zones,
                                          const std::vector<std::pair<std::string, std::vector<aws::RecordSet>>>& records,
                                          double now);

// --- Can the tasks reach Redis / the database (scenarios 4 and 2) ---

// The port Redis listens on unless configured otherwise (ElastiCache's default for Redis), used
// when a reply names no port.
inline constexpr int kRedisDefaultPort = 6379;

// The security groups of the service's tasks: networkConfiguration.awsvpcConfiguration.
// securityGroups of DescribeServices (empty when the service is not awsvpc or the JSON is odd).
std::vector<std::string> task_security_groups(const nlohmann::json& network_configuration);

// Whether an ingress rule admits TCP to `port`: protocol "-1" (all traffic, all ports), or "tcp"
// / "6" with FromPort <= port <= ToPort.
bool rule_covers_port(const aws::IpPermission& rule, int port);

// Whether `cidr` ("10.0.0.0/16", "0.0.0.0/0") contains the IPv4 address `ip`; false for IPv6
// or anything unreadable.
bool cidr_contains(std::string_view cidr, std::string_view ip);

// How (and whether) the ingress rules of `target_groups` let the tasks in on TCP `port`: by a
// group pair naming one of `task_groups`, or by a CIDR, which must contain every one of
// `task_ips` (the tasks' private IPv4 addresses) when they are known, and counts as allowing
// when they are not. Prefix-list rules are not resolved and never count. `how` names the rule:
// "sg-1 allows tcp 6379 from sg-2".
struct IngressVerdict {
  bool allowed = false;
  std::string how;
};
IngressVerdict ingress_allows(const std::vector<aws::SecurityGroup>& target_groups, int port,
                              const std::vector<std::string>& task_groups, const std::vector<std::string>& task_ips = {});

// What the tasks connect to.
enum class NetworkTarget { Redis, Database };

struct ReachCheck {
  NetworkTarget kind = NetworkTarget::Redis;
  std::string label;                         // "Redis cache cluster redis-prod"
  std::string endpoint;                      // "redis-prod.0001.use1.cache.amazonaws.com:6379" (may be empty)
  int port = 0;
  std::vector<std::string> security_groups;  // the target's VPC security groups (ids)
};

// The ingress judgement as a finding: none when some rule allows the tasks in; a critical one
// naming the target's groups, the tasks' groups and the port, with the exact
// `aws ec2 authorize-security-group-ingress` and the runbook's infrastructure revert + restart,
// when none does. `groups` are the described security groups of the target.
std::optional<Finding> reachability_finding(const std::string& env, const ReachCheck& target,
                                            const std::vector<aws::SecurityGroup>& groups,
                                            const std::vector<std::string>& task_groups,
                                            const std::vector<std::string>& task_ips = {});

// The runbook scenario a finding about `kind` belongs to: Redis is scenario 4, the database
// scenario 2.
const char* scenario_of(NetworkTarget kind);

// Something the tasks depend on that AWS says does not exist (a configured cache or instance, a
// security group it lists): critical, with the infrastructure revert and restart. `what` is the
// evidence ("Redis cache cluster c does not exist (ElastiCache ...: CacheClusterNotFound ...)").
Finding missing_dependency_finding(const std::string& env, NetworkTarget kind, const std::string& what);

// A cache cluster / replication group / DB instance whose status is not "available" (creating,
// modifying, rebooting, failed, ...): a high finding (critical when deleting, failed or
// incompatible-network); none when available.
std::optional<Finding> target_status_finding(const std::string& env, NetworkTarget kind, const std::string& label,
                                             const std::string& status);

// --- Secrets Manager (scenario 4) ---

// The Secrets Manager secrets a task definition's containers reference
// (containerDefinitions[].secrets[].valueFrom that are Secrets Manager ARNs), as the secret's
// own ARN (a JSON key, version stage or version id after it is dropped), with the container
// name; each secret once, in order. SSM parameters (other valueFrom) are not included.
struct SecretReference {
  std::string secret_id;  // the secret's ARN (or name, for redis.secret)
  std::string used_by;    // "container connect2-api", "redis.secret"
};
std::vector<SecretReference> secrets_manager_references(const nlohmann::json& task_definition);

// A task definition whose containers fetch secrets (`secrets`, from Secrets Manager or SSM) but
// that names no executionRoleArn: ECS fetches secrets with the execution role, so its tasks
// cannot start (critical). None when there are no secrets or there is a role. `label` names the
// revision ("connect2-api-prod:7"). Whether the role may read each secret is not judged here.
std::optional<Finding> execution_role_finding(const std::string& env, const nlohmann::json& task_definition,
                                              const std::string& label);

// One secret as DescribeSecret saw it: found with its description, or not found (the error
// code kSecretNotFound), or not readable (`error` says why).
struct SecretCheck {
  SecretReference ref;
  bool found = false, missing = false;
  std::string error;
  aws::SecretDescription description;
};

// Judged: missing (critical), scheduled for deletion (critical), changed at or after
// `deployed_at` (when the current deployment started; 0: unknown) (high: the running tasks
// hold the old value); none for a secret that is fine. Never the value: DescribeSecret has none.
std::vector<Finding> secret_findings(const std::string& env, const std::vector<SecretCheck>& secrets, double deployed_at);

// Most severe first; within a level, in the order found.
void rank_findings(std::vector<Finding>& findings);

// `text` with `reason_hint` (EnvironmentConfig::reason_hint(): ` --reason "…"` on a protected
// environment, else empty) added inside every quoted command (`rollback ecs ...`) that changes
// something and so needs a reason there: ecs, app, infra, release, db (not `db status`) and
// `state restore`. Read-only commands and commands that already carry --reason are left as they are.
std::string with_reason_in_commands(const std::string& text, const std::string& reason_hint);

}  // namespace rb
