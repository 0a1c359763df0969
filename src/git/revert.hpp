// Making the revert commit and publishing it, without ever touching the user's working tree:
// the revert is made in a temporary detached worktree on <remote>/<branch>, which is removed
// whatever happens. The user's checked-out branch, index and uncommitted changes stay as they
// were; only objects (and, on request, one ref) are added to their repository.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "git/git.hpp"
#include "git/plan.hpp"
#include "util/fs.hpp"
#include "util/result.hpp"

namespace rb::git {

// A detached worktree in a fresh temporary folder. The destructor removes it
// (`git worktree remove --force`; when that fails, the folder is deleted and
// `git worktree prune` drops the stale entry). Errors while removing are logged, not returned.
//
// A SIGKILL runs no destructor, so the folder also holds a file `owner`, flock(2)ed for the
// worktree's whole life: the kernel drops that lock when its process dies, however it dies.
// sweep_abandoned_worktrees (run by add() and by every command that opens the repository)
// removes the scratch worktrees whose owner file nobody holds any more.
class ScratchWorktree {
 public:
  explicit ScratchWorktree(Git& repo);
  ~ScratchWorktree();
  ScratchWorktree(const ScratchWorktree&) = delete;
  ScratchWorktree& operator=(const ScratchWorktree&) = delete;

  // Adds the worktree with `commit` checked out (detached). Call once. The user's
  // post-checkout hook is not run: the checkout is an internal step, not the user's.
  Status add(const std::string& commit);

  bool added() const { return added_; }
  const std::filesystem::path& path() const { return path_; }
  // A folder next to the worktree (not inside it) for scratch files such as the message.
  std::filesystem::path scratch_dir() const;
  Git git() const { return repo_.at(path_); }

 private:
  Git& repo_;
  std::optional<TempDir> tmp_;
  int owner_fd_ = -1;  // flock held while the worktree lives
  std::filesystem::path path_;
  bool added_ = false;
};

// Removes the scratch worktrees of `repo` (a `rollback-revert-*/worktree` listed by `git worktree
// list`) whose owner file is no longer locked: their rollback was killed. A scratch folder
// without an owner file, or whose owner lives, is left alone; the user's own worktrees are never
// touched. Returns the paths removed (for the caller to report); failures are logged, never
// returned, since a leftover must not stop a rollback.
std::vector<std::filesystem::path> sweep_abandoned_worktrees(Git& repo);

struct RevertCommit {
  std::string sha;       // the new revert commit (its parent is base_sha)
  std::string base_sha;  // the branch tip it was made on
};

// Makes the revert commit of `plan` on top of `onto` (default: plan.base_sha) in a scratch
// worktree: `git revert --no-commit [-m 1] <sha>` for each commit, newest first, then one
// `git commit -F <message file>` (the user's signing configuration applies; --no-verify
// because the runbook's `git revert` does not run pre-commit/commit-msg hooks either).
// Errors:
//  - Refused, tag "conflict": the revert does not apply cleanly; the message lists the
//    conflicting files (the revert was aborted, nothing was kept).
//  - Refused, tag "empty": the change is already undone on the branch.
//  - Failed: anything else, with git's stderr.
Result<RevertCommit> create_revert(Git& git, const Plan& plan, const std::string& onto = {});

// The checks of create_revert without the commit, for a dry run: the revert is applied in a
// scratch worktree (removed afterwards) and the same "conflict" and "empty" refusals come back.
// Only objects git writes while reverting are added to the repository; no ref changes.
Status check_revert(Git& git, const Plan& plan);

// For --no-push: creates branch rollback/<id> pointing at `sha` in the user's repository
// (a ref only; nothing is checked out). Usage error if the branch already exists.
// Returns the branch name.
Result<std::string> create_local_branch(Git& git, const std::string& rollback_id, const std::string& sha);

// How git answered a push, parsed from its stderr (LC_ALL=C).
struct PushRejection {
  bool rejected = false;
  bool non_fast_forward = false;  // "! [rejected] ... (fetch first)" / "(non-fast-forward)": someone pushed first
  std::string report;             // git's own lines: "remote: ...", "! [rejected] ...", "error: ..."
};
// Pure: classifies the stderr of a failed `git push`.
PushRejection parse_push_error(const std::string& err);

struct PushOptions {
  // Push to this new branch instead of the environment's branch (to open a PR). No retry:
  // a rejection there means the branch already exists with other commits.
  std::optional<std::string> push_branch;
  // On a push race (non-fast-forward) to the environment's branch: fetch, re-create the
  // revert on the new tip and push once more, if it still applies cleanly.
  bool retry_on_race = true;
};

struct PushResult {
  std::string sha;       // the commit that was pushed (differs from the first one after a retry)
  std::string base_sha;  // the tip it was made on
  std::string ref;       // refs/heads/<branch>
  int attempts = 1;
  std::string output;  // git's stderr of the successful push (remote messages, e.g. a PR link)
};

// `git push <remote> <sha>:refs/heads/<branch>` (no force). A rejected push is an Error
// (Failed, tag "push-rejected", or "push-race" when the retry was rejected too) quoting git's
// own lines; a retry that no longer applies cleanly is the create_revert error (Refused).
// Nothing is left behind on failure: no local branch, no worktree.
Result<PushResult> push_revert(Git& git, const Plan& plan, const RevertCommit& revert, const PushOptions& options);

// create_revert + push_revert.
Result<PushResult> revert_and_push(Git& git, const Plan& plan, const PushOptions& options);

}  // namespace rb::git
