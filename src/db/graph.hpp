// The Alembic revision graph: validation, heads and bases, walks, resolving what a user types
// ("ae1027a6acf", "ae10", "base", "heads", "mybranch@head", "-2"), and Alembic's own
// topological order. Follows Alembic 1.8.1's RevisionMap (alembic/script/revision.py).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "db/script_reader.hpp"
#include "util/result.hpp"

namespace rb::db {

// The shortest partial revision id accepted (Alembic's message asks for "at least four
// characters"; stricter than Alembic, which also takes a unique shorter prefix).
constexpr size_t kMinRevisionPrefix = 4;

// What a revision specification resolved to.
struct ResolvedRevisions {
  std::vector<std::string> revisions;  // full ids; empty means "base"
  std::string branch;                  // "label" from "label@...", else empty
  bool is_base() const { return revisions.empty(); }
};

class RevisionGraph {
 public:
  // Builds and validates the graph. One Error lists every problem, each naming its files:
  // two scripts with one revision id (tag "duplicate-revision"), a down_revision or
  // depends_on naming no known revision (tag "missing-parent"), a cycle ("cycle"), an id
  // with '@', '-' or '+' ("bad-revision-id"), a branch label used twice ("duplicate-label").
  static Result<RevisionGraph> build(std::vector<MigrationScript> scripts);

  // Scripts in load order (Alembic's tie-breaking order).
  const std::vector<MigrationScript>& scripts() const { return scripts_; }
  const MigrationScript* find(std::string_view id) const;
  bool contains(std::string_view id) const { return find(id) != nullptr; }
  size_t size() const { return scripts_.size(); }

  // Revisions that no other revision names in down_revision or depends_on: what the version
  // table holds after `alembic upgrade heads` (Alembic's "real" heads). In load order.
  std::vector<std::string> heads() const;
  // Revisions with no down_revision.
  std::vector<std::string> bases() const;
  std::vector<std::string> merge_points() const;   // two or more down_revisions
  std::vector<std::string> branch_points() const;  // two or more children by down_revision

  const std::vector<std::string>& parents(std::string_view id) const;   // down_revision
  const std::vector<std::string>& children(std::string_view id) const;  // by down_revision only
  // depends_on resolved to revision ids (branch labels replaced by their revision).
  const std::vector<std::string>& dependencies(std::string_view id) const;
  // Alembic's _normalized_down_revisions: down_revision, then the dependencies that no ancestor
  // already depends on. A dependency that is itself an ancestor stays (see expected rows in
  // planner.hpp). This is what a downgrade of `id` moves the version table to.
  const std::vector<std::string>& normalized_down_revisions(std::string_view id) const;

  // Ancestors and descendants of the given revisions, the revisions themselves included.
  // With dependencies, depends_on edges count as well (normalized, as Alembic does).
  std::set<std::string> ancestors(const std::vector<std::string>& ids, bool with_dependencies) const;
  std::set<std::string> descendants(const std::vector<std::string>& ids, bool with_dependencies) const;
  // Whether `ancestor` is below `id` (or is `id`), following down_revision only.
  bool is_ancestor(std::string_view ancestor, std::string_view id) const;

  // Branch labels as Alembic reports them: a label covers the revision declaring it, its
  // descendants, and its ancestors up to the nearest branch point or merge point.
  std::vector<std::string> branch_labels(std::string_view id) const;
  // The revision that declares a branch label, if any.
  std::optional<std::string> label_revision(std::string_view label) const;

  // Walks `steps` revisions down from `start` following down_revision only. nullopt means
  // "base". Errors (code Refused): tag "ambiguous-walk" when a merge point is reached
  // (Alembic's "Ambiguous walk"), tag "walked-too-far" when the walk passes base.
  Result<std::optional<std::string>> walk_down(const std::string& start, int steps) const;

  // Resolves what a user typed: a full id, a unique prefix of at least kMinRevisionPrefix
  // characters, a branch label, "base", "head" (refused when there are several heads),
  // "heads", "label@head(s)", "label@<rev>", and relative "-N" / "<rev>-N" / "label@-N".
  // Relative steps start at `current` when given (the database's rows), else at the heads.
  // Errors (code Usage): unknown id (with a suggestion), prefix too short, ambiguous prefix
  // listing every candidate (tag "ambiguous-prefix"), several heads for "head".
  Result<ResolvedRevisions> resolve(std::string_view spec, const std::vector<std::string>& current = {}) const;

  // Alembic's _topological_sort: `revisions` ordered from the top down (children before their
  // parents, dependents before their dependencies), starting from `heads`, ties broken by load
  // order. This is the order Alembic runs downgrades in, and the order of `alembic history`.
  std::vector<std::string> topological_order(const std::set<std::string>& revisions,
                                             const std::vector<std::string>& heads) const;

  // One line of `alembic history` (non-verbose) for a revision:
  // "a, b -> c (label) (head) (mergepoint), doc".
  std::string history_line(std::string_view id) const;
  // Every line of `alembic history`, in Alembic's order.
  std::vector<std::string> history() const;

 private:
  struct Node {
    std::vector<std::string> children;          // nextrev
    std::vector<std::string> all_children;      // _all_nextrev (down_revision and depends_on)
    std::vector<std::string> dependencies;      // resolved depends_on
    std::vector<std::string> normalized_down;   // _normalized_down_revisions
    std::set<std::string> labels;               // propagated branch labels
    // The same edges as positions in scripts_, for the walks that run for every revision.
    std::vector<size_t> parent_idx, norm_idx, child_idx, all_child_idx;
  };

  const Node& node(std::string_view id) const;
  std::vector<char> reach(const std::vector<std::string>& ids, bool down, bool with_dependencies) const;
  std::vector<char> reach_idx(std::vector<size_t> starts, bool down, bool with_dependencies) const;
  size_t load_index(std::string_view id) const;
  bool is_real_head(std::string_view id) const;
  bool is_head(std::string_view id) const;  // no children by down_revision
  Result<std::string> resolve_one(std::string_view ident, std::string_view branch) const;
  std::vector<std::string> filter_for_lineage(const std::vector<std::string>& ids, std::string_view against) const;

  std::vector<MigrationScript> scripts_;
  std::map<std::string, size_t, std::less<>> index_;  // id -> position in scripts_
  std::map<std::string, std::string, std::less<>> labels_;  // declared label -> revision
  std::vector<Node> nodes_;                            // parallel to scripts_
};

}  // namespace rb::db
