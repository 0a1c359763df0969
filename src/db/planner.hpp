// Planning a downgrade: which migrations `alembic downgrade <target>` runs, in Alembic's
// order, from the rows of the database's version table; and which rows the table holds
// afterwards. Refuses (ExitCode::Refused, with the choices spelled out in the hint) wherever
// Alembic would guess, fail, or do nothing. Follows Alembic 1.8.1 (script/revision.py
// _collect_downgrade_revisions, runtime/migration.py HeadMaintainer).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/graph.hpp"
#include "util/result.hpp"

namespace rb::db {

struct DowngradeTarget {
  enum class Kind { Steps, Revision, Base };
  Kind kind = Kind::Steps;
  int steps = 1;         // Kind::Steps: how many revisions to walk down (following down_revision)
  std::string branch;    // Kind::Steps: start from the database head on this branch ("<branch>@-N")
  std::string revision;  // Kind::Revision: as typed: an id, a unique prefix, a label, "<branch>@<rev>"

  static DowngradeTarget base();
  static DowngradeTarget relative(int steps, std::string branch = {});
  static DowngradeTarget to(std::string revision);
  // "base", "-2", "mybranch@-1", otherwise a revision. Errors (Usage) for "0", "+1", "2".
  static Result<DowngradeTarget> parse(std::string_view text);
  std::string describe() const;  // "-1", "base", "ae10"
};

struct PlanStep {
  std::string revision;
  std::vector<std::string> to_revisions;  // its down_revision(s), as Alembic logs "downgrade X -> Y"
  const MigrationScript* script = nullptr;  // owned by the graph
};

struct DowngradePlan {
  std::vector<std::string> current_rows;   // the version table as read
  // The rows that are not ancestors of another row. Several rows where one is below another
  // are what Alembic 1.8.1 leaves after downgrading a revision with depends_on.
  std::vector<std::string> current_heads;
  std::optional<std::string> target;       // nullopt: base
  // What to pass to `alembic downgrade`: a full id, "base", or "<head>@<id>" when the plan is
  // limited to one branch. Never relative: with several rows Alembic picks the first row it
  // reads for "-N" (and only warns), which may be a different branch or a stale row.
  std::string alembic_argument;
  std::vector<PlanStep> steps;             // in the order Alembic runs them
  std::vector<std::string> expected_rows;  // the version table after the run, sorted
  std::vector<std::string> notes;          // things the user should know about this plan
};

// Plans `alembic downgrade` from the version table rows `version_rows` to `target`.
// Refuses (code Refused; tag in brackets) when:
//  - a row names a revision no script defines [unknown-db-revision], or a row repeats
//    [duplicate-version-rows], or the table is empty [at-base];
//  - steps were asked and the database has several heads [multiple-heads], or the walk meets
//    a merge point [ambiguous-walk], or passes base [walked-too-far];
//  - the target is not below the current revision(s) [not-ancestor], or equals it
//    [nothing-to-do].
// A revision target that does not resolve is a Usage error (see RevisionGraph::resolve).
Result<DowngradePlan> plan_downgrade(const RevisionGraph& graph, const std::vector<std::string>& version_rows,
                                     const DowngradeTarget& target);

// The version table rows to expect after downgrading `downgraded` (in order) from
// `version_rows`, as Alembic 1.8.1 writes them. Downgrading a revision whose depends_on is not
// implied by another remaining row leaves a row for the dependency too, even when it is an
// ancestor: downgrading X (down_revision P, depends_on A, A below P) leaves {P, A}. Sorted.
std::vector<std::string> expected_version_rows(const RevisionGraph& graph, const std::vector<std::string>& version_rows,
                                               const std::vector<std::string>& downgraded);

// An explicit target the user can choose instead of an ambiguous one.
struct DowngradeChoice {
  std::vector<std::string> targets;   // equivalent ways to write it (for --to); the first is preferred
  std::vector<std::string> undoes;    // the migrations it runs, in order
  std::vector<std::string> leaves;    // the version rows afterwards
};

// Sensible explicit targets from these rows: one branch at a time for several heads, the
// parents (and their branch point) for a merge point, and base. Used in refusal hints.
std::vector<DowngradeChoice> downgrade_choices(const RevisionGraph& graph, const std::vector<std::string>& version_rows);

}  // namespace rb::db
