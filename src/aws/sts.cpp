#include "aws/sts.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::aws {

namespace {

Error bad_reply(std::string_view operation, std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("STS {} returned a reply without {}", operation, what),
               "check that the STS endpoint (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL) really is STS", "bad-response"};
}

std::string text_of(const pugi::xml_node& parent, const char* name) { return trim(parent.child_value(name)); }

}  // namespace

std::string account_of_arn(std::string_view arn) {
  // arn:partition:service:region:account:resource
  auto parts = split(arn, ':');
  if (parts.size() < 6 || parts[0] != "arn") return {};
  return parts[4];
}

Result<CallerIdentity> parse_caller_identity(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("GetCallerIdentity", "valid XML");
  pugi::xml_node result = doc.select_node("//GetCallerIdentityResult").node();
  if (!result) return bad_reply("GetCallerIdentity", "a GetCallerIdentityResult");
  CallerIdentity id{text_of(result, "Account"), text_of(result, "Arn"), text_of(result, "UserId")};
  if (id.account.empty() || id.arn.empty()) return bad_reply("GetCallerIdentity", "an Account and Arn");
  return id;
}

Result<AssumedRole> parse_assume_role_response(const std::string& xml, std::string_view operation) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply(operation, "valid XML");
  pugi::xml_node creds = doc.select_node("//Credentials").node();
  if (!creds) return bad_reply(operation, "Credentials");
  AssumedRole out;
  out.credentials.access_key_id = text_of(creds, "AccessKeyId");
  out.credentials.secret_access_key = text_of(creds, "SecretAccessKey");
  out.credentials.session_token = text_of(creds, "SessionToken");
  out.credentials.expiration = text_of(creds, "Expiration");
  register_secret(out.credentials.secret_access_key);
  register_secret(out.credentials.session_token);
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty() ||
      out.credentials.session_token.empty())
    return bad_reply(operation, "an AccessKeyId, SecretAccessKey and SessionToken");
  out.credentials.expires_at = parse_iso8601(out.credentials.expiration);
  if (!out.credentials.expires_at) return bad_reply(operation, "a readable Expiration");
  out.assumed_role_arn = trim(doc.select_node("//AssumedRoleUser/Arn").node().child_value());
  out.account = account_of_arn(out.assumed_role_arn);
  out.credentials.account_id = out.account;
  return out;
}

Result<CallerIdentity> get_caller_identity(AwsClient& client) {
  RB_TRY_ASSIGN(std::string body, client.query_call("GetCallerIdentity", kStsApiVersion, {}));
  return parse_caller_identity(body);
}

Result<AssumedRole> assume_role(AwsClient& client, const AssumeRoleRequest& request) {
  QueryParams params = {{"RoleArn", request.role_arn}, {"RoleSessionName", request.role_session_name}};
  if (request.duration_seconds) params.emplace_back("DurationSeconds", std::to_string(*request.duration_seconds));
  if (!request.external_id.empty()) params.emplace_back("ExternalId", request.external_id);
  if (!request.serial_number.empty()) {
    params.emplace_back("SerialNumber", request.serial_number);
    params.emplace_back("TokenCode", request.token_code);
  }
  RB_TRY_ASSIGN(std::string body, client.query_call("AssumeRole", kStsApiVersion, params));
  return parse_assume_role_response(body, "AssumeRole");
}

Result<AssumedRole> assume_role_with_web_identity(AwsClient& client, const std::string& role_arn,
                                                  const std::string& role_session_name,
                                                  const std::string& web_identity_token,
                                                  std::optional<int> duration_seconds) {
  register_secret(web_identity_token);
  QueryParams params = {{"RoleArn", role_arn},
                        {"RoleSessionName", role_session_name},
                        {"WebIdentityToken", web_identity_token}};
  if (duration_seconds) params.emplace_back("DurationSeconds", std::to_string(*duration_seconds));
  RB_TRY_ASSIGN(std::string body, client.query_call("AssumeRoleWithWebIdentity", kStsApiVersion, params));
  return parse_assume_role_response(body, "AssumeRoleWithWebIdentity");
}

}  // namespace rb::aws
