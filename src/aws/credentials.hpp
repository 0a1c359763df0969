// AWS credentials and region, resolved the way the AWS CLI (botocore) does: environment
// variables, assume-role profiles, web identity (OIDC), IAM Identity Center (SSO), the shared
// credentials and config files, credential_process, the ECS/EKS container endpoint and EC2
// instance metadata (IMDSv2). Every secret loaded is registered with rb::register_secret().
#pragma once

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/strings.hpp"

namespace rb::aws {

struct Credentials {
  std::string access_key_id{};
  std::string secret_access_key{};
  std::string session_token{};  // empty when the credentials are long-term keys
  // Where they came from, for messages: "environment", "profile prod (~/.aws/credentials)",
  // "credential_process (profile prod)".
  std::string source{};
  std::string expiration{};  // ISO-8601 when the credentials are temporary, else empty
  std::optional<std::time_t> expires_at{};  // `expiration` parsed
  std::string account_id{};  // when the source says which account (SSO, assume-role), else empty
  // Fetches fresh credentials (set for temporary ones: assume-role, web identity, SSO,
  // container, instance metadata, credential_process with an Expiration). The AWS client
  // calls it before signing once the expiry is within kAdvisoryRefreshWindow.
  std::function<Result<Credentials>()> refresh{};
};

// botocore's RefreshableCredentials windows (credentials.py _DEFAULT_ADVISORY_REFRESH_TIMEOUT,
// _DEFAULT_MANDATORY_REFRESH_TIMEOUT): inside 15 minutes of expiry a refresh is tried and a
// failure tolerated; inside 10 minutes it must succeed.
inline constexpr std::chrono::minutes kAdvisoryRefreshWindow{15};
inline constexpr std::chrono::minutes kMandatoryRefreshWindow{10};

enum class RefreshNeed { None, Advisory, Mandatory };
// Whether credentials expiring at c.expires_at need a refresh at `now` (None without an expiry).
RefreshNeed refresh_need(const Credentials& c, std::time_t now);

// Which profile is used: the explicit one (rollback.yaml's aws_profile), else AWS_PROFILE,
// else AWS_DEFAULT_PROFILE, else "default".
std::string resolve_profile_name(std::string_view explicit_profile = {});

// Credentials in the AWS CLI's order (botocore create_credential_resolver):
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) — skipped when a profile
//      is given explicitly, as `aws --profile` does (AWS_PROFILE alone does not skip them);
//   2. assume-role: the profile's role_arn with source_profile (chains, cycles refused) or
//      credential_source (Environment, EcsContainer, Ec2InstanceMetadata); external_id,
//      role_session_name, duration_seconds, mfa_serial (the code is asked on the terminal);
//      results cached in ~/.aws/cli/cache like the AWS CLI's;
//   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), or the
//      profile's web_identity_token_file + role_arn; sts:AssumeRoleWithWebIdentity, unsigned;
//   4. IAM Identity Center: sso_session or legacy sso_start_url profiles, with the token that
//      `aws sso login` left in ~/.aws/sso/cache (missing/expired: exit 5 with the login command);
//   5. the profile's keys in the credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials);
//   6. the profile's credential_process (either file), run by argument vector;
//   7. the profile's keys in the config file (AWS_CONFIG_FILE, ~/.aws/config);
//   8. the container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI);
//   9. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true.
// Errors name every place looked and how to fix it; a source that is configured but fails
// (STS, the SSO portal, the container endpoint) is ExitCode::CannotStart.
Result<Credentials> resolve_credentials(std::string_view explicit_profile = {});

// AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`, else `fallback_region`
// (rollback.yaml's region). An error when none is set.
Result<std::string> resolve_region(std::string_view explicit_profile = {}, std::string_view fallback_region = {});

// ---- building blocks, exposed for tests ----

// An INI file as botocore's parser (Python's RawConfigParser) reads it: `[section]` headers,
// `key = value` or `key: value` (keys lower-cased, values trimmed), full-line comments starting
// with '#' or ';' (no inline comments), indented continuation lines appended to the value.
// Duplicate sections or keys are errors, as in botocore.
using IniSection = std::map<std::string, std::string>;
using IniFile = std::map<std::string, IniSection>;
Result<IniFile> parse_ini(std::string_view text, const std::string& file_name_for_errors);

// Profiles of a config file: "[default]" and "[profile NAME]"; other sections are ignored.
std::map<std::string, IniSection> config_profiles(const IniFile& config);

// Splits a command line the way Python's shlex.split() does (POSIX mode, no comments), which is
// what the AWS CLI uses for credential_process.
Result<std::vector<std::string>> shell_split(std::string_view command);

// Parses credential_process output: {"Version": 1, "AccessKeyId", "SecretAccessKey",
// "SessionToken"?, "Expiration"?}.
Result<Credentials> parse_credential_process_output(std::string_view json_text, const std::string& source);

// parse_iso8601 lives in util/strings.hpp (the journal's times are read with it too).
using rb::parse_iso8601;

// json.dumps(s) of a Python str (ensure_ascii): the quoted, escaped string.
std::string python_json_string(std::string_view text);

// The AWS CLI's cache file name (without ".json") for assumed-role credentials:
// botocore BaseAssumeRoleCredentialFetcher._create_cache_key, the SHA-1 of
// json.dumps(<AssumeRole arguments>, sort_keys=True), RoleSessionName left out when generated.
struct AssumeRoleCacheArgs {
  std::string role_arn{};
  std::optional<std::string> role_session_name{};  // nullopt: generated (botocore-session-<time>)
  std::optional<std::string> external_id{};
  std::optional<std::string> serial_number{};
  std::optional<int> duration_seconds{};
};
std::string assume_role_cache_key(const AssumeRoleCacheArgs& args);

// SSOCredentialFetcher._create_cache_key: SHA-1 of the compact sorted JSON of roleName,
// accountId and sessionName (sso_session profiles) or startUrl (legacy profiles).
std::string sso_credentials_cache_key(const std::string& role_name, const std::string& account_id,
                                      const std::string& session_name, const std::string& start_url);

// The file `aws sso login` writes the token to: SHA-1 of the sso_session name (or of the legacy
// profile's start URL) + ".json", in ~/.aws/sso/cache (botocore SSOTokenLoader).
std::string sso_token_cache_file_name(std::string_view session_name_or_start_url);

// Whether the container credentials endpoint may be called (botocore ContainerMetadataFetcher):
// https anywhere, http only on a loopback address or the ECS/EKS link-local hosts.
bool container_url_allowed(std::string_view url);

}  // namespace rb::aws
