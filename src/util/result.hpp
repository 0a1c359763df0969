// Result<T>: a value or an Error that says what happened and what to do next.
// Errors travel up as values; one place in main turns them into `rollback: error: ...`
// and an exit code (see ExitCode).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace rb {

// Exit codes documented in the README.
enum class ExitCode : int {
  Ok = 0,
  Failed = 1,       // the rollback (or the command) was attempted and failed
  Usage = 2,        // bad command line or configuration
  Refused = 3,      // a safety check refused to go on; nothing was changed
  Locked = 4,       // another rollback holds the environment's lock
  CannotStart = 5,  // a precondition outside the command line failed before anything changed
                    // (credentials expired, wrong account, AWS or the team store unreachable)
  NotRecorded = 6,  // the rollback itself succeeded but recording it (journal, outbox) failed
  Interrupted = 130 // Ctrl-C / SIGTERM
};

struct Error {
  ExitCode code = ExitCode::Failed;
  std::string message;  // what was tried and what came back
  std::string hint;     // what the user can do next (may be empty)
  std::string tag;      // machine-readable cause, e.g. an AWS error code or "ambiguous"
};

inline Error failure(std::string message, std::string hint = {}) {
  return Error{ExitCode::Failed, std::move(message), std::move(hint), {}};
}
inline Error usage_error(std::string message, std::string hint = {}) {
  return Error{ExitCode::Usage, std::move(message), std::move(hint), {}};
}
inline Error refusal(std::string message, std::string hint = {}) {
  return Error{ExitCode::Refused, std::move(message), std::move(hint), {}};
}
inline Error lock_error(std::string message, std::string hint = {}) {
  return Error{ExitCode::Locked, std::move(message), std::move(hint), {}};
}
inline Error interrupted_error(std::string message = "interrupted") {
  return Error{ExitCode::Interrupted, std::move(message), {}, {}};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(implicit)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error take_error() { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace rb

#define RB_CONCAT_INNER(a, b) a##b
#define RB_CONCAT(a, b) RB_CONCAT_INNER(a, b)

// RB_TRY(expr): return the error of a Result-returning expression.
#define RB_TRY(expr)                                     \
  do {                                                   \
    auto rb_try_result_ = (expr);                        \
    if (!rb_try_result_) return rb_try_result_.take_error(); \
  } while (0)

// RB_TRY_ASSIGN(auto x, expr): bind the value or return the error.
#define RB_TRY_ASSIGN(lhs, expr)                                              \
  auto RB_CONCAT(rb_try_, __LINE__) = (expr);                                 \
  if (!RB_CONCAT(rb_try_, __LINE__)) return RB_CONCAT(rb_try_, __LINE__).take_error(); \
  lhs = std::move(*RB_CONCAT(rb_try_, __LINE__))
