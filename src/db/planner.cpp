#include "db/planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

#include "util/strings.hpp"

namespace rb::db {

namespace {

constexpr size_t kMaxListedAncestors = 5;  // "revisions below the database's: ..." in a hint

Error refused(std::string message, std::string hint, std::string tag) {
  Error e = refusal(std::move(message), std::move(hint));
  e.tag = std::move(tag);
  return e;
}

// Rows that no other row descends from (Alembic's _filter_into_branch_heads), in row order.
std::vector<std::string> effective_heads(const RevisionGraph& g, const std::vector<std::string>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) {
    auto below = g.descendants({r}, false);
    bool redundant = std::any_of(rows.begin(), rows.end(),
                                 [&](const std::string& other) { return other != r && below.count(other); });
    if (!redundant && std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

// Alembic's _collect_downgrade_revisions + _topological_sort: the migrations to downgrade, in
// run order. `branch_rev` limits the roots to one branch, as "<branch>@<target>" does.
Result<std::vector<std::string>> collect(const RevisionGraph& g, const std::vector<std::string>& rows,
                                         const std::optional<std::string>& target, const std::string& branch_rev) {
  std::vector<std::string> roots = target ? g.children(*target) : g.bases();
  if (!branch_rev.empty() && roots.size() > 1) {
    auto on_branch = g.ancestors({branch_rev}, false);
    std::erase_if(roots, [&](const std::string& r) { return !on_branch.count(r); });
    if (roots.empty())
      return refused(fmt::format("{} is not a valid downgrade target on the branch of {}",
                                 target ? *target : std::string("base"), branch_rev),
                     "choose a revision below that head", "not-ancestor");
  }
  auto drop = g.descendants(roots, true);
  auto active = g.ancestors(rows, true);
  std::set<std::string> both;
  std::set_intersection(drop.begin(), drop.end(), active.begin(), active.end(), std::inserter(both, both.end()));
  return g.topological_order(both, rows);
}

std::string rows_text(const std::vector<std::string>& rows) {
  return rows.empty() ? "no rows (base)" : join(rows, ", ");
}

std::string render_choices(const std::vector<DowngradeChoice>& choices) {
  std::string out = "choose the target explicitly:";
  for (const auto& c : choices) {
    std::string alt;
    if (c.targets.size() > 1)
      alt = " (same as " + join(std::vector<std::string>(c.targets.begin() + 1, c.targets.end()), ", ") + ")";
    out += fmt::format("\n  --to {}{}: undoes {}; leaves {}", c.targets[0], alt, join(c.undoes, ", "), rows_text(c.leaves));
  }
  return out;
}

// Revisions below the heads, nearest first, for "choose one of these" hints.
std::vector<std::string> nearest_ancestors(const RevisionGraph& g, const std::vector<std::string>& heads) {
  auto below = g.ancestors(heads, false);
  for (const auto& h : heads) below.erase(h);
  auto order = g.topological_order(below, [&] {
    std::vector<std::string> starts;
    for (const auto& h : heads)
      for (const auto& p : g.parents(h)) starts.push_back(p);
    return starts;
  }());
  if (order.size() > kMaxListedAncestors) order.resize(kMaxListedAncestors);
  return order;
}

}  // namespace

DowngradeTarget DowngradeTarget::base() {
  DowngradeTarget t;
  t.kind = Kind::Base;
  return t;
}

DowngradeTarget DowngradeTarget::relative(int steps, std::string branch) {
  DowngradeTarget t;
  t.kind = Kind::Steps;
  t.steps = steps;
  t.branch = std::move(branch);
  return t;
}

DowngradeTarget DowngradeTarget::to(std::string revision) {
  DowngradeTarget t;
  t.kind = Kind::Revision;
  t.revision = std::move(revision);
  return t;
}

Result<DowngradeTarget> DowngradeTarget::parse(std::string_view text_in) {
  std::string text = trim(text_in);
  if (text.empty()) return usage_error("an empty downgrade target was given", "give -N, a revision, or base");
  if (text == "base") return base();
  static const std::regex steps_re(R"(^(?:(.+)@)?([+-]?)(\d+)$)");
  std::smatch m;
  if (std::regex_match(text, m, steps_re) && (m[1].matched || !m[2].str().empty() || text.size() < 4)) {
    if (m[2].str() != "-")
      return usage_error(fmt::format("'{}' would go up; a rollback goes down", text),
                         "use -N to undo the last N migrations, or name a revision");
    int n = 0;
    try {
      n = std::stoi(m[3].str());
    } catch (...) {
      n = 0;
    }
    if (n < 1) return usage_error(fmt::format("'{}' undoes nothing", text), "use -1 or more");
    return relative(n, m[1].str());
  }
  return to(text);
}

std::string DowngradeTarget::describe() const {
  switch (kind) {
    case Kind::Base: return "base";
    case Kind::Steps: return fmt::format("{}{}-{}", branch, branch.empty() ? "" : "@", steps);
    case Kind::Revision: return revision;
  }
  return {};
}

std::vector<std::string> expected_version_rows(const RevisionGraph& g, const std::vector<std::string>& version_rows,
                                               const std::vector<std::string>& downgraded) {
  std::set<std::string> heads(version_rows.begin(), version_rows.end());
  for (const auto& r : downgraded) {
    if (!heads.count(r)) continue;  // Alembic would fail here; nothing to predict
    const auto& down = g.normalized_down_revisions(r);
    std::vector<std::string> to = down;
    std::vector<std::string> others;
    for (const auto& h : heads)
      if (h != r) others.push_back(h);
    if (!others.empty()) {
      auto implied = g.ancestors(others, true);
      std::erase_if(to, [&](const std::string& x) { return implied.count(x) > 0; });
    }
    heads.erase(r);
    if (down.empty() || to.empty()) continue;  // the branch's row is deleted
    if (down.size() > 1) {
      heads.insert(to.begin(), to.end());  // "unmerge": one row per remaining down revision
    } else {
      heads.insert(down[0]);
    }
  }
  return {heads.begin(), heads.end()};
}

std::vector<DowngradeChoice> downgrade_choices(const RevisionGraph& g, const std::vector<std::string>& rows) {
  std::vector<DowngradeChoice> choices;
  auto heads = effective_heads(g, rows);
  auto add = [&](const std::optional<std::string>& target, const std::string& branch, const std::string& label) {
    auto order = collect(g, rows, target, branch);
    if (!order || order->empty()) return;
    for (auto& c : choices) {
      if (c.undoes == *order) {
        if (std::find(c.targets.begin(), c.targets.end(), label) == c.targets.end()) c.targets.push_back(label);
        return;
      }
    }
    choices.push_back({{label}, *order, expected_version_rows(g, rows, *order)});
  };
  const bool several = heads.size() > 1;
  for (const auto& h : heads) {
    const auto& ps = g.parents(h);
    std::string prefix = several ? h + "@" : "";
    if (ps.empty()) {
      add(std::nullopt, several ? h : "", prefix + "base");
      continue;
    }
    for (const auto& p : ps) add(p, several ? h : "", prefix + p);
    if (ps.size() > 1) {
      // The lowest common ancestors of a merge's parents: undo the whole diamond.
      std::set<std::string> common = g.ancestors({ps[0]}, false);
      for (size_t i = 1; i < ps.size(); ++i) {
        auto a = g.ancestors({ps[i]}, false);
        std::erase_if(common, [&](const std::string& x) { return !a.count(x); });
      }
      for (const auto& c : common) {
        bool lowest = std::none_of(common.begin(), common.end(),
                                   [&](const std::string& o) { return o != c && g.is_ancestor(c, o); });
        if (lowest) add(c, several ? h : "", prefix + c);
      }
    }
  }
  add(std::nullopt, "", "base");
  return choices;
}

Result<DowngradePlan> plan_downgrade(const RevisionGraph& g, const std::vector<std::string>& rows,
                                     const DowngradeTarget& target) {
  DowngradePlan plan;
  plan.current_rows = rows;

  // The database must be somewhere the scripts know.
  if (rows.empty())
    return refused("the version table has no rows: the database is at base, there is nothing to downgrade",
                   "check that the database URL and version table are the ones the application uses", "at-base");
  for (const auto& r : rows) {
    if (!g.contains(r))
      return refused(
          fmt::format("the database is at revision {}, which no migration script defines (version table: {})", r,
                      join(rows, ", ")),
          fmt::format("the scripts do not match the database: check out the code that is deployed (`git log --all "
                      "-S \"{}\" -- <versions folder>` finds the commit that added it), or check that the database "
                      "URL points at the right database",
                      r),
          "unknown-db-revision");
  }
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = i + 1; j < rows.size(); ++j)
      if (rows[i] == rows[j])
        return refused(fmt::format("the version table holds revision {} twice", rows[i]),
                       "the table is damaged: delete the duplicate row (keep one) before rolling back",
                       "duplicate-version-rows");
  plan.current_heads = effective_heads(g, rows);
  if (plan.current_heads.size() < rows.size()) {
    std::vector<std::string> stale;
    for (const auto& r : rows)
      if (std::find(plan.current_heads.begin(), plan.current_heads.end(), r) == plan.current_heads.end())
        stale.push_back(r);
    plan.notes.push_back(fmt::format(
        "the version table also holds {}, below {}: Alembic 1.8.1 leaves such rows after downgrading a revision with "
        "depends_on; the plan starts from {}, and Alembic must be given an absolute target (with these rows, "
        "`alembic downgrade -1` starts from whichever row it reads first)",
        join(stale, ", "), join(plan.current_heads, ", "), join(plan.current_heads, ", ")));
  }

  std::string branch_rev;  // limit to one branch, as "<branch>@<target>"
  std::string branch_text;
  switch (target.kind) {
    case DowngradeTarget::Kind::Base:
      break;
    case DowngradeTarget::Kind::Revision: {
      RB_TRY_ASSIGN(auto resolved, g.resolve(target.revision, plan.current_heads));
      if (resolved.revisions.size() > 1)
        return usage_error(fmt::format("'{}' names {} revisions ({}); a downgrade needs one target", target.revision,
                                       resolved.revisions.size(), join(resolved.revisions, ", ")),
                           "name one revision, or base");
      if (!resolved.revisions.empty()) plan.target = resolved.revisions[0];
      if (!resolved.branch.empty()) {
        RB_TRY_ASSIGN(auto b, g.resolve(resolved.branch));
        if (b.revisions.size() == 1) {
          branch_rev = b.revisions[0];
          branch_text = g.label_revision(resolved.branch) ? resolved.branch : branch_rev;
        }
      }
      break;
    }
    case DowngradeTarget::Kind::Steps: {
      std::vector<std::string> starts = plan.current_heads;
      if (!target.branch.empty()) {
        RB_TRY_ASSIGN(auto b, g.resolve(target.branch));
        if (b.revisions.size() != 1)
          return usage_error(fmt::format("'{}' does not name one branch", target.branch), "name a branch label or a head");
        auto related = g.ancestors(b.revisions, false);
        related.merge(g.descendants(b.revisions, false));
        std::erase_if(starts, [&](const std::string& h) { return !related.count(h); });
        if (starts.empty())
          return refused(fmt::format("no row of the version table ({}) is on branch '{}'", join(rows, ", "), target.branch),
                         render_choices(downgrade_choices(g, rows)), "not-ancestor");
      }
      if (starts.size() > 1)
        return refused(fmt::format("the database has {} heads ({}), so {} does not say which to walk down from; "
                                   "Alembic would pick whichever row it reads first",
                                   starts.size(), join(starts, ", "), target.describe()),
                       render_choices(downgrade_choices(g, rows)), "multiple-heads");
      const std::string& head = starts[0];
      if (g.parents(head).size() > 1)
        return refused(fmt::format("Ambiguous walk: the database is at merge point {}, which has {} parents ({}), so "
                                   "{} does not say which branch to step down",
                                   head, g.parents(head).size(), join(g.parents(head), ", "), target.describe()),
                       render_choices(downgrade_choices(g, rows)), "ambiguous-walk");
      auto walked = g.walk_down(head, target.steps);
      if (!walked) {
        Error e = walked.take_error();
        if (e.tag == "ambiguous-walk") {
          std::vector<DowngradeChoice> choices;
          // Stop at the merge point, or go to one of its parents.
          int reach = 0;
          std::string cur = head;
          while (g.parents(cur).size() == 1) {
            cur = g.parents(cur)[0];
            ++reach;
          }
          e.message = fmt::format("Ambiguous walk: {} steps down from {} reach merge point {} after {} steps; below it "
                                  "the history splits into {}",
                                  target.steps, head, cur, reach, join(g.parents(cur), ", "));
          auto all = downgrade_choices(g, {cur});
          std::vector<DowngradeChoice> shown;
          auto to_merge = collect(g, rows, cur, "");
          if (to_merge && !to_merge->empty())
            shown.push_back({{fmt::format("{} (or --steps {})", cur, reach)}, *to_merge,
                             expected_version_rows(g, rows, *to_merge)});
          for (auto& c : all) {
            auto order = collect(g, rows, c.targets[0] == "base" ? std::nullopt : std::optional<std::string>(c.targets[0]), "");
            if (!order) continue;
            c.undoes = *order;
            c.leaves = expected_version_rows(g, rows, *order);
            shown.push_back(std::move(c));
          }
          e.hint = render_choices(shown);
        } else if (e.tag == "walked-too-far") {
          int to_base = 0;
          for (std::string cur = head;; cur = g.parents(cur)[0]) {
            ++to_base;
            if (g.parents(cur).size() != 1) break;
          }
          e.message = fmt::format("{} goes past base: walking down from {} reaches base after {} steps", target.describe(),
                                  head, to_base);
          e.hint = "use --to base to undo every migration";
        }
        return e;
      }
      plan.target = *walked;
      branch_rev = head;
      branch_text = head;
      break;
    }
  }

  RB_TRY_ASSIGN(auto order, collect(g, rows, plan.target, branch_rev));
  if (order.empty()) {
    const std::string t = plan.target ? *plan.target : "base";
    if (plan.target && std::find(rows.begin(), rows.end(), *plan.target) != rows.end())
      return refused(fmt::format("the database is already at {}: there is nothing to downgrade", t),
                     "choose a revision below it, or -1", "nothing-to-do");
    auto newer = g.descendants(rows, true);
    auto below = nearest_ancestors(g, plan.current_heads);
    std::string hint = below.empty() ? std::string("the only target below the database's revision is base")
                                     : fmt::format("revisions below the database's, nearest first: {} (or base)", join(below, ", "));
    if (plan.target && newer.count(*plan.target))
      return refused(fmt::format("{} is above the database's revision ({}): reaching it is an upgrade, not a rollback",
                                 t, join(rows, ", ")),
                     hint, "not-ancestor");
    return refused(fmt::format("{} is not below the database's revision ({}): it is on another branch", t, join(rows, ", ")),
                   hint, "not-ancestor");
  }

  // The argument for Alembic: limit to the branch only when that changes the plan.
  const std::string plain = plan.target ? *plan.target : "base";
  plan.alembic_argument = plain;
  if (!branch_rev.empty()) {
    auto unlimited = collect(g, rows, plan.target, "");
    if (!unlimited || *unlimited != order) plan.alembic_argument = branch_text + "@" + plain;
  }

  for (const auto& id : order) plan.steps.push_back({id, g.parents(id), g.find(id)});
  plan.expected_rows = expected_version_rows(g, rows, order);

  if (plan.current_heads.size() > 1) {
    std::vector<std::string> untouched;
    for (const auto& h : plan.current_heads)
      if (std::find(order.begin(), order.end(), h) == order.end()) untouched.push_back(h);
    if (!untouched.empty())
      plan.notes.push_back(fmt::format("the database has {} heads; this plan leaves {} as it is",
                                       plan.current_heads.size(), join(untouched, ", ")));
    else
      plan.notes.push_back(fmt::format("the database has {} heads ({}); this plan downgrades every one of them",
                                       plan.current_heads.size(), join(plan.current_heads, ", ")));
  }
  return plan;
}

}  // namespace rb::db
