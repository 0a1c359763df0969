// Commits as the git layer sees them, and the pure parsing of what git prints about them:
// log records, GitHub's pull-request subjects, and the subject of a revert.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rb::git {

struct CommitInfo {
  std::string sha;                   // full
  std::string short_sha;             // abbreviated as git abbreviates it (may be empty before planning)
  std::vector<std::string> parents;  // full shas, first parent first
  std::string author_name;
  std::string author_email;
  std::string date;     // author date, strict ISO 8601 (%aI)
  std::string subject;  // first line of the message

  bool is_merge() const { return parents.size() > 1; }
};

// The --format of every `git log` the layer parses: fields separated by NUL, records ended by
// the record separator 0x1e (git adds a newline after each record).
inline constexpr std::string_view kLogFormat = "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%s%x1e";

// Parses `git log` output in kLogFormat. A malformed record is an Error (Failed) naming it.
Result<std::vector<CommitInfo>> parse_log(std::string_view out);

// How a subject claims a pull request, the two ways GitHub writes it on the base branch.
enum class PrStyle {
  MergeCommit,  // "Merge pull request #123 from owner/branch"
  Squash,       // "Fix the thing (#123)"
};

struct PrClaim {
  PrStyle style;
  unsigned long number;
};

// The pull request a subject claims, if any. Numbers are matched whole: "#12" is not "#123".
std::optional<PrClaim> parse_pr_subject(std::string_view subject);

// The subject git writes when reverting a commit with this subject, following git >= 2.43
// (sequencer.c) so the result is the same whichever git the user has:
//   X                     -> Revert "X"
//   Revert "X"            -> Reapply "X"
//   Revert "Revert "X""   -> Revert "Revert "Revert "X""" (git leaves repeated reverts alone)
//   Reapply "X"           -> Revert "Reapply "X""
std::string revert_subject(std::string_view subject);

}  // namespace rb::git
