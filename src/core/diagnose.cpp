#include "core/diagnose.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "util/strings.hpp"

namespace rb {

namespace {

constexpr const char* kScenarioBadDeploy = "Scenario 1: Bad Code Deploy";
constexpr const char* kScenarioInfra = "Scenario 2: Infrastructure Change Broke API";
constexpr const char* kScenarioRedis = "Scenario 4: Redis Configuration Issues";
constexpr const char* kScenarioSsl = "Scenario 5: SSL Certificate Issues";
constexpr double kSecondsPerDay = 86'400;

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

void rank_findings(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return static_cast<int>(a.level) < static_cast<int>(b.level); });
}

}  // namespace rb
