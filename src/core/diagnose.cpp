#include "core/diagnose.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <fmt/format.h>

#include "util/json.hpp"
#include "util/strings.hpp"

namespace rb {

namespace {

constexpr const char* kScenarioBadDeploy = "Scenario 1: Bad Code Deploy";
constexpr const char* kScenarioInfra = "Scenario 2: Infrastructure Change Broke API";
constexpr const char* kScenarioRedis = "Scenario 4: Redis Configuration Issues";
constexpr const char* kScenarioSsl = "Scenario 5: SSL Certificate Issues";
constexpr double kSecondsPerDay = 86'400;
// IANA protocol number of TCP, as EC2 may give it in IpProtocol.
constexpr const char* kTcpProtocolNumber = "6";
// An IPv4 address: four octets of 0..255, 32 bits.
constexpr int kIpv4Octets = 4;
constexpr long long kMaxOctet = 255;
constexpr long long kIpv4Bits = 32;
// The colon-separated fields of a Secrets Manager secret ARN:
// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX.
constexpr size_t kSecretArnFields = 7;

bool has(const std::string& text, std::string_view what) { return to_lower(text).find(what) != std::string::npos; }

std::string with_dot(std::string s) {
  if (s.empty() || s.back() != '.') s += '.';
  return to_lower(s);
}

}  // namespace

const char* finding_level_name(FindingLevel level) {
  switch (level) {
    case FindingLevel::Critical: return "critical";
    case FindingLevel::High: return "high";
    case FindingLevel::Medium: return "medium";
    case FindingLevel::Info: return "info";
  }
  return "info";
}

nlohmann::json Finding::to_json() const {
  return {{"level", finding_level_name(level)}, {"scenario", scenario}, {"what", what}, {"fix", fix}};
}

Finding stopped_task_finding(const std::string& env, const std::string& task_definition, const std::string& stop_code,
                             const std::string& reason, int count) {
  Finding f;
  std::string times = count == 1 ? "1 task" : fmt::format("{} tasks", count);
  std::string evidence = fmt::format("{} of {} stopped: {}{}", times, task_definition, stop_code.empty() ? "" : stop_code + ": ",
                                     reason);
  if (has(reason, "secretsmanager") || has(reason, "unable to pull secrets") || has(reason, "ssm:") ||
      has(reason, "parameter store") || has(reason, "secret")) {
    f.level = FindingLevel::Critical;
    f.scenario = has(reason, "redis") ? kScenarioRedis : kScenarioInfra;
    f.what = evidence + " (the task could not fetch its secrets)";
    f.fix = fmt::format("check that the secret exists and the task execution role may read it "
                        "(secretsmanager:GetSecretValue); if an infrastructure change removed it, revert it "
                        "(`rollback infra --env {} --pr N`), then `rollback ecs --env {} --restart`",
                        env, env);
  } else if (has(reason, "cannotpullcontainer") || has(reason, "pull image") || has(reason, "image manifest")) {
    f.level = FindingLevel::Critical;
    f.scenario = kScenarioBadDeploy;
    f.what = evidence + " (the image cannot be pulled)";
    f.fix = fmt::format("go back to a revision whose image exists: `rollback ecs --env {}`", env);
  } else if (has(reason, "health check")) {
    f.level = FindingLevel::Critical;
    f.scenario = kScenarioBadDeploy;
    f.what = evidence + " (the new tasks fail their health checks)";
    f.fix = fmt::format("`rollback ecs --env {}`, then revert the change (`rollback app --env {}`)", env, env);
  } else if (has(reason, "outofmemory") || has(reason, "out of memory") || has(reason, "oom")) {
    f.level = FindingLevel::High;
    f.scenario = kScenarioBadDeploy;
    f.what = evidence + " (out of memory)";
    f.fix = fmt::format("`rollback ecs --env {}` for relief; then raise the task's memory or fix the leak", env);
  } else if (has(stop_code, "essentialcontainerexited") || has(reason, "essential container")) {
    f.level = FindingLevel::Critical;
    f.scenario = kScenarioBadDeploy;
    f.what = evidence + " (the application exits on start)";
    f.fix = fmt::format("`rollback ecs --env {}`, then revert the change (`rollback app --env {}`); the container's "
                        "logs say why it exits",
                        env, env);
  } else if (has(stop_code, "servicescheduler") || has(stop_code, "userinitiated") || has(reason, "scaling activity") ||
             has(reason, "deployment")) {
    f.level = FindingLevel::Info;
    f.scenario = kScenarioBadDeploy;
    f.what = evidence + " (stopped by a deployment or scaling, not a failure)";
    f.fix = "nothing to do";
  } else {
    f.level = FindingLevel::High;
    f.scenario = kScenarioBadDeploy;
    f.what = evidence;
    f.fix = fmt::format("`rollback status --env {}` shows the service; `rollback ecs --env {}` if the new revision is at "
                        "fault",
                        env, env);
  }
  return f;
}

std::vector<Finding> certificate_findings(const std::vector<aws::AcmCertificate>& certificates,
                                          const std::vector<aws::HostedZone>& zones,
                                          const std::vector<std::pair<std::string, std::vector<aws::RecordSet>>>& records,
                                          double now) {
  std::vector<Finding> out;
  auto records_of = [&](const std::string& zone_id) -> const std::vector<aws::RecordSet>* {
    for (const auto& [id, sets] : records)
      if (id == zone_id) return &sets;
    return nullptr;
  };
  for (const auto& c : certificates) {
    if (c.status == "PENDING_VALIDATION") {
      for (const auto& v : c.validations) {
        if (v.status == "SUCCESS") continue;
        Finding f;
        f.scenario = kScenarioSsl;
        if (v.method != "DNS" || v.record_name.empty()) {
          f.level = FindingLevel::High;
          f.what = fmt::format("certificate {} for {} waits for {} validation of {}", c.arn, c.domain,
                               v.method.empty() ? "its" : v.method, v.domain);
          f.fix = v.method == "EMAIL" ? "approve the validation e-mail sent to the domain's contacts"
                                      : "complete the validation in the ACM console";
          out.push_back(std::move(f));
          continue;
        }
        const aws::HostedZone* zone = aws::zone_for(zones, v.record_name);
        bool present = false;
        if (zone)
          if (const auto* sets = records_of(zone->id))
            for (const auto& s : *sets)
              if (with_dot(s.name) == with_dot(v.record_name) && s.type == v.record_type)
                for (const auto& value : s.values) present = present || with_dot(value) == with_dot(v.record_value);
        if (present) {
          f.level = FindingLevel::Medium;
          f.what = fmt::format("certificate {} for {} is PENDING_VALIDATION; its {} record {} is in Route 53 zone {}",
                               c.arn, c.domain, v.record_type, v.record_name, zone->name);
          f.fix = "wait: ACM validates within about 30 minutes of the record appearing (the runbook's \"may take up "
                  "to 30 minutes\")";
        } else {
          f.level = FindingLevel::Critical;
          f.what = fmt::format("certificate {} for {} is PENDING_VALIDATION and its validation record is missing: {} {} "
                               "-> {}{}",
                               c.arn, c.domain, v.record_type, v.record_name, v.record_value,
                               zone ? " (not in Route 53 zone " + zone->name + ")" : " (no Route 53 zone holds that name)");
          f.fix = zone ? fmt::format("add the record to zone {} (ACM console: \"Create records in Route 53\"), then allow "
                                     "up to 30 minutes",
                                     zone->id)
                       : "add the record at the domain's DNS provider, then allow up to 30 minutes";
        }
        out.push_back(std::move(f));
      }
    } else if (c.status == "FAILED" || c.status == "VALIDATION_TIMED_OUT" || c.status == "EXPIRED" ||
               c.status == "REVOKED") {
      Finding f;
      f.level = c.in_use_by.empty() ? FindingLevel::Medium : FindingLevel::Critical;
      f.scenario = kScenarioSsl;
      f.what = fmt::format("certificate {} for {} is {}{}{}", c.arn, c.domain, c.status,
                           c.failure_reason.empty() ? "" : " (" + c.failure_reason + ")",
                           c.in_use_by.empty() ? "" : ", in use by " + join(c.in_use_by, ", "));
      f.fix = "request a new certificate (DNS validation) and attach it to the load balancer's HTTPS listener";
      out.push_back(std::move(f));
    } else if (c.status == "ISSUED" && c.not_after > 0 && c.not_after - now < kCertificateExpiryWarningDays * kSecondsPerDay) {
      Finding f;
      f.level = c.not_after <= now ? FindingLevel::Critical : FindingLevel::High;
      f.scenario = kScenarioSsl;
      f.what = fmt::format("certificate {} for {} expires {}", c.arn, c.domain,
                           c.not_after <= now ? std::string("now: it has expired")
                                              : fmt::format("in {} days", static_cast<long long>((c.not_after - now) / kSecondsPerDay)));
      f.fix = c.type == "AMAZON_ISSUED" ? "check why managed renewal is stuck (its DNS validation record must still exist)"
                                        : "import the renewed certificate (it is not managed by ACM)";
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<std::string> task_security_groups(const nlohmann::json& network_configuration) {
  std::vector<std::string> out;
  if (!network_configuration.is_object()) return out;
  auto vpc = network_configuration.find("awsvpcConfiguration");
  if (vpc == network_configuration.end() || !vpc->is_object()) return out;
  auto groups = vpc->find("securityGroups");
  if (groups == vpc->end() || !groups->is_array()) return out;
  for (const auto& g : *groups)
    if (g.is_string() && std::find(out.begin(), out.end(), g.get<std::string>()) == out.end())
      out.push_back(g.get<std::string>());
  return out;
}

bool rule_covers_port(const aws::IpPermission& rule, int port) {
  if (rule.protocol == "-1") return true;  // all traffic: EC2 gives no ports then
  if (rule.protocol != "tcp" && rule.protocol != kTcpProtocolNumber) return false;
  return rule.from_port >= 0 && rule.to_port >= 0 && rule.from_port <= port && port <= rule.to_port;
}

bool cidr_contains(std::string_view cidr, std::string_view ip) {
  auto parse_v4 = [](std::string_view text, uint32_t& out) {
    out = 0;
    int parts = 0;
    for (auto part : split(std::string(text), '.')) {
      auto n = parse_decimal(part, 0, kMaxOctet, "octet");
      if (!n.ok()) return false;
      out = (out << 8) | static_cast<uint32_t>(*n);
      ++parts;
    }
    return parts == kIpv4Octets;
  };
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos) return false;
  auto bits = parse_decimal(cidr.substr(slash + 1), 0, kIpv4Bits, "prefix length");
  uint32_t network = 0, address = 0;
  if (!bits.ok() || !parse_v4(cidr.substr(0, slash), network) || !parse_v4(ip, address)) return false;
  uint32_t mask = *bits == 0 ? 0 : ~uint32_t{0} << (kIpv4Bits - *bits);
  return (network & mask) == (address & mask);
}

IngressVerdict ingress_allows(const std::vector<aws::SecurityGroup>& target_groups, int port,
                              const std::vector<std::string>& task_groups, const std::vector<std::string>& task_ips) {
  auto ports = [](const aws::IpPermission& r) {
    if (r.protocol == "-1") return std::string("all traffic");
    return r.from_port == r.to_port ? fmt::format("tcp {}", r.from_port) : fmt::format("tcp {}-{}", r.from_port, r.to_port);
  };
  for (const auto& g : target_groups)
    for (const auto& rule : g.ingress) {
      if (!rule_covers_port(rule, port)) continue;
      for (const auto& source : rule.source_groups)
        if (std::find(task_groups.begin(), task_groups.end(), source) != task_groups.end())
          return {true, fmt::format("{} allows {} from {}", g.id, ports(rule), source)};
      for (const auto& cidr : rule.cidrs) {
        bool covers = task_ips.empty() ||
                      std::all_of(task_ips.begin(), task_ips.end(), [&](const auto& ip) { return cidr_contains(cidr, ip); });
        if (covers) return {true, fmt::format("{} allows {} from {}", g.id, ports(rule), cidr)};
      }
    }
  return {};
}

std::optional<Finding> reachability_finding(const std::string& env, const ReachCheck& target,
                                            const std::vector<aws::SecurityGroup>& groups,
                                            const std::vector<std::string>& task_groups,
                                            const std::vector<std::string>& task_ips) {
  bool redis = target.kind == NetworkTarget::Redis;
  const char* scenario = scenario_of(target.kind);
  const char* name = redis ? "Redis" : "the database";
  std::string where = target.endpoint.empty() ? target.label : target.label + " at " + target.endpoint;
  std::string revert = fmt::format("if an infrastructure change removed the rule, revert it (`rollback infra --env {} "
                                   "--pr N`, the runbook's \"revert infrastructure change\"); then `rollback ecs --env "
                                   "{} --restart` so the tasks open new connections",
                                   env, env);
  if (target.security_groups.empty())
    return Finding{FindingLevel::High, scenario,
                   fmt::format("{} has no VPC security groups: the tasks' traffic to port {} has nothing to let it in", where,
                               target.port),
                   fmt::format("attach a security group that allows tcp {} from {}; {}", target.port,
                               task_groups.empty() ? std::string("the tasks' security group") : join(task_groups, ", "),
                               revert)};
  if (ingress_allows(groups, target.port, task_groups, task_ips).allowed) return std::nullopt;
  std::string sources = task_groups.empty() ? std::string("the tasks") : join(task_groups, ", ");
  Finding f;
  f.level = FindingLevel::Critical;
  f.scenario = scenario;
  f.what = fmt::format("the tasks cannot reach {}: no ingress rule on {} allows port {} from {} ({}{})", name,
                       join(target.security_groups, ", "), target.port, sources,
                       task_groups.empty() ? "" : "the tasks' security groups; ", where);
  f.fix = task_groups.empty()
              ? fmt::format("allow tcp {} into {} from the tasks; {}", target.port, target.security_groups.front(), revert)
              : fmt::format("allow it: `aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port {} "
                            "--source-group {}`; {}",
                            target.security_groups.front(), target.port, task_groups.front(), revert);
  return f;
}

const char* scenario_of(NetworkTarget kind) { return kind == NetworkTarget::Redis ? kScenarioRedis : kScenarioInfra; }

Finding missing_dependency_finding(const std::string& env, NetworkTarget kind, const std::string& what) {
  return {FindingLevel::Critical, scenario_of(kind), what,
          fmt::format("check the environment's {} in rollback.yaml; if an infrastructure change removed it, revert it "
                      "(`rollback infra --env {} --pr N`), then `rollback ecs --env {} --restart`",
                      kind == NetworkTarget::Redis ? "redis:" : "database:", env, env)};
}

std::optional<Finding> target_status_finding(const std::string& env, NetworkTarget kind, const std::string& label,
                                             const std::string& status) {
  if (status == "available") return std::nullopt;
  bool redis = kind == NetworkTarget::Redis;
  bool broken = status.empty() || has(status, "delet") || has(status, "fail") || has(status, "incompatible") ||
                has(status, "storage-full") || has(status, "stopped");
  Finding f;
  f.level = broken ? FindingLevel::Critical : FindingLevel::High;
  f.scenario = redis ? kScenarioRedis : kScenarioInfra;
  f.what = fmt::format("{} is {}, not available", label, status.empty() ? "of unknown status" : status);
  f.fix = broken ? fmt::format("the {} itself is broken: check it in the AWS console; if an infrastructure change did "
                               "this, revert it (`rollback infra --env {} --pr N`), then `rollback ecs --env {} --restart`",
                               redis ? "cache" : "database", env, env)
                 : fmt::format("wait until it is available again (`rollback diagnose --env {}` shows it), then "
                               "`rollback ecs --env {} --restart` if the tasks kept broken connections; an "
                               "infrastructure change in progress shows in `rollback state list --env {}`",
                               env, env, env);
  return f;
}

std::vector<SecretReference> secrets_manager_references(const nlohmann::json& task_definition) {
  std::vector<SecretReference> out;
  const nlohmann::json& td =
      task_definition.is_object() && task_definition.contains("taskDefinition") ? task_definition["taskDefinition"]
                                                                                : task_definition;
  if (!td.is_object()) return out;
  auto containers = td.find("containerDefinitions");
  if (containers == td.end() || !containers->is_array()) return out;
  for (const auto& c : *containers) {
    if (!c.is_object()) continue;
    auto secrets = c.find("secrets");
    if (secrets == c.end() || !secrets->is_array()) continue;
    for (const auto& s : *secrets) {
      std::string from = json_string(s, "valueFrom");
      auto parts = split(from, ':');
      // arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:version-stage:version-id]
      if (parts.size() < kSecretArnFields || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[5] != "secret")
        continue;
      parts.resize(kSecretArnFields);
      std::string arn = join(parts, ":");
      if (std::none_of(out.begin(), out.end(), [&](const auto& r) { return r.secret_id == arn; }))
        out.push_back({arn, "container " + json_string(c, "name")});
    }
  }
  return out;
}

std::optional<Finding> execution_role_finding(const std::string& env, const nlohmann::json& task_definition,
                                              const std::string& label) {
  const nlohmann::json& td =
      task_definition.is_object() && task_definition.contains("taskDefinition") ? task_definition["taskDefinition"]
                                                                                : task_definition;
  if (!td.is_object() || !json_string(td, "executionRoleArn").empty()) return std::nullopt;
  auto containers = td.find("containerDefinitions");
  if (containers == td.end() || !containers->is_array()) return std::nullopt;
  std::vector<std::string> users;
  for (const auto& c : *containers) {
    if (!c.is_object()) continue;
    auto secrets = c.find("secrets");
    if (secrets != c.end() && secrets->is_array() && !secrets->empty()) users.push_back(json_string(c, "name"));
  }
  if (users.empty()) return std::nullopt;
  return Finding{FindingLevel::Critical, kScenarioInfra,
                 fmt::format("task definition {} fetches secrets (container{} {}) but names no executionRoleArn: ECS "
                             "cannot fetch them, so its tasks cannot start",
                             label, users.size() == 1 ? "" : "s", join(users, ", ")),
                 fmt::format("go back to a revision that has its execution role (`rollback ecs --env {}`), or revert the "
                             "change that dropped it (`rollback infra --env {} --pr N`)",
                             env, env)};
}

std::vector<Finding> secret_findings(const std::string& env, const std::vector<SecretCheck>& secrets, double deployed_at) {
  std::vector<Finding> out;
  auto when = [](double t) {
    return iso8601(std::chrono::system_clock::time_point(std::chrono::seconds(static_cast<long long>(t))));
  };
  for (const auto& s : secrets) {
    const char* scenario = s.ref.used_by == "redis.secret" || has(s.ref.secret_id, "redis") ? kScenarioRedis : kScenarioInfra;
    std::string restart = fmt::format("`rollback ecs --env {} --restart`", env);
    if (s.missing) {
      out.push_back({FindingLevel::Critical, scenario,
                     fmt::format("secret {} (used by {}) does not exist: new tasks cannot start", s.ref.secret_id,
                                 s.ref.used_by),
                     fmt::format("restore it, or revert the infrastructure change that removed it (`rollback infra --env "
                                 "{} --pr N`); then {}",
                                 env, restart)});
    } else if (!s.found) {
      out.push_back({FindingLevel::Info, "-",
                     fmt::format("could not check secret {} (used by {}): {}", s.ref.secret_id, s.ref.used_by, s.error),
                     "allow secretsmanager:DescribeSecret on it to the identity running rollback"});
    } else if (s.description.deleted_at > 0) {
      out.push_back({FindingLevel::Critical, scenario,
                     fmt::format("secret {} (used by {}) is scheduled for deletion (DeletedDate {}): tasks that start "
                                 "now cannot fetch it",
                                 s.description.arn.empty() ? s.ref.secret_id : s.description.arn, s.ref.used_by,
                                 when(s.description.deleted_at)),
                     fmt::format("`aws secretsmanager restore-secret --secret-id {}`, then {}",
                                 s.description.arn.empty() ? s.ref.secret_id : s.description.arn, restart)});
    } else if (deployed_at > 0 && s.description.last_changed_at >= deployed_at) {
      out.push_back({FindingLevel::High, scenario,
                     fmt::format("secret {} (used by {}) changed at {}, after the current deployment started ({}): the "
                                 "running tasks still hold the value from before",
                                 s.ref.secret_id, s.ref.used_by, when(s.description.last_changed_at), when(deployed_at)),
                     fmt::format("if the change is right, {} so the tasks fetch it; if it is not, move the AWSCURRENT "
                                 "stage back to the previous version (`aws secretsmanager update-secret-version-stage`)",
                                 restart)});
    }
  }
  return out;
}

namespace {

bool command_needs_reason(const std::string& command) {
  auto words = split(command, ' ');
  if (words.size() < 2 || words[0] != "rollback") return false;
  const std::string& sub = words[1];
  if (sub == "ecs" || sub == "app" || sub == "infra" || sub == "release") return true;
  if (sub == "db") return words.size() < 3 || words[2] != "status";
  if (sub == "state") return words.size() >= 3 && words[2] == "restore";
  return false;
}

}  // namespace

std::string with_reason_in_commands(const std::string& text, const std::string& reason_hint) {
  if (reason_hint.empty()) return text;
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find('`', pos);
    size_t close = open == std::string::npos ? std::string::npos : text.find('`', open + 1);
    if (close == std::string::npos) break;
    std::string command = text.substr(open + 1, close - open - 1);
    out.append(text, pos, open + 1 - pos);
    out += command;
    if (command_needs_reason(command) && command.find("--reason") == std::string::npos) out += reason_hint;
    out += '`';
    pos = close + 1;
  }
  out.append(text, pos);
  return out;
}

void rank_findings(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return static_cast<int>(a.level) < static_cast<int>(b.level); });
}

}  // namespace rb
