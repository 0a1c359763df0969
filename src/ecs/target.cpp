#include "ecs/target.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "util/strings.hpp"

namespace rb::ecs {

namespace {

const RevisionInfo* find_revision(const std::vector<RevisionInfo>& revs, int revision) {
  for (const auto& r : revs)
    if (r.ref.revision == revision) return &r;
  return nullptr;
}

std::string active_list(const std::vector<RevisionInfo>& revs, int current) {
  std::vector<std::string> out;
  for (const auto& r : revs)
    if (r.status == "ACTIVE" && r.ref.revision != current) out.push_back(std::to_string(r.ref.revision));
  if (out.empty()) return "none";
  if (out.size() > 10) out.resize(10), out.push_back("...");
  return join(out, ", ");
}

std::vector<int> inactive_between(const std::vector<RevisionInfo>& revs, int low, int high) {
  std::vector<int> out;
  for (const auto& r : revs)
    if (r.status != "ACTIVE" && r.ref.revision > low && r.ref.revision < high) out.push_back(r.ref.revision);
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

Result<Target> choose_target(const TargetInputs& in) {
  std::vector<RevisionInfo> revs = in.revisions;
  std::sort(revs.begin(), revs.end(), [](const auto& a, const auto& b) { return a.ref.revision > b.ref.revision; });

  auto current = parse_task_def(in.service.current_task_definition());
  if (!current)
    return failure(fmt::format("cannot tell which task definition service {} runs (got '{}')", in.service.name,
                               in.service.current_task_definition()));
  if (current->family != in.family)
    return refusal(fmt::format("service {} runs {}, which is not of the configured family {}", in.service.name,
                               current->label(), in.family),
                   "fix task_family for this environment in rollback.yaml");

  auto accept = [&](const RevisionInfo& r, std::string why) -> Result<Target> {
    Target t;
    t.ref = r.ref;
    t.current = *current;
    t.why = std::move(why);
    t.skipped_inactive = inactive_between(revs, r.ref.revision, current->revision);
    return t;
  };

  if (in.requested) {
    std::string req = trim(*in.requested);
    TaskDefRef wanted;
    bool all_digits = !req.empty() && std::all_of(req.begin(), req.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (all_digits) {
      wanted.family = in.family;
      RB_TRY_ASSIGN(long long revision, parse_decimal(req, 1, kMaxTaskDefinitionRevision, "--to-revision"));
      wanted.revision = static_cast<int>(revision);
    } else if (auto parsed = parse_task_def(req)) {
      wanted = *parsed;
    } else {
      return usage_error(fmt::format("--to-revision '{}' is not a revision", req),
                         fmt::format("use a number (41), family:revision ({}:41) or a task definition ARN", in.family));
    }
    if (wanted.family != in.family)
      return refusal(fmt::format("{} belongs to family {}, but {} runs family {}", wanted.label(), wanted.family,
                                 in.service.name, in.family),
                     "rolling back to another family's task definition would deploy another application");
    if (wanted.revision == current->revision)
      return refusal(fmt::format("{} already runs {}: nothing to roll back", in.service.name, current->label()),
                     fmt::format("choose an older ACTIVE revision: {}", active_list(revs, current->revision)));
    const RevisionInfo* r = find_revision(revs, wanted.revision);
    if (!r)
      return refusal(fmt::format("{} does not exist", wanted.label()),
                     fmt::format("ACTIVE revisions: {}", active_list(revs, current->revision)));
    if (r->status != "ACTIVE")
      return refusal(fmt::format("{} is {} (deregistered): ECS cannot run it", wanted.label(), r->status),
                     fmt::format("ACTIVE revisions: {}", active_list(revs, current->revision)));
    return accept(*r, fmt::format("requested with --to-revision {}", req));
  }

  for (const auto& good : in.known_good) {
    if (good.revision >= current->revision) continue;
    const RevisionInfo* r = find_revision(revs, good.revision);
    if (!r || r->status != "ACTIVE") continue;
    return accept(*r, fmt::format("last known good: rollback {} completed on it at {}", good.rollback_id, good.when));
  }

  const Deployment* primary = in.service.primary();
  for (const auto& d : in.service.deployments) {
    if (&d == primary || d.status != "ACTIVE") continue;
    auto prev = parse_task_def(d.task_definition);
    if (!prev || prev->family != in.family || prev->revision == current->revision) continue;
    const RevisionInfo* r = find_revision(revs, prev->revision);
    if (!r || r->status != "ACTIVE") continue;
    return accept(*r, fmt::format("the service is mid-deployment: {} is what ran before it started (deployment {})",
                                  prev->label(), d.id));
  }

  for (const auto& r : revs) {
    if (r.ref.revision >= current->revision || r.status != "ACTIVE") continue;
    std::string why = fmt::format("the nearest older ACTIVE revision of {}", in.family);
    return accept(r, why);
  }
  return refusal(fmt::format("no ACTIVE revision of {} older than {} to roll back to", in.family, current->label()),
                 "register a known-good task definition or pass --to-revision N");
}

}  // namespace rb::ecs
