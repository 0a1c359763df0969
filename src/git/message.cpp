#include "git/message.hpp"

#include <fmt/format.h>

#include <cctype>

#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb::git {

namespace {

// Reason text normalized for a commit message: CRs dropped, trailing whitespace removed from
// each line, leading/trailing blank lines removed, runs of blank lines collapsed to one (what
// `git commit --cleanup=whitespace` would do, done here so the message we show is the one
// committed).
std::string clean_reason(const std::string& reason) {
  std::vector<std::string> lines;
  std::string text;
  for (char c : reason)
    if (c != '\r') text += c;
  // Terminal escapes and other control characters are shown, not committed: `git log` would
  // otherwise replay them on every terminal that reads the history.
  text = printable(text, true);
  for (auto& line : split(text, '\n')) {
    std::string_view l = line;
    while (!l.empty() && std::isspace(static_cast<unsigned char>(l.back()))) l.remove_suffix(1);
    if (l.empty() && (lines.empty() || lines.back().empty())) continue;
    lines.emplace_back(l);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return join(lines, "\n");
}

std::string reverts_line(const CommitInfo& c) {
  if (c.is_merge()) {
    return fmt::format("This reverts commit {}, reversing\nchanges made to {}.", c.sha, c.parents.front());
  }
  return fmt::format("This reverts commit {}.", c.sha);
}

std::string short_of(const CommitInfo& c) { return c.short_sha.empty() ? c.sha.substr(0, 7) : c.short_sha; }

}  // namespace

Status check_rollback_id(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 100 && id.front() != '.' && id.front() != '-' && !id.ends_with(".lock") &&
            !contains(id, "..");
  for (unsigned char c : id) ok = ok && (std::isalnum(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return usage_error(fmt::format("invalid rollback id \"{}\"", id),
                       "use letters, digits, '.', '_' and '-' (at most 100 characters)");
  }
  return {};
}

std::string build_revert_message(const std::vector<CommitInfo>& commits, const std::string& range_from_short,
                                 const MessageOptions& options) {
  std::string msg;
  if (commits.size() == 1) {
    const CommitInfo& c = commits.front();
    msg = fmt::format("{}\n\n{}\n", revert_subject(c.subject), reverts_line(c));
  } else if (!commits.empty()) {
    msg = fmt::format("Revert {} commits ({}..{})\n\nReverted commits, newest first:\n", commits.size(),
                      range_from_short, short_of(commits.back()));
    for (auto it = commits.rbegin(); it != commits.rend(); ++it)
      msg += fmt::format("  {} {}\n", short_of(*it), it->subject);
    msg += "\n";
    for (auto it = commits.rbegin(); it != commits.rend(); ++it) msg += reverts_line(*it) + "\n";
  }
  std::string reason = clean_reason(options.reason);
  if (!reason.empty()) msg += fmt::format("\nReason: {}\n", reason);
  if (!options.rollback_id.empty()) msg += fmt::format("\nRollback-Id: {}\n", options.rollback_id);
  return msg;
}

}  // namespace rb::git
