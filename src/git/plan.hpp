// The plan of a revert: what will be reverted, which files change, and the exact message.
// Built before anything changes, so the command can show it, guard it and ask for confirmation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "git/commits.hpp"
#include "git/git.hpp"
#include "git/message.hpp"
#include "git/resolve.hpp"
#include "util/result.hpp"

namespace rb::git {

// One file of the change being undone. The counts are those of the original change (what
// `git diff --numstat` says about it): the revert removes `added` lines and restores `deleted`
// ones. Renames appear as a deletion plus an addition (--no-renames), so both paths are listed.
struct FileChange {
  std::string path;
  std::optional<long> added;    // nullopt for a binary file (numstat "-")
  std::optional<long> deleted;  // nullopt for a binary file
  bool binary() const { return !added.has_value(); }
};

// Parses `git diff-tree --numstat -z` output ("added\tdeleted\tpath\0" records; "-\t-\t" for
// binary files). Error (Failed) on a malformed record.
Result<std::vector<FileChange>> parse_numstat(std::string_view out);

struct PlanOptions {
  MessageOptions message;  // reason and rollback id
};

struct Plan {
  RevertKind kind = RevertKind::Plain;
  std::string remote, branch;
  std::string base_sha;                     // tip of <remote>/<branch> when resolved; the revert goes on top
  std::vector<CommitInfo> commits;          // oldest first; subject: the message's first line, as git quotes it
  std::string range_from;                   // Range: full sha of A (excluded)
  std::string diff_from, diff_to;           // the change being undone is diff_from..diff_to
  std::vector<FileChange> files;            // sorted by path
  std::vector<std::string> paths;           // the same paths, for the path guards
  long lines_added = 0, lines_deleted = 0;  // totals over text files, of the original change
  std::string message;                      // the exact message the revert commit will carry

  // Arguments of `git revert --no-commit` for each commit, in the order to run them (newest
  // first): {"-m", "1", sha} for a merge, {sha} otherwise.
  std::vector<std::vector<std::string>> revert_steps() const;
  // "origin/main"
  std::string where() const { return remote_display(remote, branch); }
};

// Computes the diffstat and message of `resolved`. The diff is `M^1..M` for a merge (what it
// brought to mainline), `C^..C` for a commit (the empty tree for a root commit), `A..B` for a
// range. Usage error for an invalid rollback id.
Result<Plan> make_plan(Git& git, const Resolved& resolved, const PlanOptions& options);

}  // namespace rb::git
