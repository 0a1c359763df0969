#include "core/aws_env.hpp"

namespace rb {

Result<EnvironmentAws> environment_aws(const Config& config, const EnvironmentConfig& env) {
  RB_TRY_ASSIGN(auto credentials, aws::resolve_credentials(env.aws_profile));
  RB_TRY_ASSIGN(auto region, aws::resolve_region(env.aws_profile, env.region.empty() ? config.region : env.region));
  return EnvironmentAws{std::move(credentials), std::move(region)};
}

}  // namespace rb
