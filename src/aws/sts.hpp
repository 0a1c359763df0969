// AWS STS (Security Token Service), Query protocol: who the credentials belong to, and the
// two ways of getting temporary credentials this tool uses to sign in (AssumeRole,
// AssumeRoleWithWebIdentity). Returned secrets are registered with rb::register_secret().
#pragma once

#include <optional>
#include <string>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "util/result.hpp"

namespace rb::aws {

// The Query API version every STS action is sent with.
inline constexpr std::string_view kStsApiVersion = "2011-06-15";

struct CallerIdentity {
  std::string account;
  std::string arn;
  std::string user_id;
};

// sts:GetCallerIdentity, which needs no permission: the account, ARN and user id behind the
// client's credentials.
Result<CallerIdentity> get_caller_identity(AwsClient& client);

struct AssumeRoleRequest {
  std::string role_arn{};
  std::string role_session_name{};
  std::string external_id{};     // empty: not sent
  std::string serial_number{};   // MFA device; empty: not sent
  std::string token_code{};      // the MFA code, with serial_number
  std::optional<int> duration_seconds{};
};

// Temporary credentials from STS, with the role session they belong to.
struct AssumedRole {
  Credentials credentials{};     // expiration/expires_at set; source left for the caller
  std::string assumed_role_arn{};  // arn:aws:sts::123456789012:assumed-role/Role/session
  std::string account{};           // from that ARN
};

// sts:AssumeRole, signed with the client's (source) credentials.
Result<AssumedRole> assume_role(AwsClient& client, const AssumeRoleRequest& request);

// sts:AssumeRoleWithWebIdentity. The request carries the OIDC token and is sent unsigned: give
// a client whose config has `anonymous = true`.
Result<AssumedRole> assume_role_with_web_identity(AwsClient& client, const std::string& role_arn,
                                                  const std::string& role_session_name,
                                                  const std::string& web_identity_token,
                                                  std::optional<int> duration_seconds = {});

// The XML replies, parsed (exposed for tests).
Result<CallerIdentity> parse_caller_identity(const std::string& xml);
Result<AssumedRole> parse_assume_role_response(const std::string& xml, std::string_view operation);

// The account of an ARN ("arn:aws:iam::123456789012:role/x" -> "123456789012"); "" if none.
std::string account_of_arn(std::string_view arn);

}  // namespace rb::aws
