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

// The stable, documented error codes of `--output json` (`"error": {"code": ...}`), for scripts
// to branch on; README.md's "Exit codes and error codes" lists them. One enum, one string per
// value (error_code_name); never renamed, only added to. `Default` means "the code of the exit
// code" (error_code_of), so an Error built only with an ExitCode still has a precise code.
enum class ErrorCode {
  Default,            // derived from the ExitCode (the first nine below)
  Failed,             // "failed": the command ran and failed (exit 1)
  Usage,              // "usage": bad command line (exit 2)
  Config,             // "config": the configuration file is missing or invalid (exit 2)
  Refused,            // "refused": a safety check refused; nothing was changed (exit 3)
  Locked,             // "locked": another rollback holds the environment's lock (exit 4)
  CannotStart,        // "cannot_start": a precondition failed before anything changed (exit 5)
  NotRecorded,        // "not_recorded": done, but the journal/outbox could not record it (exit 6)
  Interrupted,        // "interrupted": Ctrl-C or SIGTERM (exit 130)
  UnknownCommand,     // "unknown_command": no such command (exit 2)
  ConfigNotFound,     // "config_not_found": no rollback.yaml here or in a parent folder (exit 2)
  Credentials,        // "credentials": AWS refused the credentials: expired, unknown key, bad signature (exit 5 before any change)
  AwsUnreachable,     // "aws_unreachable": no HTTP answer from AWS (exit 5 before any change, else 1)
};

struct Error {
  ExitCode code = ExitCode::Failed;
  std::string message;  // what was tried and what came back
  std::string hint;     // what the user can do next (may be empty)
  std::string tag;      // the cause as the other side named it, e.g. an AWS error code or "ambiguous"
  ErrorCode error_code = ErrorCode::Default;  // the documented code; Default: from `code`
};

// The documented code of an error: its own, else the one its exit code implies.
inline ErrorCode error_code_of(const Error& e) {
  if (e.error_code != ErrorCode::Default) return e.error_code;
  switch (e.code) {
    case ExitCode::Ok: return ErrorCode::Failed;
    case ExitCode::Failed: return ErrorCode::Failed;
    case ExitCode::Usage: return ErrorCode::Usage;
    case ExitCode::Refused: return ErrorCode::Refused;
    case ExitCode::Locked: return ErrorCode::Locked;
    case ExitCode::CannotStart: return ErrorCode::CannotStart;
    case ExitCode::NotRecorded: return ErrorCode::NotRecorded;
    case ExitCode::Interrupted: return ErrorCode::Interrupted;
  }
  return ErrorCode::Failed;
}

// The stable string of a code, as `--output json` prints it.
inline const char* error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::Default: return "failed";
    case ErrorCode::Failed: return "failed";
    case ErrorCode::Usage: return "usage";
    case ErrorCode::Config: return "config";
    case ErrorCode::Refused: return "refused";
    case ErrorCode::Locked: return "locked";
    case ErrorCode::CannotStart: return "cannot_start";
    case ErrorCode::NotRecorded: return "not_recorded";
    case ErrorCode::Interrupted: return "interrupted";
    case ErrorCode::UnknownCommand: return "unknown_command";
    case ErrorCode::ConfigNotFound: return "config_not_found";
    case ErrorCode::Credentials: return "credentials";
    case ErrorCode::AwsUnreachable: return "aws_unreachable";
  }
  return "failed";
}

// Every code, for documentation and tests.
inline constexpr ErrorCode kAllErrorCodes[] = {
    ErrorCode::Failed,         ErrorCode::Usage,          ErrorCode::Config,      ErrorCode::Refused,
    ErrorCode::Locked,         ErrorCode::CannotStart,    ErrorCode::NotRecorded, ErrorCode::Interrupted,
    ErrorCode::UnknownCommand, ErrorCode::ConfigNotFound, ErrorCode::Credentials, ErrorCode::AwsUnreachable};

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
// A bad or missing configuration file (exit 2, code "config").
inline Error config_error(std::string message, std::string hint = {}) {
  return Error{ExitCode::Usage, std::move(message), std::move(hint), {}, ErrorCode::Config};
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
