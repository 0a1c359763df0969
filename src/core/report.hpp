// The incident report: a Markdown document and an SVG timeline built from journal entries alone,
// so it can be written at any time after the fact (or by CI) with nothing but the journal.
// Pure: no I/O. Every piece of recorded text passes through redact() and is escaped for where it
// lands (Markdown table cells, XML), so a --reason or an AWS message cannot inject markup.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/journal.hpp"

namespace rb {

struct ReportRollback {
  JournalEntry entry;
  std::vector<JournalEvent> events;  // oldest first
};

struct ReportInput {
  std::string app;
  std::string env;           // empty: several environments
  bool is_protected = false;  // production-like: the report asks for a post-mortem
  std::vector<ReportRollback> rollbacks;  // any order; the report sorts them by start
  std::string generated_at;               // ISO-8601 UTC
  std::string timeline_file;              // the SVG's file name, linked from the Markdown
};

// One timed piece of a rollback: a journaled "started:X" .. "done:X" pair, or the rollback whole.
struct ReportStep {
  std::string rollback_id;
  std::string name;
  long long start = 0, end = 0;  // seconds since the epoch; end == start when instantaneous
  bool finished = true;          // false: started and never done (killed, failed)
};

struct Report {
  std::string markdown;
  std::string svg;
  nlohmann::json summary;  // for --output json: ids, outcome, time to recover, ...
};

Report render_report(const ReportInput& input);

// Where a rollback's own incident report is written (RollbackRecord on protected environments):
// <state>/reports/<id>.md, with the timeline beside it as <id>.svg.
std::filesystem::path incident_report_file(const std::filesystem::path& state_dir, const std::string& rollback_id);

// The steps of one rollback in order (exposed for tests).
std::vector<ReportStep> report_steps(const ReportRollback& r);

// What a database rollback's staging-first gate recorded (details.staging_check), in words:
// "skipped (--skip-staging-check): why", "passed: rollback X on staging", or empty. Fields of an
// unexpected type read as absent (the journal may be a copy from elsewhere).
std::string staging_check_note(const nlohmann::json& details);

// Text made safe for a Markdown table cell: redacted, control characters escaped, one line, and
// the characters Markdown or HTML would interpret (| < > ` * _ [ ]) escaped.
std::string markdown_cell(const std::string& text);
// Text made safe inside an XML element or attribute: redacted and escaped.
std::string xml_text(const std::string& text);

}  // namespace rb
