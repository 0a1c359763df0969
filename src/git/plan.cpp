#include "git/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "util/strings.hpp"

namespace rb::git {

namespace {

std::optional<long> parse_count(std::string_view s, bool& ok) {
  if (s == "-") return std::nullopt;
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  ok = ok && ec == std::errc() && p == s.data() + s.size() && v >= 0;
  return v;
}

// The tree a root commit is compared with: the empty tree of the repository's hash algorithm.
Result<std::string> empty_tree(Git& git) {
  RB_TRY_ASSIGN(std::string out, git.run({"hash-object", "-t", "tree", "--stdin"}, RunOptions::with_stdin({})));
  return trim(out);
}

// git's revert message quotes the first line of the message, while %s (used to search the
// history) joins the whole first paragraph: take the first line, as git does.
Status use_first_lines(Git& git, std::vector<CommitInfo>& commits) {
  std::vector<std::string> args{"log", "--no-walk=unsorted", "--no-show-signature", "--format=%H%x00%B%x1e"};
  for (auto& c : commits) args.push_back(c.sha);
  RB_TRY_ASSIGN(std::string out, git.run(args));
  std::map<std::string, std::string> first_lines;
  for (auto& record : split(out, '\x1e')) {
    std::string_view r = record;
    while (!r.empty() && r.front() == '\n') r.remove_prefix(1);
    auto nul = r.find('\0');
    if (nul == std::string_view::npos) continue;
    std::string_view body = r.substr(nul + 1);
    while (!body.empty() && body.front() == '\n') body.remove_prefix(1);
    first_lines[std::string(r.substr(0, nul))] = std::string(body.substr(0, body.find('\n')));
  }
  for (auto& c : commits) {
    auto it = first_lines.find(c.sha);
    if (it != first_lines.end() && !it->second.empty()) c.subject = it->second;
  }
  return {};
}

}  // namespace

Result<std::vector<FileChange>> parse_numstat(std::string_view out) {
  std::vector<FileChange> files;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\0', start);
    std::string_view rec = out.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? out.size() : end + 1;
    while (!rec.empty() && rec.front() == '\n') rec.remove_prefix(1);
    if (rec.empty()) continue;
    auto t1 = rec.find('\t');
    auto t2 = t1 == std::string_view::npos ? t1 : rec.find('\t', t1 + 1);
    bool ok = t2 != std::string_view::npos && t2 + 1 < rec.size();
    FileChange f;
    if (ok) {
      f.added = parse_count(rec.substr(0, t1), ok);
      f.deleted = parse_count(rec.substr(t1 + 1, t2 - t1 - 1), ok);
      ok = ok && f.added.has_value() == f.deleted.has_value();
      f.path = std::string(rec.substr(t2 + 1));
    }
    if (!ok) {
      return failure(fmt::format("cannot parse a `git diff --numstat` record: \"{}\"", std::string(rec.substr(0, 200))),
                     "this is a bug in rollback; please report it with your git version");
    }
    files.push_back(std::move(f));
  }
  return files;
}

std::vector<std::vector<std::string>> Plan::revert_steps() const {
  std::vector<std::vector<std::string>> steps;
  for (auto it = commits.rbegin(); it != commits.rend(); ++it) {
    if (it->is_merge())
      steps.push_back({"-m", "1", it->sha});
    else
      steps.push_back({it->sha});
  }
  return steps;
}

Result<Plan> make_plan(Git& git, const Resolved& resolved, const PlanOptions& options) {
  if (resolved.commits.empty()) return failure("internal error: nothing to revert in the plan");
  if (!options.message.rollback_id.empty()) RB_TRY(check_rollback_id(options.message.rollback_id));
  Plan plan;
  plan.kind = resolved.kind;
  plan.remote = resolved.remote;
  plan.branch = resolved.branch;
  plan.base_sha = resolved.base_sha;
  plan.commits = resolved.commits;
  RB_TRY(use_first_lines(git, plan.commits));
  plan.range_from = resolved.range_from;

  if (resolved.kind == RevertKind::Range) {
    plan.diff_from = resolved.range_from;
    plan.diff_to = resolved.commits.back().sha;
  } else {
    const CommitInfo& c = resolved.commits.front();
    if (!c.parents.empty()) {
      plan.diff_from = c.parents.front();
    } else {
      RB_TRY_ASSIGN(plan.diff_from, empty_tree(git));
    }
    plan.diff_to = c.sha;
  }

  // diff-tree is the plumbing behind `git diff`: the same numstat, without porcelain settings
  // (diff.relative, diff.renames, external diff drivers) changing paths or format.
  RB_TRY_ASSIGN(std::string numstat, git.run({"diff-tree", "-r", "--numstat", "-z", "--no-renames", "--no-commit-id",
                                              plan.diff_from, plan.diff_to}));
  RB_TRY_ASSIGN(plan.files, parse_numstat(numstat));
  std::sort(plan.files.begin(), plan.files.end(), [](auto& a, auto& b) { return a.path < b.path; });
  for (const auto& f : plan.files) {
    plan.paths.push_back(f.path);
    plan.lines_added += f.added.value_or(0);
    plan.lines_deleted += f.deleted.value_or(0);
  }

  std::string from_short;
  if (resolved.kind == RevertKind::Range) {
    RB_TRY_ASSIGN(std::string s, git.run({"rev-parse", "--short", resolved.range_from}));
    from_short = trim(s);
  }
  plan.message = build_revert_message(plan.commits, from_short, options.message);
  return plan;
}

}  // namespace rb::git
