// The commit message a rollback revert carries. Pure functions.
//
// One commit (a merge reverted with -m 1, a squash commit, a plain commit): git's own message,
// byte for byte what `git revert [-m 1]` writes, then our additions:
//
//   Revert "<subject>"                      (or Reapply "X" when <subject> is Revert "X")
//   <blank>
//   This reverts commit <full sha>.         (a merge: "This reverts commit <sha>, reversing
//                                            changes made to <first parent sha>.")
//   <blank>
//   Reason: <reason>                        (only when a reason is given; may span lines)
//   <blank>
//   Rollback-Id: <id>                       (the trailer block, always last)
//
// A range of several commits (a rebase-merged PR), reverted as one commit:
//
//   Revert 3 commits (<short A>..<short B>)
//   <blank>
//   Reverted commits, newest first:
//     <short sha> <subject>                 (one line per commit)
//   <blank>
//   This reverts commit <full sha>.         (one line per commit, newest first, so tools that
//                                            look for git's sentence find every commit)
//   ...then Reason and the trailer as above.
//
// A range of exactly one commit gets the single-commit message.
#pragma once

#include <string>
#include <vector>

#include "git/commits.hpp"
#include "util/result.hpp"

namespace rb::git {

struct MessageOptions {
  std::string reason;       // free text, may be empty
  std::string rollback_id;  // the journal's id; empty: no trailer
};

// Rollback ids travel in a trailer and in a branch name (rollback/<id>): letters, digits,
// '.', '_' and '-', at most 100 characters, not starting with '.' or '-' (Usage error otherwise).
Status check_rollback_id(const std::string& id);

// The message for reverting `commits` (oldest first; each with sha, short_sha, parents and
// subject). `range_from_short` is the abbreviated, excluded start A of a range A..B (unused
// for a single commit).
// Merge commits are described as reverted against their first parent (-m 1).
std::string build_revert_message(const std::vector<CommitInfo>& commits, const std::string& range_from_short,
                                 const MessageOptions& options);

}  // namespace rb::git
