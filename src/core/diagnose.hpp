// rollback diagnose: symptoms read from AWS turned into findings, each naming the runbook's
// scenario and the command (or console step) that fixes it. Pure: the command gathers the facts
// (cli/commands/diagnose.cpp); these functions judge them, so the judgement is unit-tested.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/acm.hpp"
#include "aws/route53.hpp"

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

// Most severe first; within a level, in the order found.
void rank_findings(std::vector<Finding>& findings);

}  // namespace rb
