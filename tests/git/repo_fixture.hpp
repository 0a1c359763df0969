// A throwaway GitHub-like setup for tests of the git layer: a bare `origin` and a clone with
// branches development, staging and main, and helpers that land PRs the three ways GitHub
// does (merge commit, squash, rebase). Everything lives in one temporary folder.
//
// Test-side git commands run through rb::run_process directly (not the code under test) and
// throw on failure, so a broken setup fails the test loudly. The user's global and system git
// configuration is shut out (GIT_CONFIG_GLOBAL=/dev/null, GIT_CONFIG_NOSYSTEM=1) for both the
// helpers and the code under test; identities are set in each repository's local config.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "git/git.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace rb::git::testing {

namespace fs = std::filesystem;

using Files = std::map<std::string, std::string>;  // path -> content

class RepoFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_TERMINAL_PROMPT"}) {
      const char* v = getenv(name);
      saved_env_[name] = v ? std::optional<std::string>(v) : std::nullopt;
    }
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);

    auto tmp = TempDir::create("rb-git-test");
    ASSERT_TRUE(tmp.ok()) << tmp.error().message;
    root_.emplace(std::move(*tmp));
    origin = root() / "origin.git";
    clone = root() / "clone";
    sh(root(), {"init", "-q", "--bare", "-b", "main", origin.string()});
    sh(origin, {"config", "gc.auto", "0"});
    sh(root(), {"clone", "-q", origin.string(), clone.string()});
    configure(clone);
    write(clone, {{"README.md", "# service\n"},
                  {"app/main.py", "def handler():\n    return 'v1'\n"},
                  {"app/util.py", "def helper():\n    return 1\n"},
                  {"alembic/versions/0001_init.py", "revision = '0001'\ndown_revision = None\n"},
                  {"infrastructure/terraform/main.tf", "resource \"aws_s3_bucket\" \"b\" {}\n"}});
    commit_all(clone, "Initial commit");
    sh(clone, {"branch", "development"});
    sh(clone, {"branch", "staging"});
    sh(clone, {"push", "-q", "origin", "main", "development", "staging"});
  }

  void TearDown() override {
    root_.reset();
    for (auto& [name, v] : saved_env_) {
      if (v)
        setenv(name.c_str(), v->c_str(), 1);
      else
        unsetenv(name.c_str());
    }
  }

  const fs::path& root() const { return root_->path(); }

  // git -C dir args... (throws with git's stderr on failure); stdout, trailing newline trimmed.
  std::string sh(const fs::path& dir, std::vector<std::string> args) {
    std::vector<std::string> argv{"git", "-C", dir.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o;
    o.env_set = {{"LC_ALL", "C"}};
    auto r = run_process(argv, o);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    if (!r->ok()) throw std::runtime_error(format_argv(argv) + ": " + r->describe() + ": " + r->err);
    std::string out = r->out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  void configure(const fs::path& dir) {
    sh(dir, {"config", "user.name", "Test Person"});
    sh(dir, {"config", "user.email", "test@example.com"});
    sh(dir, {"config", "commit.gpgsign", "false"});
    // No background housekeeping after each command: it only slows the tests down.
    sh(dir, {"config", "gc.auto", "0"});
    sh(dir, {"config", "maintenance.auto", "false"});
  }

  void write(const fs::path& dir, const Files& files) {
    for (auto& [path, content] : files) {
      fs::path p = dir / path;
      fs::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << content;
    }
  }

  std::string commit_all(const fs::path& dir, const std::string& message) {
    sh(dir, {"add", "-A"});
    sh(dir, {"commit", "-q", "-m", message});
    return sh(dir, {"rev-parse", "HEAD"});
  }

  // A PR merged the GitHub way with a merge commit; returns the merge commit's sha.
  std::string merge_pr(int number, const std::string& topic, const Files& files, const std::string& base = "main") {
    sh(clone, {"checkout", "-q", base});
    sh(clone, {"checkout", "-q", "-b", topic});
    write(clone, files);
    commit_all(clone, "Work on " + topic);
    sh(clone, {"checkout", "-q", base});
    sh(clone,
       {"merge", "-q", "--no-ff", "-m",
        "Merge pull request #" + std::to_string(number) + " from acme/" + topic + "\n\nWork on " + topic, topic});
    sh(clone, {"branch", "-q", "-D", topic});
    sh(clone, {"push", "-q", "origin", base});
    return sh(clone, {"rev-parse", "HEAD"});
  }

  // A squash-merged PR: one commit "<title> (#N)"; returns its sha.
  std::string squash_pr(int number, const std::string& title, const Files& files, const std::string& base = "main") {
    sh(clone, {"checkout", "-q", base});
    write(clone, files);
    std::string sha = commit_all(clone, title + " (#" + std::to_string(number) + ")");
    sh(clone, {"push", "-q", "origin", base});
    return sha;
  }

  // A rebase-merged PR: its commits land one after another; returns their shas, oldest first.
  std::vector<std::string> rebase_pr(const std::vector<std::pair<std::string, Files>>& commits,
                                     const std::string& base = "main") {
    sh(clone, {"checkout", "-q", base});
    std::vector<std::string> shas;
    for (auto& [message, files] : commits) {
      write(clone, files);
      shas.push_back(commit_all(clone, message));
    }
    sh(clone, {"push", "-q", "origin", base});
    return shas;
  }

  // A direct commit on `base`, pushed.
  std::string push_commit(const std::string& message, const Files& files, const std::string& base = "main") {
    return rebase_pr({{message, files}}, base).back();
  }

  // A second clone of origin (another engineer), configured.
  fs::path other_clone(const std::string& name = "other") {
    fs::path p = root() / name;
    sh(root(), {"clone", "-q", origin.string(), p.string()});
    configure(p);
    return p;
  }

  std::string origin_tip(const std::string& branch = "main") {
    return sh(origin, {"rev-parse", "refs/heads/" + branch});
  }

  std::string read(const fs::path& dir, const std::string& path) {
    auto r = read_file(dir / path);
    return r.ok() ? *r : std::string("<missing>");
  }

  // The state of the user's clone that the layer promises not to touch.
  struct CloneState {
    std::string head, branch, status, diff, worktrees, branches, stash;
    bool operator==(const CloneState&) const = default;
  };
  CloneState clone_state() {
    return CloneState{sh(clone, {"rev-parse", "HEAD"}),
                      sh(clone, {"symbolic-ref", "--short", "HEAD"}),
                      sh(clone, {"status", "--porcelain", "--untracked-files=all"}),
                      sh(clone, {"diff", "HEAD"}),
                      sh(clone, {"worktree", "list", "--porcelain"}),
                      sh(clone, {"for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"}),
                      sh(clone, {"stash", "list"})};
  }

  // The user is mid-work: another branch checked out, staged, unstaged and untracked changes.
  void make_user_busy() {
    sh(clone, {"checkout", "-q", "staging"});
    write(clone, {{"app/util.py", "def helper():\n    return 'wip'\n"}, {"notes.txt", "untracked\n"}});
    write(clone, {{"README.md", "# service (staged edit)\n"}});
    sh(clone, {"add", "README.md"});
  }

  int worktree_count(const fs::path& dir) {
    int n = 0;
    for (auto& line : split(sh(dir, {"worktree", "list", "--porcelain"}), '\n'))
      if (line.starts_with("worktree ")) ++n;
    return n;
  }

  Git product() { return Git(runner, clone); }

  SystemCommandRunner runner;
  fs::path origin, clone;

 private:
  std::optional<TempDir> root_;
  std::map<std::string, std::optional<std::string>> saved_env_;
};

}  // namespace rb::git::testing
