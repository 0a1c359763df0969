// Running terraform (or tofu) for Method 2 of the runbook: init, plan to a file, read that plan,
// apply exactly that plan. Through rb::CommandRunner, by argument vector, never a shell.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infra/plan.hpp"
#include "util/process.hpp"
#include "util/result.hpp"

namespace rb::infra {

// How many of the last stderr lines a failure quotes (Terraform's error block is rarely longer).
inline constexpr size_t kErrorTailLines = 20;

struct TerraformRunnerOptions {
  std::string binary = "terraform";  // "terraform", "tofu", or a path
  std::filesystem::path working_dir;  // the root module (e.g. infrastructure/terraform/environments/prod)
  // Called with every output line of init, plan and apply as it arrives (not of show -json, whose
  // stdout is the JSON document). Empty: output is only collected.
  std::function<void(std::string_view line, bool is_stderr)> on_line;
  // Added to the environment of every run; TF_IN_AUTOMATION=1 is always set (Terraform then drops
  // "run terraform apply next" style advice from its output).
  std::map<std::string, std::string> env;
  // 0: no limit (an apply can legitimately take an hour); else each command is stopped after this.
  std::chrono::milliseconds timeout{0};
};

class TerraformRunner {
 public:
  TerraformRunner(CommandRunner& runner, TerraformRunnerOptions options);

  // [bin, "init", "-input=false", "-no-color"]
  Status init();
  // [bin, "plan", "-input=false", "-no-color", "-out=<file>"]. `out_file` is taken relative to
  // the working directory, as Terraform does. -detailed-exitcode is not used: exit 0 is success
  // whether or not there are changes; the plan summary says which.
  Status plan(const std::filesystem::path& out_file);
  // [bin, "plan", "-input=false", "-no-color", "-lock=false", "-detailed-exitcode", "-out=<file>"]:
  // whether the plan has changes (exit 2) or not (exit 0); any other end is an error. -lock=false:
  // a check that only reads must not hold Terraform's lock against CI.
  Result<bool> plan_has_changes(const std::filesystem::path& out_file);
  // [bin, "show", "-json", <file>], parsed into a summary.
  Result<PlanSummary> show_json(const std::filesystem::path& plan_file);
  // [bin, "apply", "-input=false", "-no-color", <file>]: the saved plan, never a fresh one, so what
  // runs is what was reviewed (Terraform refuses a stale plan, e.g. after a state restore).
  Status apply(const std::filesystem::path& plan_file);

  const TerraformRunnerOptions& options() const { return options_; }

 private:
  // Runs `args` after the binary; failures say the command, where, how it ended and the last
  // lines of stderr, with `hint`.
  // `also_ok`: an exit code that is an answer, not a failure (plan -detailed-exitcode's 2).
  Result<ProcessResult> run(const std::vector<std::string>& args, bool stream, const std::string& hint,
                            int also_ok = 0);

  CommandRunner& runner_;
  TerraformRunnerOptions options_;
};

// The longest lock ID accepted from Terraform's output: its IDs are UUIDs (36 characters); a
// longer value is not an ID and is not put in a command for the user to run.
inline constexpr size_t kMaxLockIdLength = 64;

// The lock ID in Terraform's "Error acquiring the state lock" block ("  ID:        <uuid>"),
// so the error can name the exact `terraform force-unlock` command; nullopt when there is none.
std::optional<std::string> held_state_lock_id(std::string_view output);

// The last `n` non-empty lines of `text`, joined with newlines.
std::string last_lines(std::string_view text, size_t n);

}  // namespace rb::infra
