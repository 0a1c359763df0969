#include "db/staging.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/strings.hpp"

namespace rb::db {

namespace {

std::vector<std::string> sorted_heads(std::vector<std::string> heads) {
  std::vector<std::string> out;
  for (auto& h : heads)
    if (!trim(h).empty()) out.push_back(trim(h));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> strings_of(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

const EnvironmentConfig* find_env(const Config& config, const std::string& name) {
  for (const auto& e : config.environments)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace

DowngradeKey key_of_entry(const JournalEntry& entry) {
  DowngradeKey key;
  const auto& d = entry.details;
  if (d.is_object() && d.contains("from_heads") && d["from_heads"].is_array())
    key.from_heads = sorted_heads(strings_of(d["from_heads"]));
  else
    key.from_heads = sorted_heads(split(entry.from, ','));
  if (d.is_object() && d.contains("to_revision") && d["to_revision"].is_string())
    key.target = d["to_revision"].get<std::string>();
  else
    key.target = entry.to;
  return key;
}

std::optional<JournalEntry> find_staging_run(const std::vector<JournalEntry>& entries, const Config& config,
                                             const DowngradeKey& key) {
  const auto want_heads = sorted_heads(key.from_heads);
  for (const auto& e : entries) {
    if (e.layer != "db" || e.outcome != kOutcomeSucceeded) continue;
    if (!config.app.empty() && e.app != config.app) continue;
    // Only an environment the configuration still lists as not protected counts: a removed
    // environment's protection cannot be known, and a success on prod proves nothing new.
    const EnvironmentConfig* env = find_env(config, e.env);
    if (!env || env->is_protected) continue;
    const auto got = key_of_entry(e);
    if (got.target == key.target && got.from_heads == want_heads) return e;
  }
  return std::nullopt;
}

Result<StagingCheck> check_staging(Journal& journal, const Config& config, const EnvironmentConfig& env,
                                   DowngradeKey key) {
  StagingCheck check;
  key.from_heads = sorted_heads(std::move(key.from_heads));
  check.key = std::move(key);
  check.required = env.is_protected;
  for (const auto& e : config.environments)
    if (!e.is_protected) check.unprotected_envs.push_back(e.name);
  if (!check.required) return check;
  JournalFilter f;
  f.app = config.app;
  f.layer = "db";
  f.outcome = kOutcomeSucceeded;
  f.limit = kStagingSearchLimit;
  auto entries = journal.list(f);
  if (!entries) {
    Error e = entries.take_error();
    e.message = fmt::format("cannot check that this downgrade ran on staging first: reading the journal {} failed: {}",
                            journal.location(), e.message);
    if (e.hint.empty()) e.hint = "make the journal readable, or pass --skip-staging-check --reason \"...\"";
    return e;
  }
  check.evidence = find_staging_run(*entries, config, check.key);
  return check;
}

std::string StagingCheck::staging_command(const std::string& via) const {
  std::string env = unprotected_envs.empty() ? "<staging>" : unprotected_envs.front();
  return fmt::format("rollback db --env {} --to {}{}", env, key.target, via.empty() || via == "local" ? "" : " --via " + via);
}

std::string StagingCheck::describe() const {
  if (!required) return "not required (the environment is not protected)";
  if (evidence)
    return fmt::format("passed: the same downgrade succeeded on {} at {} by {}@{} (rollback {})", evidence->env,
                       evidence->ended_at.empty() ? evidence->started_at : evidence->ended_at, evidence->user,
                       evidence->host, evidence->id);
  if (skipped) return fmt::format("skipped (--skip-staging-check): {}", skip_reason);
  return fmt::format("not passed: no non-protected environment ({}) has a succeeded downgrade from {} to {} in the "
                     "journal",
                     unprotected_envs.empty() ? "none configured" : join(unprotected_envs, ", "),
                     from_heads_text(), key.target);
}

std::string StagingCheck::from_heads_text() const { return key.from_heads.empty() ? "base" : join(key.from_heads, ", "); }

Error StagingCheck::refusal_error(const std::string& env, const std::string& via) const {
  std::string where = unprotected_envs.empty() ? "a non-protected environment" : unprotected_envs.front();
  std::string hint =
      unprotected_envs.empty()
          ? "rollback.yaml lists no environment without `protected: true`: add a staging environment and run the "
            "downgrade there first, or pass --skip-staging-check --reason \"...\" (journaled)"
          : fmt::format("run it on {} first, with its database at {} (`alembic upgrade` there if it is not):\n  {}\n"
                        "then run this command again; or pass --skip-staging-check --reason \"...\" to go on "
                        "without it (journaled and shown in `rollback history`)",
                        where, from_heads_text(), staging_command(via));
  Error e = refusal(fmt::format("{} is protected and this downgrade (from {} to {}) has not succeeded on {} yet "
                                "according to the journal; nothing was changed",
                                env, from_heads_text(), key.target,
                                unprotected_envs.empty() ? where : join(unprotected_envs, " or ")),
                    hint);
  e.tag = "staging-first";
  return e;
}

nlohmann::json StagingCheck::to_json() const {
  nlohmann::json j = {{"required", required},
                      {"from_heads", key.from_heads},
                      {"target", key.target},
                      {"passed", required ? nlohmann::json(evidence.has_value()) : nlohmann::json(nullptr)},
                      {"skipped", skipped}};
  if (skipped) j["skip_reason"] = skip_reason;
  if (evidence)
    j["evidence"] = {{"rollback_id", evidence->id},   {"env", evidence->env},
                     {"user", evidence->user},        {"host", evidence->host},
                     {"started_at", evidence->started_at}, {"ended_at", evidence->ended_at}};
  return j;
}

}  // namespace rb::db
