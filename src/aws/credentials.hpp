// AWS credentials and region, resolved the way the AWS CLI (botocore) does, for the sources
// this tool supports: environment variables, the shared credentials and config files, and
// credential_process. Every secret loaded is registered with rb::register_secret().
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rb::aws {

struct Credentials {
  std::string access_key_id{};
  std::string secret_access_key{};
  std::string session_token{};  // empty when the credentials are long-term keys
  // Where they came from, for messages: "environment", "profile prod (~/.aws/credentials)",
  // "credential_process (profile prod)".
  std::string source{};
  std::string expiration{};  // ISO-8601 from credential_process, else empty
};

// Which profile is used: the explicit one (rollback.yaml's aws_profile), else AWS_PROFILE,
// else AWS_DEFAULT_PROFILE, else "default".
std::string resolve_profile_name(std::string_view explicit_profile = {});

// Credentials in the AWS CLI's order:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) — skipped when a profile
//      is given explicitly, as `aws --profile` does (AWS_PROFILE alone does not skip them);
//   2. the profile's keys in the credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials);
//   3. the profile's credential_process (either file), run by argument vector;
//   4. the profile's keys in the config file (AWS_CONFIG_FILE, ~/.aws/config).
// Errors name every place looked and how to fix it. Profiles that need assume-role, SSO or web
// identity are refused with a way around it.
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

}  // namespace rb::aws
