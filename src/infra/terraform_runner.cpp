#include "infra/terraform_runner.hpp"

#include <fmt/format.h>

#include <cctype>

#include "util/clock.hpp"
#include "util/strings.hpp"

namespace rb::infra {

namespace {

constexpr const char* kInput = "-input=false";
constexpr const char* kNoColor = "-no-color";

}  // namespace

std::optional<std::string> held_state_lock_id(std::string_view output) {
  if (output.find("Error acquiring the state lock") == std::string_view::npos) return std::nullopt;
  for (auto& raw : split(output, '\n')) {
    std::string line = trim(raw);
    if (!line.starts_with("ID:")) continue;
    std::string id = trim(line.substr(3));
    bool plain = !id.empty() && id.size() <= kMaxLockIdLength;
    for (unsigned char c : id) plain = plain && (std::isalnum(c) || c == '-' || c == '_' || c == '.');
    if (plain) return id;
  }
  return std::nullopt;
}

std::string last_lines(std::string_view text, size_t n) {
  std::vector<std::string> lines;
  for (auto& line : split(text, '\n')) {
    if (!trim(line).empty()) lines.push_back(line);
  }
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
  return join(lines, "\n");
}

namespace {
// What `terraform apply` prints when the state changed after the saved plan was made
// (internal/command/apply.go: "Saved plan is stale").
constexpr std::string_view kStalePlanText = "Saved plan is stale";
constexpr const char* kTagStalePlan = "terraform_stale_plan";
}  // namespace

TerraformRunner::TerraformRunner(CommandRunner& runner, TerraformRunnerOptions options)
    : runner_(runner), options_(std::move(options)) {}

Result<ProcessResult> TerraformRunner::run(const std::vector<std::string>& args, bool stream, const std::string& hint,
                                           int also_ok) {
  std::vector<std::string> argv{options_.binary};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions popts;
  popts.cwd = options_.working_dir;
  popts.env_set = options_.env;
  popts.env_set["TF_IN_AUTOMATION"] = "1";
  popts.timeout = options_.timeout;
  if (stream && options_.on_line) popts.on_line = options_.on_line;

  // After Ctrl-C (or a closed output pipe) nothing new is started: only cleanup runs from here.
  if (interrupted())
    return interrupted_error(fmt::format("interrupted before `{}`: it was not started", format_argv(argv)));
  auto result = runner_.run(argv, popts);
  if (!result) return result.take_error();
  if (result->interrupted) {
    // The signal was passed on to Terraform, which stops the way it does on Ctrl-C: it finishes
    // or cancels the operation in progress and releases the state lock it took.
    Error e = interrupted_error(fmt::format("interrupted while `{}` ran: the signal was passed on to it and it stopped "
                                            "({})",
                                            format_argv(argv), result->describe()));
    e.hint = "Terraform releases its state lock when it stops this way; if the next plan reports the state as "
             "locked, its error names the `terraform force-unlock` command that releases it";
    return e;
  }
  if (result->ok()) return result;
  if (also_ok != 0 && result->signal == 0 && !result->timed_out && !result->output_too_large &&
      result->exit_code == also_ok)
    return result;

  std::string where = options_.working_dir.empty() ? std::string() : fmt::format(" in {}", options_.working_dir.string());
  std::string tail = last_lines(result->err, kErrorTailLines);
  if (tail.empty()) tail = last_lines(result->out, kErrorTailLines);
  std::string message = fmt::format("`{}` failed{} ({})", format_argv(argv), where, result->describe());
  if (!tail.empty()) message += ":\n" + tail;
  Error err = failure(std::move(message), hint);
  // Terraform says so only in its output; the cause is recorded here, once, as a tag.
  err.tag = contains(result->err, kStalePlanText) || contains(result->out, kStalePlanText) ? kTagStalePlan : "terraform";
  if (auto id = held_state_lock_id(result->err + "\n" + result->out)) {
    err.tag = "terraform-state-locked";
    err.hint = fmt::format(
        "Terraform's state lock {0} is held. If no Terraform run is going on (e.g. one of ours was killed), release "
        "it with: cd {1} && {2} force-unlock -force {0}; otherwise wait for that run to finish",
        *id, options_.working_dir.empty() ? std::string(".") : options_.working_dir.string(), options_.binary);
  }
  return err;
}

Status TerraformRunner::init() {
  RB_TRY(run({"init", kInput, kNoColor}, true,
             "check the backend configuration and the credentials it uses (the output above says which)"));
  return {};
}

Status TerraformRunner::plan(const std::filesystem::path& out_file) {
  RB_TRY(run({"plan", kInput, kNoColor, "-out=" + out_file.string()}, true,
             "fix what the plan reports (configuration, credentials, a held state lock), then plan again"));
  return {};
}

Result<bool> TerraformRunner::plan_has_changes(const std::filesystem::path& out_file) {
  // Terraform's documented -detailed-exitcode: 0 no changes, 1 error, 2 changes present.
  constexpr int kChangesPresent = 2;
  RB_TRY_ASSIGN(ProcessResult result, run({"plan", kInput, kNoColor, "-lock=false", "-detailed-exitcode",
                                           "-out=" + out_file.string()},
                                          true, "fix what the plan reports (configuration, credentials), then plan again",
                                          kChangesPresent));
  return result.exit_code == kChangesPresent;
}

Result<PlanSummary> TerraformRunner::show_json(const std::filesystem::path& plan_file) {
  RB_TRY_ASSIGN(ProcessResult result, run({"show", "-json", plan_file.string()}, false,
                                          "the plan file may be missing or from another Terraform version; make a new plan"));
  return parse_plan_json(result.out, fmt::format("the output of `{} show -json {}`", options_.binary, plan_file.string()));
}

Status TerraformRunner::apply(const std::filesystem::path& plan_file) {
  auto result = run({"apply", kInput, kNoColor, plan_file.string()}, true,
                    "the apply may have changed some resources before failing: run a new plan to see what is left");
  if (!result) {
    Error err = result.take_error();
    if (err.tag == kTagStalePlan) {
      err.hint = "the state changed after this plan was made (another apply, or a state restore): make and review a new plan";
    }
    return err;
  }
  return {};
}

}  // namespace rb::infra
