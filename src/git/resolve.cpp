#include "git/resolve.hpp"

#include <fmt/format.h>

#include <map>

#include "util/strings.hpp"

namespace rb::git {

namespace {

Result<std::string> branch_tip(Git& git, const std::string& remote, const std::string& branch) {
  RB_TRY(check_branch_name(branch));
  RB_TRY_ASSIGN(ProcessResult r,
                git.try_run({"rev-parse", "--verify", "--quiet", remote_ref(remote, branch) + "^{commit}"}));
  if (!r.ok()) {
    Error e = usage_error(fmt::format("there is no {} in {}", remote_display(remote, branch), git.repo().string()),
                          fmt::format("fetch it first (`git fetch {} {}`); check that the environment's branch "
                                      "exists on {}",
                                      remote, branch, remote));
    e.tag = "no-such-branch";
    return e;
  }
  return trim(r.out);
}

Result<std::vector<CommitInfo>> log_commits(Git& git, std::vector<std::string> args) {
  std::vector<std::string> argv{"log", "--no-show-signature", "--no-color", std::string(kLogFormat)};
  argv.insert(argv.end(), args.begin(), args.end());
  RB_TRY_ASSIGN(std::string out, git.run(argv));
  return parse_log(out);
}

// Fills in short_sha with git's own abbreviation (unique in this repository).
Status fill_short_shas(Git& git, std::vector<CommitInfo>& commits) {
  if (commits.empty()) return {};
  std::vector<std::string> args{"log", "--no-walk=unsorted", "--no-show-signature", "--format=%H %h"};
  for (auto& c : commits) args.push_back(c.sha);
  RB_TRY_ASSIGN(std::string out, git.run(args));
  std::map<std::string, std::string> shorts;
  for (auto& line : split(out, '\n')) {
    auto sp = line.find(' ');
    if (sp != std::string::npos) shorts[line.substr(0, sp)] = trim(line.substr(sp + 1));
  }
  for (auto& c : commits) {
    auto it = shorts.find(c.sha);
    c.short_sha = it != shorts.end() ? it->second : c.sha.substr(0, 7);
  }
  return {};
}

std::string list_commits(const std::vector<CommitInfo>& commits) {
  std::vector<std::string> lines;
  for (auto& c : commits)
    lines.push_back(fmt::format("  {} {}", c.short_sha.empty() ? c.sha.substr(0, 7) : c.short_sha, c.subject));
  return join(lines, "\n");
}

RevertKind kind_of(const CommitInfo& c) {
  if (c.is_merge()) return RevertKind::Merge;
  auto claim = parse_pr_subject(c.subject);
  if (claim && claim->style == PrStyle::Squash) return RevertKind::Squash;
  return RevertKind::Plain;
}

Error not_on_branch(const std::string& what, const std::string& sha, const std::string& remote,
                    const std::string& branch) {
  Error e =
      refusal(fmt::format("{} {} is not on {}", what, sha, remote_display(remote, branch)),
              fmt::format("only commits in the history of {} can be reverted there; `git branch -r --contains {}` "
                          "shows where it is",
                          remote_display(remote, branch), sha));
  e.tag = "not-on-branch";
  return e;
}

Result<Resolved> resolve_pr(Git& git, unsigned long number, const ResolveOptions& opt, Resolved out) {
  std::string where = remote_display(opt.remote, opt.branch);
  std::string max = std::to_string(opt.max_commits);
  RB_TRY_ASSIGN(auto history, log_commits(git, {"--first-parent", "-n", max, out.base_sha}));
  auto matches = find_pr(history, number);
  if (matches.size() == 1) {
    out.commits = {matches.front().commit};
    out.kind = kind_of(out.commits.front());
    RB_TRY(fill_short_shas(git, out.commits));
    return out;
  }
  if (matches.size() > 1) {
    std::vector<CommitInfo> found;
    for (auto& m : matches) found.push_back(m.commit);
    RB_TRY(fill_short_shas(git, found));
    Error e =
        usage_error(fmt::format("{} commits on {} claim PR #{}:\n{}", found.size(), where, number, list_commits(found)),
                    "say which one to revert with --commit <sha>, or use --range A..B for several commits");
    e.tag = "ambiguous";
    return e;
  }
  // Not on the first-parent history. It may still be reachable through a merge (e.g. a PR
  // merged into staging, then staging merged into main): say so, with the sha to use.
  RB_TRY_ASSIGN(auto all, log_commits(git, {"-n", max, out.base_sha}));
  auto elsewhere = find_pr(all, number);
  std::vector<CommitInfo> found;
  for (auto& m : elsewhere) found.push_back(m.commit);
  RB_TRY(fill_short_shas(git, found));
  std::string message = fmt::format(
      "no commit on the first-parent history of {} (last {} commits) claims PR #{} (a subject \"Merge pull "
      "request #{} from ...\" or ending in \"(#{})\")",
      where, history.size(), number, number, number);
  std::string hint;
  if (!found.empty()) {
    message += fmt::format("; reachable from {} through a merge:\n{}", where, list_commits(found));
    hint = fmt::format("revert it with --commit {}", found.front().short_sha);
  } else {
    hint = fmt::format(
        "a rebase-merged PR leaves no number on the branch: find its commits with `git log --oneline "
        "{}` and use --range A..B, or --commit <sha>",
        where);
  }
  Error e = usage_error(std::move(message), std::move(hint));
  e.tag = "pr-not-found";
  return e;
}

Result<Resolved> resolve_commit(Git& git, const std::string& id, const ResolveOptions& opt, Resolved out) {
  RB_TRY(check_commit_id(id));
  RB_TRY_ASSIGN(std::string sha, git.resolve_commit(id));
  RB_TRY_ASSIGN(bool on_branch, git.is_ancestor(sha, out.base_sha));
  if (!on_branch) return not_on_branch("commit", id, opt.remote, opt.branch);
  RB_TRY_ASSIGN(out.commits, log_commits(git, {"-n", "1", "--no-walk", sha}));
  if (out.commits.size() != 1)
    return failure(fmt::format("`git log {}` returned {} commits, expected 1", sha, out.commits.size()));
  out.kind = kind_of(out.commits.front());
  RB_TRY(fill_short_shas(git, out.commits));
  return out;
}

Result<Resolved> resolve_range(Git& git, const Target& t, const ResolveOptions& opt, Resolved out) {
  RB_TRY(check_commit_id(t.from));
  RB_TRY(check_commit_id(t.to));
  RB_TRY_ASSIGN(std::string from, git.resolve_commit(t.from));
  RB_TRY_ASSIGN(std::string to, git.resolve_commit(t.to));
  std::string spec = fmt::format("{}..{}", t.from, t.to);
  if (from == to) {
    return usage_error(
        fmt::format("range {} is empty (both ends are the same commit)", spec),
        "A..B means the commits after A up to and including B: A is the commit before the first one to revert");
  }
  RB_TRY_ASSIGN(bool linear, git.is_ancestor(from, to));
  if (!linear) {
    return usage_error(fmt::format("range {}: {} is not an ancestor of {}", spec, t.from, t.to),
                       "give the older commit first: A..B reverts the commits after A up to and including B");
  }
  RB_TRY_ASSIGN(bool on_branch, git.is_ancestor(to, out.base_sha));
  if (!on_branch) return not_on_branch("commit", t.to, opt.remote, opt.branch);
  RB_TRY_ASSIGN(out.commits, log_commits(git, {"--reverse", fmt::format("{}..{}", from, to)}));
  if (out.commits.empty()) {
    return usage_error(fmt::format("range {} contains no commits", spec),
                       "A..B means the commits after A up to and including B");
  }
  RB_TRY(fill_short_shas(git, out.commits));
  std::vector<CommitInfo> merges;
  for (auto& c : out.commits)
    if (c.is_merge()) merges.push_back(c);
  if (!merges.empty()) {
    Error e =
        usage_error(fmt::format("range {} contains merge commits, which cannot be reverted as part of a range:\n{}",
                                spec, list_commits(merges)),
                    fmt::format("revert a merged PR on its own with --commit {} (reverted with -m 1), or choose a "
                                "range of plain commits",
                                merges.front().short_sha));
    e.tag = "range-has-merges";
    return e;
  }
  out.range_from = from;
  out.kind = RevertKind::Range;
  return out;
}

}  // namespace

Target Target::pull_request(unsigned long number) {
  Target t;
  t.type = Type::PullRequest;
  t.pr = number;
  return t;
}

Target Target::single_commit(std::string sha) {
  Target t;
  t.type = Type::Commit;
  t.commit = std::move(sha);
  return t;
}

Result<Target> Target::range(std::string_view spec) {
  auto bad = [&](std::string why) {
    return usage_error(fmt::format("invalid range \"{}\": {}", std::string(spec), why),
                       "write A..B with two commit shas: the commit before the first one to revert, and the last one");
  };
  if (spec.find("...") != std::string_view::npos) return bad("A...B (symmetric difference) is not supported");
  auto dots = spec.find("..");
  if (dots == std::string_view::npos) return bad("expected A..B");
  Target t;
  t.type = Type::Range;
  t.from = std::string(spec.substr(0, dots));
  t.to = std::string(spec.substr(dots + 2));
  if (t.from.empty() || t.to.empty()) return bad("both ends are required");
  if (!check_commit_id(t.from) || !check_commit_id(t.to))
    return bad("both ends must be commit shas (4 to 64 hex digits)");
  return t;
}

std::string Target::describe() const {
  switch (type) {
    case Type::PullRequest:
      return fmt::format("PR #{}", pr);
    case Type::Commit:
      return fmt::format("commit {}", commit);
    case Type::Range:
      return fmt::format("range {}..{}", from, to);
  }
  return {};
}

const char* to_string(RevertKind kind) {
  switch (kind) {
    case RevertKind::Merge:
      return "merge";
    case RevertKind::Squash:
      return "squash";
    case RevertKind::Plain:
      return "plain";
    case RevertKind::Range:
      return "range";
  }
  return "plain";
}

std::vector<PrMatch> find_pr(const std::vector<CommitInfo>& history, unsigned long number) {
  std::vector<PrMatch> out;
  for (const auto& c : history) {
    auto claim = parse_pr_subject(c.subject);
    if (claim && claim->number == number) out.push_back(PrMatch{c, claim->style});
  }
  return out;
}

Result<Resolved> resolve(Git& git, const Target& target, const ResolveOptions& options) {
  if (options.max_commits == 0) return usage_error("the PR search depth must be at least 1 commit");
  Resolved out;
  out.remote = options.remote;
  out.branch = options.branch;
  RB_TRY_ASSIGN(out.base_sha, branch_tip(git, options.remote, options.branch));
  switch (target.type) {
    case Target::Type::PullRequest:
      if (target.pr == 0) return usage_error("PR number must be a positive integer");
      return resolve_pr(git, target.pr, options, std::move(out));
    case Target::Type::Commit:
      return resolve_commit(git, target.commit, options, std::move(out));
    case Target::Type::Range:
      return resolve_range(git, target, options, std::move(out));
  }
  return failure("internal error: unknown revert target");
}

}  // namespace rb::git
