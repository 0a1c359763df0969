#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "util/clock.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"

extern char** environ;

namespace rb {

namespace {

// Grace period between SIGTERM and SIGKILL when a process outlives its timeout.
constexpr auto kKillGrace = std::chrono::seconds(3);

// How often the output loop looks for a signal to forward while the child is silent. A signal
// also interrupts poll() (no SA_RESTART), so this only bounds the delay in the rare race where
// it lands between the check and the poll.
constexpr int kSignalPollMs = 200;

// The signal a child gets for one we received. SIGPIPE means our reader went away, not the
// child's: the child is asked to stop the way Ctrl-C asks (Terraform and git then release their
// locks and remove their temporary files); the others are passed on as they are.
int forwarded_signal(int sig) { return sig == SIGPIPE ? SIGINT : sig; }

std::vector<std::string> build_environment(const ProcessOptions& options) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  for (const auto& name : options.env_unset) env.erase(name);
  for (const auto& [k, v] : options.env_set) env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

void split_lines(std::string& pending, bool is_stderr, const ProcessOptions& options, bool flush) {
  if (!options.on_line) return;
  size_t start = 0;
  for (;;) {
    auto nl = pending.find('\n', start);
    if (nl == std::string::npos) break;
    options.on_line(std::string_view(pending).substr(start, nl - start), is_stderr);
    start = nl + 1;
  }
  pending.erase(0, start);
  if (flush && !pending.empty()) {
    options.on_line(pending, is_stderr);
    pending.clear();
  }
}

}  // namespace

std::string ProcessResult::describe() const {
  if (output_too_large) return "stopped: its output grew past the limit the tool reads";
  if (timed_out) return "timed out";
  if (signal != 0) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exit code {}", exit_code);
}

std::string format_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    if (plain) {
      out += arg;
    } else {
      out += '\'';
      for (char c : arg) {
        if (c == '\'') out += "'\\''";
        else out += c;
      }
      out += '\'';
    }
  }
  return redact(out);
}

bool program_exists(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0;
  const char* path = getenv("PATH");
  std::string_view p = path ? path : "/usr/bin:/bin";
  while (!p.empty()) {
    auto colon = p.find(':');
    std::string dir(p.substr(0, colon));
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    p.remove_prefix(colon + 1);
  }
  return false;
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) return failure("internal error: empty command");
  log_debug("run: {}{}", format_argv(argv),
            options.cwd.empty() ? std::string() : fmt::format(" (in {})", options.cwd.string()));

  // Everything the child needs is prepared before fork(): after fork only async-signal-safe calls.
  std::vector<std::string> env_strings = build_environment(options);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& s : args) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  std::string cwd = options.cwd.string();

  int out_pipe[2], err_pipe[2], in_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(in_pipe, O_CLOEXEC) != 0 ||
      pipe2(exec_pipe, O_CLOEXEC) != 0) {
    return failure(fmt::format("cannot create pipes to run {}: {}", argv[0], strerror(errno)));
  }

  pid_t pid = fork();
  if (pid < 0) return failure(fmt::format("cannot start {}: fork failed: {}", argv[0], strerror(errno)));
  if (pid == 0) {
    // Child. Put it in its own process group so a timeout can stop its children too.
    setpgid(0, 0);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
      int e = errno;
      (void)!write(exec_pipe[1], &e, sizeof e);
      _exit(127);
    }
    execvpe(cargv[0], cargv.data(), envp.data());
    int e = errno;
    (void)!write(exec_pipe[1], &e, sizeof e);
    _exit(127);
  }

  close(out_pipe[1]);
  close(err_pipe[1]);
  close(in_pipe[0]);
  close(exec_pipe[1]);

  int exec_errno = 0;
  ssize_t got = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  close(exec_pipe[0]);
  if (got == sizeof exec_errno) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(in_pipe[1]);
    waitpid(pid, nullptr, 0);
    if (exec_errno == ENOENT && !cwd.empty() && access(cwd.c_str(), F_OK) != 0)
      return failure(fmt::format("cannot run {}: directory {} does not exist", argv[0], cwd));
    return failure(fmt::format("cannot run {}: {}", argv[0], strerror(exec_errno)),
                   exec_errno == ENOENT ? fmt::format("install {} or put it on PATH", argv[0]) : std::string());
  }

  // Signals that arrived before the child started are not its business: cleanup after an
  // interruption (removing a worktree) must still run. Only later ones are forwarded.
  unsigned signals_seen = interrupt_count();

  // Feed stdin (small inputs only: written before reading output). A child that exits without
  // reading it must not look like our own reader going away: SIGPIPE is ignored meanwhile.
  if (options.stdin_data) {
    struct sigaction ignore {}, previous {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &previous);
    const std::string& data = *options.stdin_data;
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = write(in_pipe[1], data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    sigaction(SIGPIPE, &previous, nullptr);
  }
  close(in_pipe[1]);

  ProcessResult result;
  std::string pending_out, pending_err;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  auto start = std::chrono::steady_clock::now();
  bool term_sent = false;
  std::chrono::steady_clock::time_point term_at;
  char buf[8192];
  auto forward_signals = [&] {
    unsigned now_seen = interrupt_count();
    if (now_seen == signals_seen || !options.forward_signals) return;
    signals_seen = now_seen;
    int sig = forwarded_signal(last_interrupt_signal());
    log_debug("run: passing signal {} on to {} (pid {})", sig, argv[0], static_cast<long>(pid));
    kill(-pid, sig);
    result.interrupted = true;
  };
  while (open_fds > 0) {
    forward_signals();
    int wait_ms = kSignalPollMs;
    if (options.timeout.count() > 0) wait_ms = 100;
    int r = poll(fds, 2, wait_ms);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& whole = i == 0 ? result.out : result.err;
      std::string& pending = i == 0 ? pending_out : pending_err;
      if (whole.size() + static_cast<size_t>(n) > options.max_output) {
        if (!result.output_too_large) kill(-pid, SIGKILL);
        result.output_too_large = true;
        continue;  // keep draining until the pipes close; keep nothing more
      }
      whole.append(buf, static_cast<size_t>(n));
      pending.append(buf, static_cast<size_t>(n));
      split_lines(pending, i == 1, options, false);
    }
    if (options.timeout.count() > 0) {
      auto now = std::chrono::steady_clock::now();
      if (!term_sent && now - start > options.timeout) {
        kill(-pid, SIGTERM);
        term_sent = true;
        term_at = now;
        result.timed_out = true;
      } else if (term_sent && now - term_at > kKillGrace) {
        kill(-pid, SIGKILL);
      }
    }
  }
  split_lines(pending_out, false, options, true);
  split_lines(pending_err, true, options, true);

  int status = 0;
  // The child closed its output but may still be running (e.g. finishing after a signal).
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) forward_signals();
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  log_debug("run: {} ended: {}", argv[0], result.describe());
  return result;
}

Result<ProcessResult> SystemCommandRunner::run(const std::vector<std::string>& argv, const ProcessOptions& options) {
  return run_process(argv, options);
}

}  // namespace rb
