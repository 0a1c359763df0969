// A thin ACM client (JSON 1.1; botocore data/acm/2015-12-08): the certificates of a region and
// how far their validation got. Read-only.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"

namespace rb::aws {

inline constexpr std::string_view kAcmTargetPrefix = "CertificateManager";

struct AcmValidation {
  std::string domain, method, status;              // status: PENDING_VALIDATION, SUCCESS, FAILED
  std::string record_name, record_type, record_value;  // the DNS record ACM waits for (DNS validation)
};

struct AcmCertificate {
  std::string arn, domain, status, type;  // status: PENDING_VALIDATION, ISSUED, EXPIRED, FAILED, ...
  double not_after = 0, created_at = 0;   // seconds since the epoch; 0 when absent
  std::string failure_reason;
  std::vector<std::string> in_use_by;
  std::vector<AcmValidation> validations;
};

// DescribeCertificate's "Certificate" object (pure; exposed for tests). Fields of another type
// than the model's are read as absent, never thrown on.
AcmCertificate parse_acm_certificate(const nlohmann::json& certificate);

class AcmClient {
 public:
  explicit AcmClient(AwsClient client) : client_(std::move(client)) {}
  // ListCertificates over every page (all statuses), then DescribeCertificate of each.
  Result<std::vector<AcmCertificate>> certificates();

 private:
  AwsClient client_;
};

}  // namespace rb::aws
