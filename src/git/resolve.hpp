// Resolving what to revert on an environment's branch: a PR number, a commit, or a range.
// Everything is looked up on the remote-tracking ref <remote>/<branch> (fetch it first with
// Git::fetch), never on the user's checked-out branch.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "git/commits.hpp"
#include "git/git.hpp"
#include "util/result.hpp"

namespace rb::git {

// How far back a PR is looked for on the branch's first-parent history. 2000 first-parent
// commits is years of merges for a typical service; a PR older than that is not a rollback
// candidate (and --commit still reaches it).
constexpr std::size_t kDefaultMaxCommits = 2000;

// What the user asked to revert.
struct Target {
  enum class Type { PullRequest, Commit, Range };
  Type type = Type::Commit;
  unsigned long pr = 0;  // PullRequest
  std::string commit;    // Commit: full or abbreviated sha
  std::string from, to;  // Range: A..B (A excluded)

  static Target pull_request(unsigned long number);
  static Target single_commit(std::string sha);
  // Parses "A..B" (two commit ids, A excluded). Usage error for anything else, including the
  // symmetric difference "A...B".
  static Result<Target> range(std::string_view spec);

  std::string describe() const;  // "PR #123", "commit 4f2a9c1", "range 1a2b3c4..5d6e7f8"
};

// How the change will be reverted.
enum class RevertKind {
  Merge,   // a merge commit: git revert -m 1 (undo everything the merge brought to mainline)
  Squash,  // a squash-merged PR: one commit whose subject ends in (#N)
  Plain,   // any other single commit
  Range,   // several commits (a rebase-merged PR), reverted as one commit
};
const char* to_string(RevertKind kind);  // "merge", "squash", "plain", "range"

struct ResolveOptions {
  std::string remote = "origin";
  std::string branch;                            // the environment's branch (required)
  std::size_t max_commits = kDefaultMaxCommits;  // PR search depth
};

struct Resolved {
  RevertKind kind = RevertKind::Plain;
  std::vector<CommitInfo> commits;  // what to revert, oldest first (short_sha filled in)
  std::string remote, branch;
  std::string base_sha;    // the tip of <remote>/<branch> the resolution was made on
  std::string range_from;  // Range: full sha of A (excluded); empty otherwise
};

// A candidate found by the PR search, for the "ambiguous"/"not found" messages.
struct PrMatch {
  CommitInfo commit;
  PrStyle style;
};

// Pure: the commits of `history` whose subject claims PR `number`, in history order.
std::vector<PrMatch> find_pr(const std::vector<CommitInfo>& history, unsigned long number);

// Resolves `target` on <remote>/<branch>:
//  - PullRequest: the one first-parent commit that claims the PR (merge or squash subject);
//    none or several -> Usage error listing what was found, suggesting --commit or --range.
//  - Commit: must be an ancestor of the branch tip (Refused otherwise); a merge commit is
//    reverted with -m 1.
//  - Range: the commits of A..B oldest first; A must be an ancestor of B and B of the tip;
//    empty ranges and ranges containing merge commits are Usage errors.
// A missing remote-tracking ref is a Usage error (fetch first).
Result<Resolved> resolve(Git& git, const Target& target, const ResolveOptions& options);

}  // namespace rb::git
