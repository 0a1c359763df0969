#include "core/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace rb {

namespace fs = std::filesystem;

namespace {

std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::optional<LockHolder> parse_holder(const std::string& text);

// Replaces the holder line without ever leaving the file empty: an empty file under a lock whose
// process was killed reads as a clean release, and the next rollback would go ahead over an
// unfinished one. The new line is written over the old text first, then the file is cut to it.
bool write_holder(int fd, const std::string& line) {
  if (pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) return false;
  if (ftruncate(fd, static_cast<off_t>(line.size())) != 0) return false;
  fsync(fd);
  return true;
}

// The holder of a lock that is held right now. A winner takes the flock first and writes its name
// a moment later, so a loser that reads in between sees an empty file: it waits for the name (up
// to a second, far longer than the write takes even on a loaded machine) instead of reporting "an
// unknown process" to the operator who must now go and find them.
std::optional<LockHolder> holder_of_held_lock(int fd) {
  constexpr int kAttempts = 100;
  for (int i = 0;; ++i) {
    std::string text = read_fd(fd);
    if (!trim(text).empty() || i + 1 >= kAttempts) return parse_holder(text);
    usleep(10 * 1000);
  }
}

// The holder is the file's first line: write_holder() puts the new line over the old text before
// it cuts the file, so a process killed in between leaves the new holder followed by a tail.
std::optional<LockHolder> parse_holder(const std::string& text) {
  if (trim(text).empty()) return std::nullopt;
  auto j = nlohmann::json::parse(text.substr(0, text.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    LockHolder h;
    h.command = "(unreadable lock file)";
    return h;
  }
  return LockHolder::from_json(j);
}

// The lock folder must be the user's own, and the lock file a regular file of theirs: a link
// planted at the lock's path would otherwise make acquire, release and `unlock` truncate its target.
Result<int> open_lock_file(const fs::path& path) {
  RB_TRY(ensure_state_dir(path.parent_path()));
  return open_state_file(path);
}

std::string unlock_hint(const std::string& env) {
  return fmt::format(
      "the process that held it is gone, so its rollback may be incomplete: check `rollback history --env {0}` "
      "and `rollback status --env {0}`, then break the lock with `rollback unlock --env {0}`",
      env);
}

Error held_error(const std::string& env, const std::optional<LockHolder>& current) {
  return lock_error(
      fmt::format("{} is locked: another rollback is running, by {}", env,
                  current ? current->describe() : std::string("an unknown process")),
      fmt::format("wait for it to finish (`rollback history --env {}` shows it); two rollbacks of one "
                  "environment at once would fight each other",
                  env));
}

Error stale_error(const std::string& env, const LockHolder& stale) {
  Error err = lock_error(fmt::format("{} has a lock left by a process that died: {}", env, stale.describe()),
                         unlock_hint(env));
  err.tag = "stale";
  return err;
}

}  // namespace

nlohmann::json LockHolder::to_json() const {
  return {{"user", user}, {"host", host}, {"pid", pid}, {"command", command}, {"since", since},
          {"rollback_id", rollback_id}};
}

LockHolder LockHolder::from_json(const nlohmann::json& j) {
  LockHolder h;
  // A lock file is outside data (an older version, a hand edit): a field of the wrong type
  // reads as missing instead of throwing.
  h.user = json_string(j, "user");
  h.host = json_string(j, "host");
  h.pid = static_cast<long>(json_integer(j, "pid"));
  h.command = json_string(j, "command");
  h.since = json_string(j, "since");
  h.rollback_id = json_string(j, "rollback_id");
  return h;
}

std::string LockHolder::describe() const {
  std::string out = fmt::format("{}@{} (pid {}", user, host, pid);
  if (!command.empty()) out += fmt::format(", `{}`", command);
  if (!rollback_id.empty()) out += fmt::format(", rollback {}", rollback_id);
  out += ")";
  if (!since.empty()) out += " since " + since;
  return out;
}

fs::path EnvironmentLock::path_for(const fs::path& dir, const std::string& app, const std::string& env) {
  return dir / fmt::format("{}.{}.lock", app, env);
}

Result<EnvironmentLock> EnvironmentLock::acquire(const fs::path& dir, const std::string& app, const std::string& env,
                                                 LockHolder holder) {
  fs::path path = path_for(dir, app, env);
  RB_TRY_ASSIGN(int fd, open_lock_file(path));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e != EWOULDBLOCK) {
      close(fd);
      return failure(fmt::format("cannot lock {}: {}", path.string(), strerror(e)));
    }
    auto current = holder_of_held_lock(fd);
    close(fd);
    return held_error(env, current);
  }
  if (auto stale = parse_holder(read_fd(fd))) {
    flock(fd, LOCK_UN);
    close(fd);
    return stale_error(env, *stale);
  }
  if (!write_holder(fd, dump_json(holder.to_json()) + "\n")) {
    int e = errno;
    flock(fd, LOCK_UN);
    close(fd);
    return failure(fmt::format("cannot write lock file {}: {}", path.string(), strerror(e)));
  }
  return EnvironmentLock(fd, path, std::move(holder));
}

Result<LockInspection> EnvironmentLock::inspect(const fs::path& dir, const std::string& app, const std::string& env) {
  fs::path path = path_for(dir, app, env);
  std::error_code ec;
  // symlink_status: a link planted at the path (even a dangling one) is refused by open_lock_file.
  if (!fs::exists(fs::symlink_status(path, ec))) return LockInspection{};
  RB_TRY_ASSIGN(int fd, open_lock_file(path));
  LockInspection out;
  out.holder = parse_holder(read_fd(fd));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    out.state = LockState::Held;
    if (!out.holder) out.holder = holder_of_held_lock(fd);
  } else {
    out.state = out.holder ? LockState::Stale : LockState::Free;
    flock(fd, LOCK_UN);
  }
  close(fd);
  return out;
}

Status EnvironmentLock::check_available(const fs::path& dir, const std::string& app, const std::string& env) {
  RB_TRY_ASSIGN(LockInspection seen, inspect(dir, app, env));
  if (seen.state == LockState::Held) return held_error(env, seen.holder);
  if (seen.state == LockState::Stale && seen.holder) return stale_error(env, *seen.holder);
  // The folder must also be usable when the lock is really taken.
  RB_TRY(ensure_state_dir(dir));
  return {};
}

Result<LockInspection> EnvironmentLock::break_stale(const fs::path& dir, const std::string& app, const std::string& env) {
  fs::path path = path_for(dir, app, env);
  RB_TRY_ASSIGN(int fd, open_lock_file(path));
  LockInspection out;
  out.holder = parse_holder(read_fd(fd));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (!out.holder) out.holder = holder_of_held_lock(fd);
    close(fd);
    out.state = LockState::Held;
    return lock_error(fmt::format("{} is locked by a running process: {}", env,
                                  out.holder ? out.holder->describe() : std::string("unknown")),
                      "a live lock is not broken: wait for it, or stop that process first (Ctrl-C releases the lock)");
  }
  out.state = out.holder ? LockState::Stale : LockState::Free;
  if (ftruncate(fd, 0) != 0) {
    int e = errno;
    flock(fd, LOCK_UN);
    close(fd);
    return failure(fmt::format("cannot clear lock file {}: {}", path.string(), strerror(e)));
  }
  flock(fd, LOCK_UN);
  close(fd);
  return out;
}

EnvironmentLock::EnvironmentLock(EnvironmentLock&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), holder_(std::move(other.holder_)) {
  other.fd_ = -1;
}

EnvironmentLock::~EnvironmentLock() { release(); }

void EnvironmentLock::set_rollback_id(const std::string& id) {
  if (fd_ < 0) return;
  holder_.rollback_id = id;
  (void)write_holder(fd_, dump_json(holder_.to_json()) + "\n");
}

void EnvironmentLock::release() {
  if (fd_ < 0) return;
  // Emptying the file before dropping the flock marks a clean release (not a stale lock).
  if (ftruncate(fd_, 0) == 0) fsync(fd_);
  flock(fd_, LOCK_UN);
  close(fd_);
  fd_ = -1;
}

}  // namespace rb
