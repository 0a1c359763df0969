// The AWS credentials and region of an environment, resolved like the AWS CLI: the
// environment's `aws_profile`, its `region` or else the configuration's. One place for what
// every AWS client of the tool starts from.
#pragma once

#include <string>

#include "aws/credentials.hpp"
#include "core/config.hpp"
#include "util/result.hpp"

namespace rb {

struct EnvironmentAws {
  aws::Credentials credentials;
  std::string region;
};

// Credentials first, then the region: the first that cannot be resolved is the error.
Result<EnvironmentAws> environment_aws(const Config& config, const EnvironmentConfig& env);

}  // namespace rb
