// The `team:` block of rollback.yaml: one DynamoDB table that holds the team's locks and
// journal, and where to announce rollbacks. Without it everything stays local.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "util/result.hpp"

namespace rb {

// How long a team lock lives without a heartbeat. 60 s: long enough that a few failed
// renewals (AWS standard retries take up to ~3 s per call) do not lose a live lock, short
// enough that a dead holder's lock can be broken within a minute of an incident.
inline constexpr std::chrono::milliseconds kDefaultTeamLease{60000};
// The shortest lease accepted: the heartbeat renews every lease/3, and one DynamoDB call
// with retries must fit in that with room to spare. Tests use 3 s.
inline constexpr std::chrono::milliseconds kMinimumTeamLease{2000};

struct NotifyTarget {
  std::string kind;     // "slack" (incoming-webhook blocks) or "webhook" (generic JSON POST)
  std::string url_env;  // environment variable holding the URL (a secret: never in the file)
};

struct TeamConfig {
  std::string table;  // DynamoDB table; region and credentials as for everything else
  std::chrono::milliseconds lease = kDefaultTeamLease;
  std::vector<NotifyTarget> notify;
};

// Parses the `team:` mapping. Errors name the file, line and column.
Result<TeamConfig> parse_team_config(const YAML::Node& node, const std::filesystem::path& source);

}  // namespace rb
