#include "core/identity.hpp"

#include <fmt/format.h>

#include <map>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace rb {

Result<EnvironmentIdentity> environment_identity(const Config& config, const EnvironmentConfig& env) {
  static std::map<std::string, EnvironmentIdentity> remembered;
  const std::string profile = aws::resolve_profile_name(env.aws_profile);
  RB_TRY_ASSIGN(auto region, aws::resolve_region(env.aws_profile, env.region.empty() ? config.region : env.region));
  const std::string key = profile + "\n" + region;
  if (auto it = remembered.find(key); it != remembered.end()) return it->second;

  RB_TRY_ASSIGN(auto credentials, aws::resolve_credentials(env.aws_profile));
  EnvironmentIdentity out;
  out.credential_source = credentials.source;
  out.profile = profile;
  aws::CurlTransport transport;
  SystemClock clock;
  aws::AwsClient sts(aws::AwsClientConfig::for_service("sts", region, std::move(credentials)), transport, clock);
  auto caller = aws::get_caller_identity(sts);
  if (!caller) {
    Error e = caller.take_error();
    e.message = fmt::format("cannot tell which AWS account the credentials of environment {} belong to: {}", env.name,
                            e.message);
    if (e.code == ExitCode::Failed) e.code = ExitCode::CannotStart;
    if (e.hint.empty()) e.hint = "check the network and the STS endpoint (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL)";
    return e;
  }
  out.caller = std::move(*caller);
  log_debug("identity: {} (account {}), credentials from {}", out.caller.arn, out.caller.account,
            out.credential_source);
  remembered[key] = out;
  return out;
}

Error account_mismatch_error(const EnvironmentConfig& env, const EnvironmentIdentity& identity) {
  return Error{ExitCode::CannotStart,
               fmt::format("environment {} is in AWS account {}, but the credentials in use (profile {}, from {}) "
                           "belong to account {} ({}); nothing was changed",
                           env.name, env.account_id, identity.profile, identity.credential_source,
                           identity.caller.account, identity.caller.arn),
               fmt::format("sign in to account {}: set aws_profile for environment {} in rollback.yaml, or export "
                           "AWS_PROFILE=<a profile for that account> (check with `aws sts get-caller-identity`)",
                           env.account_id, env.name),
               "wrong-account"};
}

Status check_environment_account(const Config& config, const EnvironmentConfig& env) {
  if (env.account_id.empty()) return {};
  RB_TRY_ASSIGN(auto identity, environment_identity(config, env));
  if (identity.caller.account != env.account_id) return account_mismatch_error(env, identity);
  return {};
}

}  // namespace rb
