// One lock per app and environment, shared by every rollback command, so two people
// cannot roll back the same environment at once.
//
// The lock is a file holding who took it; it is held with flock(2), which the kernel drops
// when the holder dies. A file that still names a holder while nobody holds the flock was
// left by a process that died mid-rollback: it is reported, not silently taken over, because
// that rollback may be half done. `rollback unlock` breaks it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb {

struct LockHolder {
  std::string user, host, command, since, rollback_id;
  long pid = 0;
  nlohmann::json to_json() const;
  static LockHolder from_json(const nlohmann::json& j);
  std::string describe() const;  // "alice@host (pid 1234, `rollback ecs`) since 2026-...Z"
};

enum class LockState { Free, Held, Stale };

struct LockInspection {
  LockState state = LockState::Free;
  std::optional<LockHolder> holder;
};

class EnvironmentLock {
 public:
  // Takes the lock or fails with ExitCode::Locked naming the holder (or the dead holder).
  static Result<EnvironmentLock> acquire(const std::filesystem::path& dir, const std::string& app,
                                         const std::string& env, LockHolder holder);
  // Looks at the lock without taking it.
  static Result<LockInspection> inspect(const std::filesystem::path& dir, const std::string& app,
                                        const std::string& env);
  // What acquire would answer, without taking the lock (for dry runs): the same Locked errors
  // (held, or stale with tag "stale") and the same refusals of an unsafe lock folder or file.
  static Status check_available(const std::filesystem::path& dir, const std::string& app, const std::string& env);
  // Removes a stale lock. Refuses (ExitCode::Locked) when a live process holds it.
  static Result<LockInspection> break_stale(const std::filesystem::path& dir, const std::string& app,
                                            const std::string& env);
  static std::filesystem::path path_for(const std::filesystem::path& dir, const std::string& app,
                                        const std::string& env);

  EnvironmentLock(EnvironmentLock&& other) noexcept;
  EnvironmentLock& operator=(EnvironmentLock&&) = delete;
  EnvironmentLock(const EnvironmentLock&) = delete;
  ~EnvironmentLock();

  // Records the journal id of the rollback running under this lock.
  void set_rollback_id(const std::string& id);
  void release();

 private:
  EnvironmentLock(int fd, std::filesystem::path path, LockHolder holder)
      : fd_(fd), path_(std::move(path)), holder_(std::move(holder)) {}
  int fd_ = -1;
  std::filesystem::path path_;
  LockHolder holder_;
};

}  // namespace rb
