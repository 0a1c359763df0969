#include "ecs/target.hpp"

#include <algorithm>
#include <chrono>
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

// "REGION:ACCOUNT" of an ARN (arn:PARTITION:ecs:REGION:ACCOUNT:...), empty when it is not one.
std::string arn_scope(const std::string& arn) {
  auto parts = split(arn, ':');
  if (parts.size() < 6 || parts[0] != "arn") return {};
  return parts[3] + ":" + parts[4];
}

std::string day_of(double epoch) {
  if (epoch <= 0) return "an unknown date";
  auto t = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(epoch)));
  return iso8601(t).substr(0, 10);
}

}  // namespace

std::vector<KnownBad> known_bad_revisions(const std::string& family,
                                          const std::optional<std::vector<ServiceDeploymentInfo>>& history,
                                          const std::vector<KnownBad>& journal_bad) {
  std::vector<KnownBad> out;
  auto seen = [&](int revision) {
    return std::any_of(out.begin(), out.end(), [&](const KnownBad& b) { return b.revision == revision; });
  };
  if (history) {
    for (const auto& d : *history) {  // newest first: the first reason per revision is the newest
      if (!d.rolled_back() && d.triggered_alarms.empty()) continue;
      auto ref = parse_task_def(d.target_task_definition);
      if (!ref || ref->family != family || seen(ref->revision)) continue;
      out.push_back({ref->revision, day_of(d.finished_at ? d.finished_at : (d.started_at ? d.started_at : d.created_at)),
                     d.failure_words()});
    }
  }
  for (const auto& b : journal_bad)
    if (!seen(b.revision)) out.push_back(b);
  return out;
}

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

  const std::vector<KnownBad> bad = known_bad_revisions(in.family, in.history, in.known_bad);
  auto bad_of = [&](int revision) -> const KnownBad* {
    for (const auto& b : bad)
      if (b.revision == revision) return &b;
    return nullptr;
  };
  auto bad_words = [&](const KnownBad& b) {
    return fmt::format("{}:{} failed on {}: {}", in.family, b.revision, b.when, b.why);
  };
  std::string note = in.history ? std::string()
                                : fmt::format("ECS's deployment history is not available ({}): the target follows "
                                              "the journal and the revision numbers",
                                              in.history_unavailable.empty() ? "not read" : in.history_unavailable);

  auto accept = [&](const RevisionInfo& r, std::string why) -> Result<Target> {
    Target t;
    t.ref = r.ref;
    t.current = *current;
    t.why = std::move(why);
    t.note = note;
    t.skipped_inactive = inactive_between(revs, r.ref.revision, current->revision);
    // Every known-bad revision newer than the target (other than the one running) was passed over.
    std::vector<KnownBad> passed;
    for (const auto& b : bad)
      if (b.revision > r.ref.revision && b.revision != current->revision) passed.push_back(b);
    std::sort(passed.begin(), passed.end(), [](const auto& a, const auto& b) { return a.revision > b.revision; });
    for (const auto& b : passed) t.passed_over.push_back(bad_words(b));
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
    // An ARN names one account and region: never swap it silently for our own family:revision.
    if (!wanted.arn.empty()) {
      std::string ours = arn_scope(!r->ref.arn.empty() ? r->ref.arn : in.service.arn);
      std::string theirs = arn_scope(wanted.arn);
      if (!ours.empty() && theirs != ours)
        return refusal(fmt::format("{} is a task definition of another account or region ({}); {} runs in {}",
                                   wanted.arn, theirs.empty() ? "unreadable ARN" : theirs, in.service.name, ours),
                       fmt::format("pass the revision of this account and region instead: --to-revision {} (or {})",
                                   wanted.revision, r->ref.arn.empty() ? wanted.label() : r->ref.arn));
    }
    if (r->status != "ACTIVE")
      return refusal(fmt::format("{} is {} (deregistered): ECS cannot run it", wanted.label(), r->status),
                     fmt::format("ACTIVE revisions: {}", active_list(revs, current->revision)));
    auto t = accept(*r, fmt::format("requested with --to-revision {}", req));
    if (t)
      if (const KnownBad* b = bad_of(r->ref.revision))
        t->known_bad_warning = fmt::format("{} is known bad: {}", r->ref.label(), bad_words(*b).substr(r->ref.label().size() + 1));
    return t;
  }

  auto usable = [&](int revision) -> const RevisionInfo* {
    if (revision == current->revision || bad_of(revision)) return nullptr;
    const RevisionInfo* r = find_revision(revs, revision);
    return r && r->status == "ACTIVE" ? r : nullptr;
  };

  for (const auto& good : in.known_good) {
    if (good.revision >= current->revision) continue;
    if (const RevisionInfo* r = usable(good.revision))
      return accept(*r, fmt::format("last known good: rollback {} completed on it at {}", good.rollback_id, good.when));
  }

  if (in.history) {
    // The deployment that put the current revision in place; only what succeeded before it counts
    // (a later SUCCESSFUL deployment of another revision is one a rollback replaced).
    double current_since = 0;
    for (const auto& d : *in.history) {
      auto ref = parse_task_def(d.target_task_definition);
      if (ref && ref->family == in.family && ref->revision == current->revision && !d.rolled_back()) {
        current_since = d.created_at;
        break;
      }
    }
    for (const auto& d : *in.history) {
      if (d.status != "SUCCESSFUL" || (current_since > 0 && d.created_at >= current_since)) continue;
      auto ref = parse_task_def(d.target_task_definition);
      if (!ref || ref->family != in.family) continue;
      if (const RevisionInfo* r = usable(ref->revision))
        return accept(*r, fmt::format("the newest deployment in ECS's history that ended SUCCESSFUL before the "
                                      "current one (finished {})",
                                      day_of(d.finished_at ? d.finished_at : d.started_at)));
    }
  }

  const Deployment* primary = in.service.primary();
  for (const auto& d : in.service.deployments) {
    if (&d == primary || d.status != "ACTIVE") continue;
    auto prev = parse_task_def(d.task_definition);
    if (!prev || prev->family != in.family) continue;
    if (const RevisionInfo* r = usable(prev->revision))
      return accept(*r, fmt::format("the service is mid-deployment: {} is what ran before it started (deployment {})",
                                    prev->label(), d.id));
  }

  for (const auto& r : revs) {
    if (r.ref.revision >= current->revision) continue;
    if (usable(r.ref.revision))
      return accept(r, fmt::format("the nearest older ACTIVE revision of {} that is not known bad", in.family));
  }
  std::string passed;
  for (const auto& b : bad) passed += "; " + bad_words(b);
  return refusal(fmt::format("no ACTIVE revision of {} older than {} to roll back to{}", in.family, current->label(),
                             passed),
                 "register a known-good task definition, or name one with --to-revision N (a known-bad one needs "
                 "--force on protected environments)");
}

}  // namespace rb::ecs
