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

  // A line of plan or progress: stdout in text mode. In JSON mode stdout is only the JSON and
  // stderr stays quiet: the line goes to stderr only with --verbose.
  void line(std::string_view text);
  void blank() { line(""); }
  // "warning: ..." on stderr; in JSON mode it goes into the result's "warnings" (and to stderr
  // only with --verbose).
  void warn(std::string_view text);
  // A status line redrawn in place, only when stdout is a terminal in text mode.
  void status(std::string_view text);
  void clear_status();
  // The result object (JSON mode only; text mode has already printed its lines). It gains
  // "rollback_id" (when a rollback was recorded), "verified" (what was checked, maybe empty) and
  // "warnings" (when there were any) unless it already has them.
  void result(const nlohmann::json& j);
  // The one place errors are shown: `rollback: error: ...` + hint, or a JSON error object with
  // the documented "code" (error_code_name), "rollback_id" and "verified".
  void error(const Error& e);

  // The journal id of the rollback this invocation recorded (RollbackRecord::begin sets it).
  void set_rollback_id(std::string id) { rollback_id_ = std::move(id); }
  const std::string& rollback_id() const { return rollback_id_; }
  // Something the command checked and found true ("ECS: ... runs revision 4 on all 2 tasks").
  void verified(std::string what) { verified_.push_back(std::move(what)); }
  // A field every JSON result *and error* object carries (e.g. the checks of `rollback check`,
  // which fail as an error but whose evidence a CI job still wants to read).
  void attach(const std::string& key, nlohmann::json value) { attached_[key] = std::move(value); }

 private:
  OutputFormat format_;
  bool live_;
  bool status_shown_ = false;
  std::string rollback_id_;
  nlohmann::json verified_ = nlohmann::json::array();
  nlohmann::json warnings_ = nlohmann::json::array();
  nlohmann::json attached_ = nlohmann::json::object();
  // Adds rollback_id, verified and warnings to a JSON result or error object.
  void annotate(nlohmann::json& j) const;
};

int exit_code_of(const Error& e);
const char* exit_code_name(ExitCode code);

}  // namespace rb
