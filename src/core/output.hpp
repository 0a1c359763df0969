// Everything the tool says goes through Output: plain lines for people, one JSON object for
// machines (--output json), a live status line on terminals. All of it is redacted.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb {

enum class OutputFormat { Text, Json };

class Output {
 public:
  explicit Output(OutputFormat format = OutputFormat::Text);
  bool json() const { return format_ == OutputFormat::Json; }

  // A line of plan or progress: stdout in text mode, stderr in JSON mode (stdout stays pure JSON).
  void line(std::string_view text);
  void blank() { line(""); }
  // "warning: ..." on stderr.
  void warn(std::string_view text);
  // A status line redrawn in place, only when stdout is a terminal in text mode.
  void status(std::string_view text);
  void clear_status();
  // The result object (JSON mode only; text mode has already printed its lines).
  void result(const nlohmann::json& j);
  // The one place errors are shown: `rollback: error: ...` + hint, or a JSON error object.
  void error(const Error& e);

 private:
  OutputFormat format_;
  bool live_;
  bool status_shown_ = false;
};

int exit_code_of(const Error& e);
const char* exit_code_name(ExitCode code);

}  // namespace rb
