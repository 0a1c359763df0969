// The lock an invocation holds on an environment, whichever kind it is: the local file lock
// (core/lock.hpp) or the team's DynamoDB lock (core/team_lock.hpp). Commands only take it,
// name the rollback running under it, and let it go; Context::lock() picks the kind.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/lock.hpp"

namespace rb {

class HeldLock {
 public:
  virtual ~HeldLock() = default;
  // Records the journal id of the rollback running under this lock (best effort).
  virtual void set_rollback_id(const std::string& id) = 0;
  // Lets the lock go; safe to call twice.
  virtual void release() = 0;
  // "file lock /home/a/.local/state/rollback/locks/app.prod.lock", "team lock in DynamoDB table T"
  virtual std::string describe() const = 0;
};

// The file lock as a HeldLock.
class FileHeldLock final : public HeldLock {
 public:
  FileHeldLock(EnvironmentLock lock, std::string where) : lock_(std::move(lock)), where_(std::move(where)) {}
  void set_rollback_id(const std::string& id) override { lock_.set_rollback_id(id); }
  void release() override { lock_.release(); }
  std::string describe() const override { return where_; }

 private:
  EnvironmentLock lock_;
  std::string where_;
};

// What Context::lock() returns: owns the lock (released when destroyed) and says why it is of
// its kind when that needs recording (e.g. --local-lock on a team environment).
class LockHandle {
 public:
  explicit LockHandle(std::unique_ptr<HeldLock> lock, std::string override_note = {})
      : lock_(std::move(lock)), override_note_(std::move(override_note)) {}
  LockHandle(LockHandle&&) noexcept = default;
  LockHandle& operator=(LockHandle&&) noexcept = default;
  ~LockHandle() { release(); }

  void set_rollback_id(const std::string& id) {
    if (lock_) lock_->set_rollback_id(id);
  }
  void release() {
    if (lock_) lock_->release();
  }
  std::string describe() const { return lock_ ? lock_->describe() : std::string("no lock"); }
  // Non-empty when the journal must record why this lock is not the usual one.
  const std::string& override_note() const { return override_note_; }

 private:
  std::unique_ptr<HeldLock> lock_;
  std::string override_note_;
};

}  // namespace rb
