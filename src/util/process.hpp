// Running programs by argument vector, never through a shell.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rb {

// The most output (stdout and stderr each) kept from one process. The largest output the tool
// reads is `terraform show -json` of a plan, tens of MB for thousands of resources; 256 MiB
// is far above that and stops a runaway process from filling memory.
inline constexpr size_t kMaxProcessOutput = size_t{256} << 20;

struct ProcessOptions {
  std::filesystem::path cwd;                       // empty: the current directory
  std::map<std::string, std::string> env_set;      // added to (or replacing in) the environment
  std::vector<std::string> env_unset;              // removed from the environment
  std::optional<std::string> stdin_data;           // otherwise stdin is /dev/null
  // Called for every complete output line as it arrives (is_stderr says which stream).
  std::function<void(std::string_view line, bool is_stderr)> on_line;
  std::chrono::milliseconds timeout{0};            // 0: no timeout; else SIGTERM, then SIGKILL
  size_t max_output = kMaxProcessOutput;           // past this on either stream the process is killed
  // Pass the signals we receive (SIGINT, SIGTERM, SIGHUP, SIGPIPE) on to the child while it runs.
  // Off only for a child that must finish once started (Alembic: a downgrade stopped half way on
  // a database without transactional DDL is worse than one that completes).
  bool forward_signals = true;
};

struct ProcessResult {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the signal that ended the process, 0 when it exited
  bool timed_out = false;
  bool output_too_large = false;  // it wrote more than max_output and was killed
  bool interrupted = false;  // a signal we received (Ctrl-C, SIGTERM, ...) was passed on to it
  std::string out;
  std::string err;

  bool ok() const { return signal == 0 && exit_code == 0 && !timed_out && !output_too_large; }
  // "exit code 1", "killed by signal 9 (Killed)", "timed out after ..."
  std::string describe() const;
};

// Spawns argv[0] (looked up in PATH) and collects its output. An Error only when the
// program could not be started at all; a non-zero exit is a ProcessResult.
// The child runs in its own process group; every SIGINT, SIGTERM, SIGHUP or SIGPIPE this process
// receives while it runs is passed on to that group (SIGPIPE as SIGINT), so Terraform and git
// stop the way they do on Ctrl-C and release what they hold; then it is waited for.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// The side-effect interface that layers depend on, so unit tests can substitute a fake.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual Result<ProcessResult> run(const std::vector<std::string>& argv, const ProcessOptions& options) = 0;
};

class SystemCommandRunner final : public CommandRunner {
 public:
  Result<ProcessResult> run(const std::vector<std::string>& argv, const ProcessOptions& options) override;
};

// "git push origin main" for messages and logs (arguments quoted when needed, secrets redacted).
std::string format_argv(const std::vector<std::string>& argv);

// Whether a program can be found in PATH (or is an existing path).
bool program_exists(const std::string& name);

}  // namespace rb
