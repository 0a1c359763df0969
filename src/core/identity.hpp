// Who rollback acts as in an environment: the caller identity (sts:GetCallerIdentity) behind
// the environment's credentials, and the account_id check that refuses a rollback run with the
// wrong profile before anything changes.
#pragma once

#include <string>

#include "aws/sts.hpp"
#include "core/config.hpp"
#include "util/result.hpp"

namespace rb {

struct EnvironmentIdentity {
  aws::CallerIdentity caller;
  std::string credential_source;  // aws::Credentials::source: "environment", "SSO 1234.. / Admin (profile x)", ...
  std::string profile;            // the AWS profile in use ("default" when none is named)
};

// Resolves the environment's credentials and region and asks STS who they belong to. Remembered
// for the rest of the process (one call per profile and region). Errors are ExitCode::CannotStart
// unless the configuration is at fault.
Result<EnvironmentIdentity> environment_identity(const Config& config, const EnvironmentConfig& env);

// Nothing when `env.account_id` is empty; otherwise the caller's account must equal it, else
// ExitCode::CannotStart naming both accounts and the profile in use.
Status check_environment_account(const Config& config, const EnvironmentConfig& env);

// The refusal message for a mismatch (pure; exposed for tests).
Error account_mismatch_error(const EnvironmentConfig& env, const EnvironmentIdentity& identity);

}  // namespace rb
