#include "git/commits.hpp"

#include <fmt/format.h>

#include <cctype>

#include "util/strings.hpp"

namespace rb::git {

namespace {

std::string_view rstrip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Parses a decimal PR number without sign or leading zeros; nullopt otherwise.
std::optional<unsigned long> parse_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 12 || digits.front() == '0') return std::nullopt;
  unsigned long n = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + static_cast<unsigned long>(c - '0');
  }
  return n;
}

}  // namespace

Result<std::vector<CommitInfo>> parse_log(std::string_view out) {
  std::vector<CommitInfo> commits;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\x1e', start);
    std::string_view record = out.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? out.size() : end + 1;
    while (!record.empty() && (record.front() == '\n' || record.front() == '\r')) record.remove_prefix(1);
    if (rstrip(record).empty()) continue;
    auto fields = split(record, '\0');
    if (fields.size() != 6 || fields[0].size() < 40) {
      return failure(fmt::format("cannot parse a `git log` record ({} fields, expected 6): \"{}\"", fields.size(),
                                 std::string(record.substr(0, 120))),
                     "this is a bug in rollback; please report it with your git version");
    }
    CommitInfo c;
    c.sha = fields[0];
    for (auto& p : split(fields[1], ' '))
      if (!p.empty()) c.parents.push_back(p);
    c.author_name = fields[2];
    c.author_email = fields[3];
    c.date = fields[4];
    c.subject = std::string(rstrip(fields[5]));
    commits.push_back(std::move(c));
  }
  return commits;
}

std::optional<PrClaim> parse_pr_subject(std::string_view subject) {
  subject = rstrip(subject);
  constexpr std::string_view kMergePrefix = "Merge pull request #";
  if (subject.starts_with(kMergePrefix)) {
    std::string_view rest = subject.substr(kMergePrefix.size());
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (rest.substr(digits).starts_with(" from ")) {
      if (auto n = parse_number(rest.substr(0, digits))) return PrClaim{PrStyle::MergeCommit, *n};
    }
    return std::nullopt;
  }
  // Squash merge: "... (#123)" at the very end.
  if (!subject.ends_with(')')) return std::nullopt;
  auto open = subject.rfind("(#");
  if (open == std::string_view::npos) return std::nullopt;
  if (open > 0 && subject[open - 1] != ' ') return std::nullopt;
  std::string_view digits = subject.substr(open + 2, subject.size() - open - 3);
  if (auto n = parse_number(digits)) return PrClaim{PrStyle::Squash, *n};
  return std::nullopt;
}

std::string revert_subject(std::string_view subject) {
  constexpr std::string_view kRevert = "Revert \"";
  // git >= 2.43: a fresh revert of a revert says "Reapply"; repeated reverts (whose reverted
  // subject is itself a revert) are left as plain reverts, as git does.
  if (subject.starts_with(kRevert)) {
    std::string_view original = subject.substr(kRevert.size());
    if (!original.starts_with(kRevert)) return fmt::format("Reapply \"{}", original);
  }
  return fmt::format("Revert \"{}\"", subject);
}

}  // namespace rb::git
