#include "core/team_config.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"

namespace rb {

namespace {

Error error_at(const YAML::Node& node, const std::filesystem::path& source, const std::string& message,
               std::string hint = {}) {
  auto mark = node.Mark();
  std::string where = source.string();
  if (!mark.is_null()) where += fmt::format(":{}:{}", mark.line + 1, mark.column + 1);
  return usage_error(fmt::format("{}: {}", where, message), std::move(hint));
}

Status check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& what,
                  const std::filesystem::path& source) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string hint = fmt::format("valid keys in {}: {}", what, join(allowed, ", "));
    if (auto close = closest_match(key, allowed)) hint = fmt::format("did you mean '{}'?", *close);
    return error_at(it->first, source, fmt::format("unknown key '{}' in {}", key, what), hint);
  }
  return {};
}

Result<NotifyTarget> parse_target(const YAML::Node& item, const std::filesystem::path& source) {
  const std::string example = "e.g.\n  notify:\n    - slack: { webhook_env: ROLLBACK_SLACK_WEBHOOK }\n"
                              "    - webhook: { url_env: ROLLBACK_HOOK_URL }";
  if (!item.IsMap() || item.size() != 1)
    return error_at(item, source, "each 'team.notify' item must be one of slack: {...} or webhook: {...}", example);
  auto it = item.begin();
  std::string kind = it->first.as<std::string>();
  YAML::Node body = it->second;
  std::string key;
  if (kind == "slack") key = "webhook_env";
  else if (kind == "webhook") key = "url_env";
  else {
    std::string hint = "notification kinds: slack, webhook";
    if (auto close = closest_match(kind, {"slack", "webhook"})) hint = fmt::format("did you mean '{}'?", *close);
    return error_at(it->first, source, fmt::format("unknown notification kind '{}' in 'team.notify'", kind), hint);
  }
  std::string what = fmt::format("'team.notify.{}'", kind);
  if (!body.IsMap()) return error_at(body, source, fmt::format("{} must be a mapping", what), example);
  if (body["url"] || body["webhook_url"])
    return error_at(body, source, fmt::format("{} takes the URL from an environment variable, not the file", what),
                    fmt::format("webhook URLs are secrets: export it and write `{}: VARIABLE_NAME`", key));
  RB_TRY(check_keys(body, {key}, what, source));
  YAML::Node v = body[key];
  if (!v || !v.IsScalar() || v.Scalar().empty())
    return error_at(body, source, fmt::format("{} needs '{}': the environment variable holding the URL", what, key),
                    example);
  return NotifyTarget{kind, v.Scalar()};
}

}  // namespace

Result<TeamConfig> parse_team_config(const YAML::Node& node, const std::filesystem::path& source) {
  if (!node.IsMap()) return error_at(node, source, "'team' must be a mapping (key: value pairs)",
                                     "e.g.\nteam:\n  table: rollback-team");
  RB_TRY(check_keys(node, {"table", "lease", "notify"}, "'team'", source));
  TeamConfig t;
  YAML::Node table = node["table"];
  if (!table || !table.IsScalar() || table.Scalar().empty())
    return error_at(node, source, "'team' needs 'table': the DynamoDB table that holds the team's locks and journal",
                    "add `table: rollback-team` and create it with `rollback team init`");
  t.table = table.Scalar();
  if (YAML::Node lease = node["lease"]) {
    if (!lease.IsScalar()) return error_at(lease, source, "'team.lease' must be a duration such as 60s");
    auto d = parse_duration(lease.Scalar());
    if (!d) return error_at(lease, source, fmt::format("'team.lease': {}", d.error().message), "e.g. lease: 60s");
    if (*d < kMinimumTeamLease)
      return error_at(lease, source, fmt::format("'team.lease' must be at least {}", format_duration(kMinimumTeamLease)),
                      "the heartbeat renews the lock every lease/3; 60s (the default) suits real use");
    t.lease = *d;
  }
  if (YAML::Node notify = node["notify"]) {
    if (!notify.IsSequence())
      return error_at(notify, source, "'team.notify' must be a list",
                      "e.g.\n  notify:\n    - slack: { webhook_env: ROLLBACK_SLACK_WEBHOOK }");
    for (const auto& item : notify) {
      RB_TRY_ASSIGN(auto target, parse_target(item, source));
      t.notify.push_back(std::move(target));
    }
  }
  return t;
}

}  // namespace rb
