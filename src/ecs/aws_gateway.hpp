// The real EcsGateway: ECS through the signed, retrying AWS client.
#pragma once

#include <memory>

#include "aws/client.hpp"
#include "core/config.hpp"
#include "ecs/gateway.hpp"
#include "util/clock.hpp"

namespace rb::ecs {

// Resolves credentials, region and endpoint for the environment (aws_profile, region) the way
// the AWS CLI does, and returns a gateway that talks to ECS.
Result<std::unique_ptr<EcsGateway>> make_aws_gateway(const Config& config, const EnvironmentConfig& env, Clock& clock);

// How long the health URL may take to answer 2xx once ECS is steady: load balancers need a few
// health-check intervals before they send traffic to new tasks.
inline constexpr std::chrono::milliseconds kHealthTimeout{60'000};

// kHealthTimeout, within what is left of the command's --timeout (at least a few probes).
std::chrono::milliseconds health_budget(std::chrono::milliseconds timeout, std::chrono::milliseconds elapsed);

// GET `url` until it answers 2xx or `timeout` passes (load balancers take a few seconds to
// send traffic to new tasks). The error names the last status or connection problem.
Status check_health(const std::string& url, Clock& clock, std::chrono::milliseconds timeout,
                    const std::function<void(const std::string&)>& emit);

}  // namespace rb::ecs
