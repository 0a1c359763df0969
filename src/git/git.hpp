// The git runner: every git command of the git layer goes through here. It runs the real
// `git` binary by argument vector (never a shell) so the user's own configuration applies:
// credentials, commit signing, hooks, proxies.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/process.hpp"
#include "util/result.hpp"

namespace rb::git {

// fetch and push talk to a server; a hung connection must not hang a rollback forever.
// Ten minutes is the default timeout of the AWS CLI waiter the rest of the tool lives with
// (DOMAIN.md §1), and far above what a fetch of one branch or a push of one commit needs.
constexpr std::chrono::milliseconds kNetworkTimeout = std::chrono::minutes(10);

// Local git commands (log, diff, revert, commit) on a big repository take seconds; a commit
// may also run the user's hooks and signing (gpg may wait for a pinentry). Generous on purpose.
constexpr std::chrono::milliseconds kLocalTimeout = std::chrono::minutes(5);

// Longest remote name accepted; git has no limit, 100 matches the rollback id limit of
// check_rollback_id and is far above any real remote name ("origin", "upstream").
constexpr size_t kMaxRemoteName = 100;

struct RunOptions {
  std::optional<std::string> stdin_data;
  std::chrono::milliseconds timeout = kLocalTimeout;

  static RunOptions network() { return RunOptions{std::nullopt, kNetworkTimeout}; }
  static RunOptions with_stdin(std::string data) { return RunOptions{std::move(data), kLocalTimeout}; }
};

class Git {
 public:
  // `repo` is any folder inside a working tree (or a bare repository); commands run as
  // `git -C <repo> ...`.
  Git(CommandRunner& runner, std::filesystem::path repo);

  // Runs `git -C <repo> <args...>` with LC_ALL=C (messages we parse are English) and
  // GIT_TERMINAL_PROMPT=0 (a missing credential fails instead of waiting for a person), and
  // GIT_DIR/GIT_WORK_TREE/GIT_INDEX_FILE removed so `-C` decides which repository is used.
  // Returns stdout. A non-zero exit is an Error (Failed) quoting the command and git's stderr.
  Result<std::string> run(std::vector<std::string> args, const RunOptions& options = {});

  // Same, but a non-zero exit is returned as a ProcessResult for the caller to interpret
  // (e.g. `merge-base --is-ancestor` answers with its exit code). An Error only when git
  // could not be started or timed out.
  Result<ProcessResult> try_run(std::vector<std::string> args, const RunOptions& options = {});

  // A runner for another folder (a temporary worktree), sharing the command runner.
  Git at(std::filesystem::path other) const { return Git(*runner_, std::move(other)); }

  const std::filesystem::path& repo() const { return repo_; }
  CommandRunner& runner() const { return *runner_; }

  // Checks that `repo` exists and is inside a git repository (Usage error otherwise).
  Status check_repository();

  // `git fetch <remote> +refs/heads/<branch>:refs/remotes/<remote>/<branch>`: the explicit
  // refspec updates the remote-tracking ref even when the remote's configured fetch refspec
  // does not cover it. Errors (Usage) when the remote is unknown or has no such branch.
  Status fetch(const std::string& remote, const std::string& branch);

  // Full sha of `rev^{commit}`. Errors (Usage) when it names no commit (or is ambiguous).
  Result<std::string> resolve_commit(const std::string& rev);

  // `git merge-base --is-ancestor ancestor descendant`.
  Result<bool> is_ancestor(const std::string& ancestor, const std::string& descendant);

 private:
  ProcessOptions process_options(const RunOptions& options) const;

  CommandRunner* runner_;
  std::filesystem::path repo_;
};

// "refs/remotes/origin/main": used in commands so a local branch named "origin/main" can
// never shadow the remote-tracking ref.
std::string remote_ref(const std::string& remote, const std::string& branch);
// "origin/main", for messages.
std::string remote_display(const std::string& remote, const std::string& branch);

// Validates a branch name the way git would use it after refs/heads/ (Usage error otherwise):
// no leading '-', no "..", no whitespace or control characters, none of ~^:?*[\ .
Status check_branch_name(const std::string& branch);

// Validates a git remote name from the configuration (Usage error otherwise): letters, digits,
// '.', '_', '-' and '/', not starting with '-' or '.', no "..", at most kMaxRemoteName characters.
// A value starting with '-' would otherwise be read by git as an option (`--upload-pack=...`).
Status check_remote_name(const std::string& remote);

// Validates a user-given commit id: 4 to 64 hex digits (Usage error otherwise). Symbolic
// names (HEAD, branch names) are refused on purpose: they would be resolved in the user's
// clone, which may differ from the environment's branch.
Status check_commit_id(const std::string& id);

// git's stderr lines worth showing in an error: everything except `hint:` lines (advice
// such as "git pull" that does not apply here), trailing whitespace removed.
std::string stderr_excerpt(const std::string& err);

// How a folder of the checkout compares with the environment's branch as fetched, so a layer
// that reads files from the checkout (the Alembic scripts) can tell a stale one.
struct FolderFreshness {
  std::string branch_tip;                // full sha of refs/remotes/<remote>/<branch> after the fetch
  std::vector<std::string> differences;  // "M\tpath" / "A\tpath" / "D\tpath" (working tree vs the tip), "?\tpath" untracked
  bool fresh() const { return differences.empty(); }
};
// Fetches <remote>/<branch> and compares `folder` (relative to the repository folder of `git`)
// in the working tree, uncommitted and untracked files included, with the branch's tip.
Result<FolderFreshness> compare_folder_with_branch(Git& git, const std::string& remote, const std::string& branch,
                                                   const std::string& folder);

// Refuses (Refused, tag "branch-exists" / "environment-branch") a branch meant to be new on
// `remote`: one of `environment_branches` (pushing there would bypass review), or a branch that
// already exists there (`git ls-remote --heads`). Network errors are returned as Failed.
Status check_new_remote_branch(Git& git, const std::string& remote, const std::string& branch,
                               const std::vector<std::string>& environment_branches);

}  // namespace rb::git
