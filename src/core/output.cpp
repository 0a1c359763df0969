#include "core/output.hpp"

#include <cstdio>
#include <fmt/format.h>

#include "util/json.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/terminal.hpp"
#include "util/utf8.hpp"

namespace rb {

namespace {

void write(FILE* f, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
}

// What reaches a terminal or a log: secrets masked, valid UTF-8, control characters shown as
// escapes. Newlines are kept: every caller composes its own lines.
std::string shown(std::string_view text) { return printable(redact(text), true); }

// A multi-line text whose continuation lines are indented, so text from outside inside a
// message cannot start a line of its own that looks like the tool's ("rollback: error: ...").
std::string indented(std::string text, std::string_view indent) {
  for (size_t pos = 0; (pos = text.find('\n', pos)) != std::string::npos; pos += indent.size() + 1)
    text.insert(pos + 1, indent);
  return text;
}

}  // namespace

Output::Output(OutputFormat format) : format_(format), live_(format == OutputFormat::Text && stdout_is_terminal()) {}

void Output::line(std::string_view text) {
  clear_status();
  if (json()) {
    if (verbose()) write(stderr, shown(text) + "\n");
    return;
  }
  write(stdout, shown(text) + "\n");
}

void Output::warn(std::string_view text) {
  clear_status();
  if (json()) {
    warnings_.push_back(redact(to_valid_utf8(text)));
    if (!verbose()) return;
  }
  write(stderr, "warning: " + indented(shown(text), "  ") + "\n");
}

void Output::annotate(nlohmann::json& j) const {
  if (!j.is_object()) return;
  if (!rollback_id_.empty() && !j.contains("rollback_id")) j["rollback_id"] = rollback_id_;
  if (!j.contains("verified")) j["verified"] = verified_;
  if (!warnings_.empty() && !j.contains("warnings")) j["warnings"] = warnings_;
  for (const auto& [key, value] : attached_.items())
    if (!j.contains(key)) j[key] = value;
}

void Output::status(std::string_view text) {
  if (!live_) return;
  write(stdout, "\r\033[K" + printable(redact(text), false));
  status_shown_ = true;
}

void Output::clear_status() {
  if (!status_shown_) return;
  write(stdout, "\r\033[K");
  status_shown_ = false;
}

void Output::result(const nlohmann::json& j) {
  if (!json()) return;
  nlohmann::json annotated = j;
  annotate(annotated);
  write(stdout, redact(dump_json(annotated, 2)) + "\n");
}

void Output::error(const Error& e) {
  clear_status();
  if (json()) {
    nlohmann::json j = {{"ok", false},
                        {"exit_code", exit_code_of(e)},
                        {"error",
                         {{"code", error_code_name(error_code_of(e))},
                          {"kind", exit_code_name(e.code)},
                          {"message", e.message},
                          {"hint", e.hint}}}};
    if (!e.tag.empty()) j["error"]["tag"] = e.tag;
    annotate(j);
    write(stdout, redact(dump_json(j, 2)) + "\n");
    return;
  }
  std::string text = "rollback: error: " + indented(shown(e.message), "  ") + "\n";
  if (!e.hint.empty()) text += "  hint: " + indented(shown(e.hint), "  ") + "\n";
  write(stderr, text);
}

int exit_code_of(const Error& e) { return static_cast<int>(e.code); }

const char* exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::Ok: return "ok";
    case ExitCode::Failed: return "failed";
    case ExitCode::Usage: return "usage";
    case ExitCode::Refused: return "refused";
    case ExitCode::Locked: return "locked";
    case ExitCode::CannotStart: return "cannot_start";
    case ExitCode::NotRecorded: return "not_recorded";
    case ExitCode::Interrupted: return "interrupted";
  }
  return "failed";
}

}  // namespace rb
