#include "aws/acm.hpp"

#include <set>

#include <fmt/format.h>

#include "util/json.hpp"

namespace rb::aws {

namespace {

// ListCertificates pages: far beyond the certificates of one account and region (ACM's default
// quota is 2500), and a bound on a server that keeps returning a NextToken.
constexpr int kMaxPages = 100;
// The statuses ListCertificates returns when asked for all (without it: only ISSUED and a few).
constexpr const char* kAllStatuses[] = {"PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED",
                                        "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"};

}  // namespace

AcmCertificate parse_acm_certificate(const nlohmann::json& c) {
  AcmCertificate out;
  out.arn = json_string(c, "CertificateArn");
  out.domain = json_string(c, "DomainName");
  out.status = json_string(c, "Status");
  out.type = json_string(c, "Type");
  out.failure_reason = json_string(c, "FailureReason");
  out.not_after = json_number(c, "NotAfter");
  out.created_at = json_number(c, "CreatedAt");
  if (!c.is_object()) return out;
  if (auto it = c.find("InUseBy"); it != c.end() && it->is_array())
    for (const auto& u : *it)
      if (u.is_string()) out.in_use_by.push_back(u.get<std::string>());
  if (auto it = c.find("DomainValidationOptions"); it != c.end() && it->is_array())
    for (const auto& v : *it) {
      AcmValidation val;
      val.domain = json_string(v, "DomainName");
      val.method = json_string(v, "ValidationMethod");
      val.status = json_string(v, "ValidationStatus");
      if (v.is_object())
        if (auto r = v.find("ResourceRecord"); r != v.end()) {
          val.record_name = json_string(*r, "Name");
          val.record_type = json_string(*r, "Type");
          val.record_value = json_string(*r, "Value");
        }
      out.validations.push_back(std::move(val));
    }
  return out;
}

Result<std::vector<AcmCertificate>> AcmClient::certificates() {
  std::vector<std::string> arns;
  std::set<std::string> tokens;
  std::string token;
  for (int page = 0;; ++page) {
    if (page == kMaxPages) return failure(fmt::format("ACM ListCertificates returned more than {} pages", kMaxPages));
    nlohmann::json input = {{"CertificateStatuses", kAllStatuses}};
    if (!token.empty()) input["NextToken"] = token;
    RB_TRY_ASSIGN(auto reply, client_.json_call(kAcmTargetPrefix, "ListCertificates", input));
    if (auto it = reply.find("CertificateSummaryList"); it != reply.end() && it->is_array())
      for (const auto& s : *it)
        if (auto arn = json_string(s, "CertificateArn"); !arn.empty()) arns.push_back(arn);
    token = json_string(reply, "NextToken");
    if (token.empty()) break;
    if (!tokens.insert(token).second) return failure("ACM ListCertificates returned the same NextToken twice");
  }
  std::vector<AcmCertificate> out;
  for (const auto& arn : arns) {
    RB_TRY_ASSIGN(auto reply, client_.json_call(kAcmTargetPrefix, "DescribeCertificate", {{"CertificateArn", arn}}));
    auto it = reply.find("Certificate");
    if (it == reply.end() || !it->is_object())
      return failure(fmt::format("ACM DescribeCertificate of {} returned no Certificate", arn),
                     "check that the ACM endpoint (AWS_ENDPOINT_URL_ACM / AWS_ENDPOINT_URL) really is ACM");
    out.push_back(parse_acm_certificate(*it));
  }
  return out;
}

}  // namespace rb::aws
