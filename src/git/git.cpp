#include "git/git.hpp"

#include <fmt/format.h>

#include <cctype>

#include "util/strings.hpp"

namespace rb::git {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> full_argv(const fs::path& repo, std::vector<std::string> args) {
  std::vector<std::string> argv{"git", "-C", repo.string()};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return argv;
}

}  // namespace

Git::Git(CommandRunner& runner, fs::path repo) : runner_(&runner), repo_(std::move(repo)) {}

ProcessOptions Git::process_options(const RunOptions& options) const {
  ProcessOptions p;
  p.env_set = {{"LC_ALL", "C"}, {"GIT_TERMINAL_PROMPT", "0"}};
  // Variables that would override `-C` (set when rollback is started from a git hook).
  p.env_unset = {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR"};
  p.stdin_data = options.stdin_data;
  p.timeout = options.timeout;
  return p;
}

Result<ProcessResult> Git::try_run(std::vector<std::string> args, const RunOptions& options) {
  auto argv = full_argv(repo_, std::move(args));
  RB_TRY_ASSIGN(ProcessResult r, runner_->run(argv, process_options(options)));
  if (r.timed_out) {
    return failure(fmt::format("`{}` timed out after {}", format_argv(argv), format_duration(options.timeout)),
                   "check the network connection to the remote (or a hook waiting for input), then retry");
  }
  return r;
}

Result<std::string> Git::run(std::vector<std::string> args, const RunOptions& options) {
  auto argv = full_argv(repo_, args);
  RB_TRY_ASSIGN(ProcessResult r, try_run(std::move(args), options));
  if (!r.ok()) {
    std::string err = stderr_excerpt(r.err);
    return failure(fmt::format("`{}` failed ({}){}{}", format_argv(argv), r.describe(), err.empty() ? "" : ":\n", err));
  }
  return std::move(r.out);
}

Status Git::check_repository() {
  std::error_code ec;
  if (!fs::is_directory(repo_, ec)) {
    return usage_error(fmt::format("repository folder {} does not exist", repo_.string()),
                       "run rollback inside a clone of the application repository, or point it at one");
  }
  RB_TRY_ASSIGN(ProcessResult r, try_run({"rev-parse", "--git-dir"}));
  if (!r.ok()) {
    return usage_error(fmt::format("{} is not a git repository: {}", repo_.string(), stderr_excerpt(r.err)),
                       "run rollback inside a clone of the application repository, or point it at one");
  }
  return {};
}

Status Git::fetch(const std::string& remote, const std::string& branch) {
  RB_TRY(check_remote_name(remote));
  RB_TRY(check_branch_name(branch));
  std::string refspec = fmt::format("+refs/heads/{}:{}", branch, remote_ref(remote, branch));
  // "--" ends the options: the remote can never be read as one.
  std::vector<std::string> args{"fetch", "--no-tags", "--quiet", "--", remote, refspec};
  RB_TRY_ASSIGN(ProcessResult r, try_run(args, RunOptions::network()));
  if (r.ok()) return {};
  std::string err = stderr_excerpt(r.err);
  std::string what = fmt::format("`{}` failed ({}):\n{}", format_argv(full_argv(repo_, args)), r.describe(), err);
  if (contains(r.err, "couldn't find remote ref")) {
    Error e = usage_error(
        fmt::format("{} has no branch {}: {}", remote, branch, what),
        fmt::format("check the branch configured for this environment (`git ls-remote --heads {}`)", remote));
    e.tag = "no-such-branch";
    return e;
  }
  if (contains(r.err, "does not appear to be a git repository") || contains(r.err, "No such remote")) {
    return usage_error(fmt::format("the repository has no usable remote {}: {}", remote, what),
                       "check `git remote -v` in the repository");
  }
  return failure(what, fmt::format("check access to {} (`git fetch {}` by hand shows the same error)", remote, remote));
}

Result<std::string> Git::resolve_commit(const std::string& rev) {
  RB_TRY_ASSIGN(ProcessResult r, try_run({"rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"}));
  if (!r.ok()) {
    std::string err = stderr_excerpt(r.err);
    Error e = usage_error(
        fmt::format("{} is not a known commit in {}{}{}", rev, repo_.string(), err.empty() ? "" : ": ", err),
        "check the sha (`git log --oneline` on the environment's branch); a commit pushed "
        "elsewhere may need a fetch first");
    e.tag = contains(r.err, "ambiguous") ? "ambiguous" : "unknown-commit";
    if (e.tag == "ambiguous") e.hint = "give more digits of the sha";
    return e;
  }
  return trim(r.out);
}

Result<bool> Git::is_ancestor(const std::string& ancestor, const std::string& descendant) {
  std::vector<std::string> args{"merge-base", "--is-ancestor", ancestor, descendant};
  RB_TRY_ASSIGN(ProcessResult r, try_run(args));
  if (r.ok()) return true;
  if (r.signal == 0 && r.exit_code == 1) return false;
  return failure(
      fmt::format("`{}` failed ({}): {}", format_argv(full_argv(repo_, args)), r.describe(), stderr_excerpt(r.err)));
}

std::string remote_ref(const std::string& remote, const std::string& branch) {
  return fmt::format("refs/remotes/{}/{}", remote, branch);
}

std::string remote_display(const std::string& remote, const std::string& branch) {
  return fmt::format("{}/{}", remote, branch);
}

Status check_branch_name(const std::string& branch) {
  auto bad = [&](std::string why) {
    return usage_error(fmt::format("invalid branch name \"{}\": {}", branch, why),
                       "use a plain branch name such as main, staging or rollback/<id>");
  };
  if (branch.empty()) return bad("it is empty");
  if (branch.front() == '-') return bad("it starts with '-'");
  if (branch.front() == '/' || branch.back() == '/' || branch.back() == '.') return bad("bad first or last character");
  if (contains(branch, "..") || contains(branch, "//") || contains(branch, "@{"))
    return bad("it contains '..', '//' or '@{'");
  if (branch.ends_with(".lock")) return bad("it ends with .lock");
  for (unsigned char c : branch) {
    if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[' ||
        c == '\\')
      return bad("it contains a space, a control character or one of ~^:?*[\\");
  }
  return {};
}

Status check_remote_name(const std::string& remote) {
  auto bad = [&](std::string why) {
    return usage_error(fmt::format("invalid git remote name \"{}\" (remote: in rollback.yaml): {}", remote, why),
                       "set remote: to the name of a remote of the repository, as `git remote` lists it (e.g. origin)");
  };
  if (remote.empty()) return bad("it is empty");
  if (remote.size() > kMaxRemoteName) return bad(fmt::format("it is longer than {} characters", kMaxRemoteName));
  if (remote.front() == '-') return bad("it starts with '-', so git would read it as an option");
  if (remote.front() == '.' || remote.front() == '/' || remote.back() == '/') return bad("bad first or last character");
  if (contains(remote, "..") || contains(remote, "//")) return bad("it contains '..' or '//'");
  for (unsigned char c : remote) {
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/'))
      return bad("only letters, digits, '.', '_', '-' and '/' are allowed in a remote name");
  }
  return {};
}

Status check_commit_id(const std::string& id) {
  bool hex = !id.empty();
  for (unsigned char c : id) hex = hex && std::isxdigit(c);
  if (!hex || id.size() < 4 || id.size() > 64) {
    return usage_error(fmt::format("\"{}\" is not a commit id (expected 4 to 64 hex digits)", id),
                       "give the sha as shown by `git log --oneline`");
  }
  return {};
}

Result<FolderFreshness> compare_folder_with_branch(Git& git, const std::string& remote, const std::string& branch,
                                                   const std::string& folder) {
  RB_TRY(git.fetch(remote, branch));
  FolderFreshness out;
  RB_TRY_ASSIGN(out.branch_tip, git.resolve_commit(remote_ref(remote, branch)));
  // ":(top)" is not used: the folder is relative to the repository folder, like rollback.yaml's paths.
  RB_TRY_ASSIGN(std::string diff, git.run({"diff", "--name-status", "--no-renames", "--no-color", "--no-ext-diff",
                                           out.branch_tip, "--", folder}));
  for (auto& line : split(trim(diff), '\n'))
    if (!trim(line).empty()) out.differences.push_back(trim(line));
  RB_TRY_ASSIGN(std::string untracked, git.run({"ls-files", "--others", "--exclude-standard", "-z", "--", folder}));
  for (auto& f : split(untracked, '\0'))
    if (!f.empty()) out.differences.push_back("?\t" + f);
  return out;
}

Status check_new_remote_branch(Git& git, const std::string& remote, const std::string& branch,
                               const std::vector<std::string>& environment_branches) {
  RB_TRY(check_remote_name(remote));
  RB_TRY(check_branch_name(branch));
  for (const auto& env_branch : environment_branches) {
    if (env_branch == branch) {
      Error e = refusal(fmt::format("--push-branch {} is the branch of a configured environment: --push-branch pushes "
                                    "to a new branch for a pull request, never to an environment's branch",
                                    branch),
                        "choose a new branch name such as rollback/<what>; to push to the environment's branch, "
                        "leave out --push-branch");
      e.tag = "environment-branch";
      return e;
    }
  }
  std::vector<std::string> args{"ls-remote", "--heads", "--", remote, "refs/heads/" + branch};
  RB_TRY_ASSIGN(ProcessResult r, git.try_run(args, RunOptions::network()));
  if (!r.ok()) {
    return failure(fmt::format("cannot check whether {} exists: `{}` failed ({}):\n{}", remote_display(remote, branch),
                               format_argv(full_argv(git.repo(), args)), r.describe(), stderr_excerpt(r.err)),
                   fmt::format("check access to {} and retry", remote));
  }
  if (!trim(r.out).empty()) {
    Error e = refusal(fmt::format("--push-branch {} already exists on {}: it must be a new branch", branch, remote),
                      fmt::format("choose another name (`git ls-remote --heads {}` lists the branches there)", remote));
    e.tag = "branch-exists";
    return e;
  }
  return {};
}

std::string stderr_excerpt(const std::string& err) {
  std::vector<std::string> keep;
  for (auto& line : split(err, '\n')) {
    std::string_view l = line;
    while (!l.empty() && std::isspace(static_cast<unsigned char>(l.back()))) l.remove_suffix(1);
    // Progress output rewrites a line with \r; keep its last state.
    if (auto cr = l.rfind('\r'); cr != std::string_view::npos) l = l.substr(cr + 1);
    if (l.empty() || l.starts_with("hint:")) continue;
    keep.emplace_back(l);
  }
  return join(keep, "\n");
}

}  // namespace rb::git
