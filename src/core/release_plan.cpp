#include "core/release_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "util/json.hpp"
#include "util/strings.hpp"

namespace rb {

namespace {

constexpr const char* kBase = "base";

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

const char* to_string(ReleaseStepKind kind) {
  switch (kind) {
    case ReleaseStepKind::Ecs: return "ecs";
    case ReleaseStepKind::DbDowngrade: return "db-downgrade";
    case ReleaseStepKind::InfraRevert: return "infra-revert";
    case ReleaseStepKind::Revert: return "revert";
    case ReleaseStepKind::Redeploy: return "redeploy";
  }
  return "revert";
}

std::optional<ReleaseStepKind> release_step_kind(std::string_view text) {
  for (auto k : {ReleaseStepKind::Ecs, ReleaseStepKind::DbDowngrade, ReleaseStepKind::InfraRevert,
                 ReleaseStepKind::Revert, ReleaseStepKind::Redeploy})
    if (text == to_string(k)) return k;
  return std::nullopt;
}

Result<std::string> downgrade_target(const std::vector<ChangeMigration>& change) {
  if (change.empty())
    return usage_error("the change has no migration script to downgrade",
                       "a downgrade target is computed only from the change's own migrations");
  std::set<std::string> own;
  for (const auto& m : change) own.insert(m.revision);
  std::set<std::string> below;
  bool from_base = false;
  for (const auto& m : change) {
    if (m.down_revisions.empty()) from_base = true;
    for (const auto& d : m.down_revisions)
      if (!own.count(d)) below.insert(d);
  }
  if (below.empty()) return std::string(kBase);
  if (below.size() == 1 && !from_base) return *below.begin();
  std::vector<std::string> listed(below.begin(), below.end());
  if (from_base) listed.push_back(kBase);
  Error e = refusal(fmt::format("the change's migrations hang from several revisions ({}): no single revision is "
                                "below all of them",
                                join(listed, ", ")),
                    "downgrade by hand with `rollback db --to REV` (its plan shows what each target undoes), then "
                    "revert with `rollback app --allow-migrations`");
  e.tag = "several-targets";
  return e;
}

std::vector<std::string> change_heads(const std::vector<ChangeMigration>& change) {
  std::set<std::string> named;
  for (const auto& m : change)
    for (const auto& d : m.down_revisions) named.insert(d);
  std::vector<std::string> heads;
  for (const auto& m : change)
    if (!named.count(m.revision)) heads.push_back(m.revision);
  return sorted(std::move(heads));
}

Result<std::vector<ReleaseStep>> plan_release(const ReleaseInput& in) {
  const bool code = !in.application.empty();
  const bool infra = !in.infrastructure.empty();
  const bool migrations = !in.migrations.empty();
  if (!code && !infra && !migrations)
    return usage_error(fmt::format("{} changes no file on {}: there is nothing to roll back", in.change, in.branch));
  if (in.ecs_first && !code)
    return usage_error("--ecs-first rolls the running image back, but this change has no application code",
                       "drop --ecs-first");
  std::vector<ReleaseStep> steps;
  const std::string heads = in.db_heads.empty() ? std::string("the change's revision") : join(in.db_heads, ", ");
  if (in.ecs_first) {
    ReleaseStep s;
    s.kind = ReleaseStepKind::Ecs;
    s.why = "immediate relief (runbook: emergency ECS rollback): the previous task definition runs in minutes while "
            "the revert is built";
    s.exposed = fmt::format("{} runs the previous image, but {} still holds the change: a deploy of the branch brings "
                            "it back until the revert is pushed",
                            in.env, in.branch);
    steps.push_back(std::move(s));
  }
  if (migrations) {
    ReleaseStep s;
    s.kind = ReleaseStepKind::DbDowngrade;
    s.why = fmt::format("before the revert (runbook scenario 3: \"Do NOT just revert code\"): the revert deletes the "
                        "migration scripts, so the database goes down to {} while they are still there",
                        in.db_target);
    s.exposed = code ? fmt::format("the database is at {} while the running code still expects {}: queries touching "
                                   "what the downgrade removed fail until the revert is deployed",
                                   in.db_target, heads)
                     : fmt::format("the database is at {} while {} still holds the migrations {}: an `alembic upgrade` "
                                   "by a deploy would apply them again until the revert is pushed",
                                   in.db_target, in.branch, heads);
    steps.push_back(std::move(s));
  }
  {
    ReleaseStep s;
    s.kind = infra ? ReleaseStepKind::InfraRevert : ReleaseStepKind::Revert;
    if (infra)
      s.why = fmt::format("the infrastructure change goes back before the code that relies on it runs again "
                          "(runbook: infrastructure rollback, method 1): the revert of {} is pushed to {} and CI "
                          "applies the Terraform folder{}",
                          in.change, in.branch,
                          in.follow_redeploy ? "; the step is done once CI's apply has written a new state version "
                                               "and released Terraform's lock"
                                             : "");
    else
      s.why = fmt::format("{}the revert of {} is pushed to {}, which starts the deploy pipeline (runbook: application "
                          "rollback, method 1)",
                          migrations ? "once the schema is back: " : "", in.change, in.branch);
    if (code && in.follow_redeploy)
      s.exposed = fmt::format("the revert is on {}, but {} runs the change until the redeploy finishes", in.branch,
                              in.env);
    else if (infra && in.follow_redeploy)
      s.exposed = fmt::format("{} keeps the broken infrastructure until CI's apply finishes", in.env);
    else if (infra)
      s.exposed = "CI's Terraform apply is not followed (--no-wait): watch the workflow and review its plan";
    else if (code)
      s.exposed = fmt::format("the redeploy is not followed (--no-wait): {} runs the change until CI deploys the revert",
                              in.env);
    steps.push_back(std::move(s));
  }
  if (code && in.follow_redeploy) {
    ReleaseStep s;
    s.kind = ReleaseStepKind::Redeploy;
    s.why = "last: the revert only helps once ECS runs it, so CI's deploy is followed until every task runs it";
    steps.push_back(std::move(s));
  }
  return steps;
}

DbWorld classify_db(const std::vector<std::string>& rows, const std::vector<std::string>& start_rows,
                    const std::string& target) {
  const bool at_target = target == kBase ? rows.empty() : (rows.size() == 1 && rows[0] == target);
  if (at_target) return DbWorld::AtTarget;
  if (sorted(rows) == sorted(start_rows)) return DbWorld::AtStart;
  return DbWorld::Moved;
}

std::optional<size_t> first_unfinished(const std::vector<ReleaseStep>& steps) {
  for (size_t i = 0; i < steps.size(); ++i)
    if (!steps[i].finished()) return i;
  return std::nullopt;
}

std::vector<std::string> describe_progress(const std::vector<ReleaseStep>& steps) {
  std::vector<std::string> lines;
  for (const auto& s : steps) {
    std::string line = fmt::format("  [{}] {}", s.status, to_string(s.kind));
    if (!s.child.empty()) line += fmt::format(" (rollback {})", s.child);
    if (!s.note.empty()) line += ": " + s.note;
    lines.push_back(std::move(line));
  }
  return lines;
}

nlohmann::json steps_to_json(const std::vector<ReleaseStep>& steps) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : steps)
    j.push_back({{"step", to_string(s.kind)}, {"why", s.why}, {"exposed", s.exposed}, {"status", s.status},
                 {"child", s.child}, {"note", s.note}});
  return j;
}

Result<std::vector<ReleaseStep>> steps_from_json(const nlohmann::json& j) {
  if (!j.is_array()) return usage_error("the release's steps are not a list in the journal");
  std::vector<ReleaseStep> steps;
  for (const auto& item : j) {
    if (!item.is_object() || !item.contains("step") || !item["step"].is_string())
      return usage_error("a step of the release has no name in the journal");
    auto kind = release_step_kind(item["step"].get<std::string>());
    if (!kind) return usage_error(fmt::format("unknown release step '{}' in the journal", item["step"].get<std::string>()));
    ReleaseStep s;
    s.kind = *kind;
    auto text = [&](const char* key) {
      return item.contains(key) && item[key].is_string() ? item[key].get<std::string>() : std::string();
    };
    s.why = text("why");
    s.exposed = text("exposed");
    s.status = text("status").empty() ? kStepPending : text("status");
    s.child = text("child");
    s.note = text("note");
    steps.push_back(std::move(s));
  }
  return steps;
}

bool is_earlier_run_of(ReleaseStepKind kind, const JournalEntry& e) {
  if (e.outcome != kOutcomeSucceeded || e.started_at.empty() || e.ended_at.empty()) return false;
  const std::string step = json_string(e.details, "release_step");
  const bool waited = e.details.is_object() && e.details.value("waited", false) == true;
  switch (kind) {
    case ReleaseStepKind::Ecs: return e.layer == "ecs" && (step.empty() || step == "ecs");
    case ReleaseStepKind::DbDowngrade: return e.layer == "db";
    case ReleaseStepKind::Revert: return e.layer == "app" && (step == "revert" || (step.empty() && !waited));
    case ReleaseStepKind::InfraRevert: return e.layer == "infra" && e.details.contains("applied_state_version");
    case ReleaseStepKind::Redeploy: return e.layer == "app" && (step == "redeploy" || (step.empty() && waited));
  }
  return false;
}

std::optional<StepEstimate> estimate_step(ReleaseStepKind kind, const std::vector<JournalEntry>& history) {
  std::vector<std::chrono::seconds> took;
  for (const auto& e : history) {
    if (took.size() >= kEstimateSamples) break;
    if (!is_earlier_run_of(kind, e)) continue;
    auto start = parse_iso8601(e.started_at);
    auto end = parse_iso8601(e.ended_at);
    if (!start || !end || *end < *start) continue;
    took.push_back(std::chrono::seconds(*end - *start));
  }
  if (took.empty()) return std::nullopt;
  std::sort(took.begin(), took.end());
  const size_t n = took.size();
  auto median = n % 2 ? took[n / 2] : (took[n / 2 - 1] + took[n / 2]) / 2;
  return StepEstimate{median, n};
}

std::string describe_span(std::chrono::seconds span) {
  const long long s = span.count();
  return s >= 60 ? fmt::format("{}m {:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

std::string describe_estimate(const std::optional<StepEstimate>& estimate) {
  if (!estimate) return "no earlier run on record to estimate from";
  return fmt::format("about {} (median of {} earlier run{})", describe_span(estimate->typical), estimate->samples,
                     estimate->samples == 1 ? "" : "s");
}

}  // namespace rb
