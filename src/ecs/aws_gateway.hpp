// The real EcsGateway: ECS through the signed, retrying AWS client.
#pragma once

#include <memory>
#include <optional>
#include <string>

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

// Connect and whole-request timeouts of one health probe: a healthy endpoint answers in well
// under a second; 5 s and 10 s tell a hung one from a slow one without stalling the caller.
inline constexpr std::chrono::milliseconds kProbeConnectTimeout{5000};
inline constexpr std::chrono::milliseconds kProbeRequestTimeout{10000};

// One GET of a health URL with the probe timeouts, for commands that look once (status, check,
// diagnose): healthy on 2xx; `answer` is "HTTP 500" or the transport's error.
struct HealthAnswer {
  bool healthy = false;
  std::optional<long> status;  // none when nothing came back
  std::string answer;
};
HealthAnswer probe_health_once(const std::string& url);

// GET `url` until it answers 2xx or `timeout` passes (load balancers take a few seconds to
// send traffic to new tasks). The error names the last status or connection problem.
Status check_health(const std::string& url, Clock& clock, std::chrono::milliseconds timeout,
                    const std::function<void(const std::string&)>& emit);

}  // namespace rb::ecs
