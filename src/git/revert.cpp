#include "git/revert.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include "util/clock.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::git {

namespace fs = std::filesystem;

ScratchWorktree::ScratchWorktree(Git& repo) : repo_(repo) {}

namespace {

constexpr std::string_view kScratchPrefix = "rollback-revert";
constexpr std::string_view kOwnerFile = "owner";

// Whether `folder` is a scratch folder of ours whose process is gone: its owner file exists and
// nobody holds its flock. Taking the lock (and closing it at once) is the test.
bool owner_is_gone(const fs::path& folder) {
  const fs::path owner = folder / kOwnerFile;
  int fd = ::open(owner.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  bool gone = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return gone;
}

bool is_scratch_worktree(const fs::path& worktree) {
  return worktree.filename() == "worktree" &&
         worktree.parent_path().filename().string().starts_with(std::string(kScratchPrefix) + "-");
}

}  // namespace

std::vector<fs::path> sweep_abandoned_worktrees(Git& repo) {
  std::vector<fs::path> removed;
  auto listed = repo.try_run({"worktree", "list", "--porcelain", "-z"});
  if (!listed.ok() || !listed->ok()) return removed;
  for (const auto& field : split(listed->out, '\0')) {
    if (!field.starts_with("worktree ")) continue;
    const fs::path worktree = field.substr(9);
    if (!is_scratch_worktree(worktree) || !owner_is_gone(worktree.parent_path())) continue;
    auto r = repo.try_run({"worktree", "remove", "--force", "--", worktree.string()});
    if (!r.ok() || !r->ok()) {
      log_debug("git worktree remove {} failed: {}", worktree.string(), r.ok() ? r->err : r.error().message);
      continue;
    }
    std::error_code ec;
    fs::remove_all(worktree.parent_path(), ec);
    removed.push_back(worktree);
  }
  return removed;
}

fs::path ScratchWorktree::scratch_dir() const { return tmp_ ? tmp_->path() : fs::path(); }

Status ScratchWorktree::add(const std::string& commit) {
  if (tmp_) return failure("internal error: scratch worktree added twice");
  if (interrupted()) return interrupted_error("interrupted: the scratch worktree was not created");
  RB_TRY(check_commit_id(commit));
  for (const auto& gone : sweep_abandoned_worktrees(repo_))
    log_debug("removed {}, a scratch worktree left by a rollback that was killed", gone.string());
  RB_TRY_ASSIGN(TempDir tmp, TempDir::create(std::string(kScratchPrefix)));
  tmp_.emplace(std::move(tmp));
  path_ = tmp_->path() / "worktree";
  // Locked before the worktree exists, so a sweep never sees a worktree whose owner is unlocked.
  RB_TRY_ASSIGN(owner_fd_, open_state_file(tmp_->path() / kOwnerFile));
  if (::flock(owner_fd_, LOCK_EX | LOCK_NB) != 0)
    return failure(fmt::format("cannot lock {}: {}", (tmp_->path() / kOwnerFile).string(), strerror(errno)));
  // --no-checkout + reset: the same files as a checkout, without running the user's
  // post-checkout hook (which may install dependencies or be slow) in a throwaway tree.
  RB_TRY(repo_.run({"worktree", "add", "--detach", "--no-checkout", "--", path_.string(), commit}));
  added_ = true;
  RB_TRY(git().run({"reset", "--hard", "--quiet", commit}));
  return {};
}

ScratchWorktree::~ScratchWorktree() {
  if (!tmp_) return;
  bool removed = false;
  if (added_) {
    auto r = repo_.try_run({"worktree", "remove", "--force", "--", path_.string()});
    removed = r.ok() && r->ok();
    if (!removed) log_debug("git worktree remove {} failed: {}", path_.string(), r.ok() ? r->err : r.error().message);
  }
  if (!removed) {
    // A half-added or unremovable worktree: delete the folder, then let git drop the entry
    // whose folder is gone. Only here, not always: prune also drops the entries of the
    // user's own worktrees whose folders are missing (e.g. on an unmounted disk).
    std::error_code ec;
    fs::remove_all(path_, ec);
    auto r = repo_.try_run({"worktree", "prune"});
    if (!r.ok() || !r->ok()) log_debug("git worktree prune failed: {}", r.ok() ? r->err : r.error().message);
  }
  // tmp_ (the folder around the worktree) is removed by TempDir; the owner's lock goes with it.
  if (owner_fd_ >= 0) ::close(owner_fd_);
}

namespace {

Result<std::vector<std::string>> conflicted_files(Git& wt) {
  RB_TRY_ASSIGN(std::string out, wt.run({"diff", "--name-only", "-z", "--diff-filter=U"}));
  std::vector<std::string> files;
  for (auto& f : split(out, '\0'))
    if (!f.empty()) files.push_back(f);
  return files;
}

// The "CONFLICT (...)" lines git printed, for the error message.
std::string conflict_lines(const std::string& out, const std::string& err) {
  std::vector<std::string> lines;
  for (const auto* text : {&out, &err})
    for (auto& l : split(*text, '\n'))
      if (l.starts_with("CONFLICT")) lines.push_back("  " + trim(l));
  return join(lines, "\n");
}

}  // namespace

namespace {

// The revert up to (and, with `commit`, including) the commit: shared by create_revert and
// check_revert so a dry run refuses exactly what the real run refuses.
Result<RevertCommit> revert_in_worktree(Git& git, const Plan& plan, const std::string& onto_arg, bool commit) {
  const std::string onto = onto_arg.empty() ? plan.base_sha : onto_arg;
  if (plan.commits.empty()) return failure("internal error: nothing to revert in the plan");
  ScratchWorktree worktree(git);
  RB_TRY(worktree.add(onto));
  Git wt = worktree.git();

  const auto steps = plan.revert_steps();
  for (size_t i = 0; i < steps.size(); ++i) {
    const CommitInfo& c = plan.commits[plan.commits.size() - 1 - i];
    std::vector<std::string> args{"revert", "--no-commit", "--no-rerere-autoupdate"};
    args.insert(args.end(), steps[i].begin(), steps[i].end());
    RB_TRY_ASSIGN(ProcessResult r, wt.try_run(args));
    if (r.ok()) continue;
    auto files = conflicted_files(wt);
    std::string details = stderr_excerpt(r.err);
    // Leave the scratch worktree in a clean state before it is removed.
    (void)wt.try_run({"revert", "--abort"});
    if (files.ok() && !files->empty()) {
      std::string conflicts = conflict_lines(r.out, r.err);
      Error e = refusal(
          fmt::format("reverting {} (\"{}\") on {} conflicts in {} file{}:\n{}{}{}", c.short_sha, c.subject,
                      plan.where(), files->size(), files->size() == 1 ? "" : "s", "  " + join(*files, "\n  "),
                      conflicts.empty() ? "" : "\n", conflicts),
          fmt::format("the code changed since; nothing was changed. Revert by hand in a clone of {} (`git revert "
                      "{}{}`), resolve the conflicts and push, or fix forward",
                      plan.where(), c.is_merge() ? "-m 1 " : "", c.short_sha));
      e.tag = "conflict";
      return e;
    }
    return failure(fmt::format("`git revert --no-commit {}` on {} failed ({}):\n{}", join(steps[i], " "), plan.where(),
                               r.describe(), details));
  }

  RB_TRY_ASSIGN(ProcessResult staged, wt.try_run({"diff", "--cached", "--quiet"}));
  if (staged.ok()) {
    (void)wt.try_run({"revert", "--abort"});
    Error e = refusal(fmt::format("reverting {} on {} changes nothing: its changes are already undone there",
                                  plan.commits.size() == 1 ? fmt::format("{} (\"{}\")", plan.commits.front().short_sha,
                                                                         plan.commits.front().subject)
                                                           : fmt::format("{} commits", plan.commits.size()),
                                  plan.where()),
                      fmt::format("look for an existing revert with `git log --oneline {}`", plan.where()));
    e.tag = "empty";
    return e;
  }
  if (!commit) return RevertCommit{std::string(), onto};

  fs::path message_file = worktree.scratch_dir() / "message";
  RB_TRY(write_private_file(message_file, plan.message));
  // --cleanup=verbatim: the message is committed exactly as planned and shown (a user's
  // commit.cleanup=strip would otherwise drop reason lines starting with '#').
  auto committed = wt.run({"commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", message_file.string()});
  if (!committed) {
    Error e = committed.take_error();
    e.hint =
        "git could not create the revert commit with your configuration (identity, signing key, "
        "prepare-commit-msg hook): fix what git says above, then retry; nothing was changed";
    return e;
  }
  RB_TRY_ASSIGN(std::string head, wt.run({"rev-parse", "HEAD"}));
  return RevertCommit{trim(head), onto};
}

}  // namespace

Result<RevertCommit> create_revert(Git& git, const Plan& plan, const std::string& onto) {
  return revert_in_worktree(git, plan, onto, true);
}

Status check_revert(Git& git, const Plan& plan) {
  RB_TRY(revert_in_worktree(git, plan, {}, false));
  return {};
}

Result<std::string> create_local_branch(Git& git, const std::string& rollback_id, const std::string& sha) {
  RB_TRY(check_rollback_id(rollback_id));
  std::string branch = "rollback/" + rollback_id;
  RB_TRY(check_branch_name(branch));
  RB_TRY_ASSIGN(ProcessResult exists, git.try_run({"rev-parse", "--verify", "--quiet", "refs/heads/" + branch}));
  if (exists.ok()) {
    return usage_error(fmt::format("branch {} already exists in {}", branch, git.repo().string()),
                       fmt::format("delete it (`git branch -D {}`) or use another rollback id", branch));
  }
  RB_TRY(git.run({"branch", "--no-track", "--", branch, sha}));
  return branch;
}

PushRejection parse_push_error(const std::string& err) {
  PushRejection out;
  std::vector<std::string> report;
  for (auto& raw : split(err, '\n')) {
    std::string line = trim(raw);
    if (line.empty()) continue;
    bool rejected_line = line.starts_with("! [rejected]") || line.starts_with("! [remote rejected]");
    if (rejected_line) {
      out.rejected = true;
      if (line.starts_with("! [rejected]") && (contains(line, "(fetch first)") || contains(line, "(non-fast-forward)")))
        out.non_fast_forward = true;
    }
    if (rejected_line || line.starts_with("remote:") || line.starts_with("error:") || line.starts_with("fatal:"))
      report.push_back(line);
  }
  out.report = join(report, "\n");
  return out;
}

namespace {

Result<PushResult> push_once(Git& git, const Plan& plan, const std::string& sha, const std::string& branch,
                             const std::string& base, bool& race) {
  race = false;
  RB_TRY(check_remote_name(plan.remote));
  std::string ref = "refs/heads/" + branch;
  std::vector<std::string> args{"push", "--", plan.remote, fmt::format("{}:{}", sha, ref)};
  RB_TRY_ASSIGN(ProcessResult r, git.try_run(args, RunOptions::network()));
  if (r.ok()) return PushResult{sha, base, ref, 1, stderr_excerpt(r.err)};
  PushRejection rej = parse_push_error(r.err);
  race = rej.non_fast_forward;
  // A rejection: git's own verdict lines. Anything else (a pre-push hook, the network): all of
  // git's stderr, since the reason may be on any line.
  std::string report = rej.rejected ? rej.report : stderr_excerpt(r.err);
  Error e = failure(fmt::format("`git push {} {}:{}` was rejected:\n{}", plan.remote, sha.substr(0, 12), ref, report),
                    rej.rejected && !rej.non_fast_forward
                        ? fmt::format("the remote refused the push (protected branch or hook?); nothing was changed "
                                      "there. Push to a new branch and open a PR instead (--push-branch)")
                        : fmt::format("nothing was changed on {}; check access to it and retry", plan.remote));
  e.tag = "push-rejected";
  return e;
}

}  // namespace

Result<PushResult> push_revert(Git& git, const Plan& plan, const RevertCommit& revert, const PushOptions& options) {
  const bool to_env_branch = !options.push_branch.has_value();
  const std::string branch = to_env_branch ? plan.branch : *options.push_branch;
  RB_TRY(check_branch_name(branch));
  bool race = false;
  auto first = push_once(git, plan, revert.sha, branch, revert.base_sha, race);
  if (first.ok()) return first;
  if (!race || !to_env_branch || !options.retry_on_race) {
    Error e = first.take_error();
    if (race && !to_env_branch) {
      e.hint = fmt::format("branch {} already exists on {} with other commits: choose another branch name", branch,
                           plan.remote);
    } else if (race) {
      e.hint = fmt::format("someone pushed to {} meanwhile; run the rollback again", plan.where());
    }
    return e;
  }

  // A push race: someone pushed to the branch between our fetch and our push. Once: fetch,
  // check our commits are still there, re-create the revert on the new tip, push again.
  log_debug("push to {} rejected (non-fast-forward); fetching and retrying once", plan.where());
  RB_TRY(git.fetch(plan.remote, plan.branch));
  RB_TRY_ASSIGN(std::string tip, git.resolve_commit(remote_ref(plan.remote, plan.branch)));
  for (const auto& c : plan.commits) {
    RB_TRY_ASSIGN(bool still, git.is_ancestor(c.sha, tip));
    if (!still) {
      Error e = refusal(fmt::format("after a concurrent push, commit {} is no longer on {} (history was rewritten)",
                                    c.short_sha, plan.where()),
                        "nothing was pushed; look at the branch's history, then run the rollback again");
      e.tag = "not-on-branch";
      return e;
    }
  }
  RB_TRY_ASSIGN(RevertCommit again, create_revert(git, plan, tip));
  auto second = push_once(git, plan, again.sha, branch, again.base_sha, race);
  if (!second.ok()) {
    Error e = second.take_error();
    e.message = "after one retry, " + e.message;
    if (race) {
      e.tag = "push-race";
      e.hint = fmt::format("{} keeps moving; nothing was pushed. Run the rollback again", plan.where());
    }
    return e;
  }
  second->attempts = 2;
  return second;
}

Result<PushResult> revert_and_push(Git& git, const Plan& plan, const PushOptions& options) {
  RB_TRY_ASSIGN(RevertCommit revert, create_revert(git, plan));
  return push_revert(git, plan, revert, options);
}

}  // namespace rb::git
