#include "core/report.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/config.hpp"
#include "util/json.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb {

namespace {

// A report is read by people: past this many events per rollback the timeline table keeps the
// first and last ones and says how many it left out (a long ECS wait can log hundreds of
// "deployment ..." lines; the journal keeps them all).
constexpr size_t kMaxEventsPerRollback = 120;
// The timeline picture: wide enough for a GitHub page, one row per rollback.
constexpr int kSvgWidth = 960;
constexpr int kSvgLabelWidth = 250;
constexpr int kSvgRightMargin = 20;
constexpr int kSvgTop = 46;
constexpr int kSvgRowHeight = 38;
constexpr int kSvgBottom = 44;
constexpr double kSvgMinBarWidth = 2.0;

std::string fill_for(const std::string& outcome) {
  if (outcome == kOutcomeSucceeded) return "#2e7d32";
  if (outcome == kOutcomeFailed) return "#c62828";
  if (outcome == kOutcomeRefused) return "#ef6c00";
  if (outcome == kOutcomeInterrupted) return "#6a1b9a";
  return "#757575";  // running, or not recorded
}

long long seconds_of(const std::string& iso, long long fallback) {
  auto t = parse_iso8601(iso);
  return t ? static_cast<long long>(*t) : fallback;
}

std::string clock_of(long long epoch) {
  return format_utc(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(epoch)), "%H:%M:%S");
}

std::string iso_of(long long epoch) {
  return iso8601(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(epoch)));
}

std::string span(long long seconds) { return format_duration(std::chrono::seconds(std::max(0LL, seconds))); }

// Long references made readable: a task definition ARN as "family:revision", a full commit as 12
// characters. Anything else as it is.
std::string short_ref(const std::string& ref) {
  auto slash = ref.find(":task-definition/");
  if (slash != std::string::npos) return ref.substr(slash + std::string_view(":task-definition/").size());
  if (ref.size() == 40 && std::all_of(ref.begin(), ref.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
    return ref.substr(0, 12);
  return ref;
}

// The commit an image was built from, when its tag starts with one ("d95d4c5", "d95d4c5-fix").
std::string commit_of_image(const std::string& image) {
  auto colon = image.rfind(':');
  if (colon == std::string::npos || image.find('/', colon) != std::string::npos) return {};
  std::string tag = image.substr(colon + 1);
  size_t n = 0;
  while (n < tag.size() && std::isxdigit(static_cast<unsigned char>(tag[n])) &&
         !std::isupper(static_cast<unsigned char>(tag[n])))
    ++n;
  if (n < 7 || n > 40 || (n < tag.size() && tag[n] != '-')) return {};
  return tag.substr(0, n);
}

std::string step_word(const std::string& message, size_t prefix) {
  auto end = message.find(' ', prefix);
  return message.substr(prefix, end == std::string::npos ? std::string::npos : end - prefix);
}

struct Ordered {
  const ReportRollback* r;
  long long start, end;
};

}  // namespace

std::string markdown_cell(const std::string& text) {
  std::string in = printable_inline(redact(text));
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '|': out += "\\|"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '`': case '*': case '_': case '[': case ']': case '\\':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

std::string xml_text(const std::string& text) {
  std::string in = printable_inline(redact(text));
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string staging_check_note(const nlohmann::json& details) {
  if (!details.is_object()) return {};
  auto it = details.find("staging_check");
  if (it == details.end() || !it->is_object()) return {};
  auto skipped = it->find("skipped");
  if (skipped != it->end() && skipped->is_boolean() && skipped->get<bool>())
    return "skipped (--skip-staging-check): " + json_string(*it, "skip_reason");
  auto evidence = it->find("evidence");
  if (evidence != it->end() && evidence->is_object())
    return fmt::format("passed: rollback {} on {}", json_string(*evidence, "rollback_id", "?"), json_string(*evidence, "env", "?"));
  return {};
}

std::vector<ReportStep> report_steps(const ReportRollback& r) {
  const JournalEntry& e = r.entry;
  long long start = seconds_of(e.started_at, 0);
  long long last_seen = start;
  for (const auto& ev : r.events) last_seen = std::max(last_seen, seconds_of(ev.at, last_seen));
  long long end = e.ended_at.empty() ? last_seen : seconds_of(e.ended_at, last_seen);

  std::vector<ReportStep> steps;
  std::map<std::string, size_t> open;  // step name -> index in steps
  for (const auto& ev : r.events) {
    long long at = seconds_of(ev.at, start);
    if (ev.message.starts_with("started:")) {
      std::string name = step_word(ev.message, 8);
      open[name] = steps.size();
      steps.push_back({e.id, name, at, at, false});
    } else if (ev.message.starts_with("done:")) {
      std::string name = step_word(ev.message, 5);
      auto it = open.find(name);
      if (it != open.end()) {
        steps[it->second].end = at;
        steps[it->second].finished = true;
        open.erase(it);
      } else {
        steps.push_back({e.id, name, at, at, true});
      }
    }
  }
  for (auto& [name, index] : open) steps[index].end = std::max(steps[index].start, end);
  if (steps.empty()) steps.push_back({e.id, e.layer + " rollback", start, std::max(start, end), e.outcome != kOutcomeRunning});
  return steps;
}

Report render_report(const ReportInput& in) {
  Report rep;
  std::vector<Ordered> rows;
  for (const auto& r : in.rollbacks) {
    long long start = seconds_of(r.entry.started_at, 0);
    long long end = start;
    for (const auto& ev : r.events) end = std::max(end, seconds_of(ev.at, end));
    if (!r.entry.ended_at.empty()) end = std::max(start, seconds_of(r.entry.ended_at, end));
    rows.push_back({&r, start, end});
  }
  std::sort(rows.begin(), rows.end(), [](const Ordered& a, const Ordered& b) {
    return a.start != b.start ? a.start < b.start : a.r->entry.id < b.r->entry.id;
  });

  std::set<std::string> envs, operators;
  for (const auto& o : rows) {
    envs.insert(o.r->entry.env);
    operators.insert(o.r->entry.user + "@" + o.r->entry.host);
  }
  std::string env_label = !in.env.empty() ? in.env : join(std::vector<std::string>(envs.begin(), envs.end()), ", ");
  long long first = rows.empty() ? 0 : rows.front().start;
  long long last_end = first;
  for (const auto& o : rows) last_end = std::max(last_end, o.end);

  // Recovered: the newest rollback succeeded; the time to recover runs from the first action.
  const Ordered* final_row = rows.empty() ? nullptr : &rows.back();
  bool recovered = final_row && final_row->r->entry.outcome == kOutcomeSucceeded;
  std::string outcome = final_row ? final_row->r->entry.outcome : "nothing recorded";

  std::string md;
  auto add = [&md](const std::string& line) { md += line + "\n"; };
  add(fmt::format("# Incident report: {} in {}", markdown_cell(in.app.empty() ? std::string("rollback") : in.app),
                  markdown_cell(env_label.empty() ? std::string("(no environment)") : env_label)));
  add("");
  add(fmt::format("Written by `rollback report` at {} from the rollback journal.", markdown_cell(in.generated_at)));
  add("");
  add("| | |");
  add("|---|---|");
  add(fmt::format("| Environment | {}{} |", markdown_cell(env_label), in.is_protected ? " (protected)" : ""));
  std::map<std::string, int> by_outcome;
  for (const auto& o : rows) ++by_outcome[o.r->entry.outcome];
  std::vector<std::string> counts;
  for (const auto& [k, v] : by_outcome) counts.push_back(fmt::format("{} {}", v, k));
  add(fmt::format("| Rollbacks | {}{} |", rows.size(), counts.empty() ? "" : " (" + join(counts, ", ") + ")"));
  if (!rows.empty()) {
    add(fmt::format("| First action | {} |", iso_of(first)));
    add(fmt::format("| Last action ended | {} |", iso_of(last_end)));
    add(fmt::format("| Time to recover | {} |",
                    recovered ? span(final_row->end - first) + " (first rollback started → last one succeeded)"
                              : "not recovered: the last rollback ended " + markdown_cell(outcome)));
  }
  add(fmt::format("| Operators | {} |", markdown_cell(join(std::vector<std::string>(operators.begin(), operators.end()), ", "))));
  add("");

  add("## Summary");
  add("");
  std::vector<std::string> reasons;
  for (const auto& o : rows)
    if (!o.r->entry.reason.empty() &&
        std::find(reasons.begin(), reasons.end(), o.r->entry.reason) == reasons.end())
      reasons.push_back(o.r->entry.reason);
  if (reasons.empty()) add("- **What broke:** no reason was recorded (`--reason`).");
  for (const auto& reason : reasons) add("- **What broke:** " + markdown_cell(reason));
  for (const auto& o : rows) {
    const JournalEntry& e = o.r->entry;
    add(fmt::format("- **What was done:** `{}` {} rollback in {} from {} to {} by {}: **{}** after {}", markdown_cell(e.id),
                    markdown_cell(e.layer), markdown_cell(e.env), markdown_cell(short_ref(e.from)),
                    markdown_cell(short_ref(e.to)), markdown_cell(e.user), markdown_cell(e.outcome), span(o.end - o.start)));
  }
  for (const auto& o : rows)
    if (auto note = staging_check_note(o.r->entry.details); !note.empty())
      add(fmt::format("- **Staging first** (`{}`): {}", markdown_cell(o.r->entry.id), markdown_cell(note)));
  add(fmt::format("- **Outcome:** {}", rows.empty() ? std::string("no rollback in the journal matched")
                                                     : recovered ? "recovered" : "not recovered (" + markdown_cell(outcome) + ")"));
  add("");

  add("## Timeline");
  add("");
  if (!in.timeline_file.empty()) {
    add(fmt::format("![Timeline: one bar per rollback, marks for its events]({})", in.timeline_file));
    add("");
  }
  add("| time (UTC) | since start | rollback | event |");
  add("|---|---|---|---|");
  for (const auto& o : rows) {
    const JournalEntry& e = o.r->entry;
    add(fmt::format("| {} | +{} | `{}` | {} rollback started by {}{} |", clock_of(o.start), span(o.start - first),
                    markdown_cell(e.id), markdown_cell(e.layer), markdown_cell(e.user),
                    e.reason.empty() ? "" : ": " + markdown_cell(e.reason)));
    const auto& events = o.r->events;
    size_t n = events.size();
    for (size_t i = 0; i < n; ++i) {
      if (n > kMaxEventsPerRollback && i == kMaxEventsPerRollback / 2) {
        add(fmt::format("| | | `{}` | … {} more events (`rollback history --id {}` lists them all) |", markdown_cell(e.id),
                        n - kMaxEventsPerRollback, markdown_cell(e.id)));
        i = n - kMaxEventsPerRollback / 2 - 1;
        continue;
      }
      long long at = seconds_of(events[i].at, o.start);
      add(fmt::format("| {} | +{} | `{}` | {} |", clock_of(at), span(at - first), markdown_cell(e.id),
                      markdown_cell(events[i].message)));
    }
    if (!e.ended_at.empty())
      add(fmt::format("| {} | +{} | `{}` | **{}** |", clock_of(o.end), span(o.end - first), markdown_cell(e.id),
                      markdown_cell(e.outcome)));
  }
  add("");

  add("## Steps");
  add("");
  add("| rollback | step | started (UTC) | duration | result |");
  add("|---|---|---|---|---|");
  std::vector<std::vector<ReportStep>> steps_of;
  for (const auto& o : rows) {
    steps_of.push_back(report_steps(*o.r));
    for (const auto& s : steps_of.back())
      add(fmt::format("| `{}` | {} | {} | {} | {} |", markdown_cell(s.rollback_id), markdown_cell(s.name), clock_of(s.start),
                      span(s.end - s.start), s.finished ? "done" : "**not finished**"));
  }
  add("");

  add("## Checklist");
  add("");
  bool any_checklist = false;
  for (const auto& o : rows) {
    auto it = o.r->entry.details.find("checklist");
    if (it == o.r->entry.details.end() || !it->is_array()) continue;
    if (!any_checklist) {
      add("| rollback | item | result | evidence |");
      add("|---|---|---|---|");
      any_checklist = true;
    }
    for (const auto& item : *it)
      add(fmt::format("| `{}` | {} | {} | {} |", markdown_cell(o.r->entry.id), markdown_cell(json_string(item, "item")),
                      markdown_cell(json_string(item, "result")), markdown_cell(json_string(item, "evidence"))));
  }
  if (!any_checklist) add("No checklist results were recorded with these rollbacks.");
  add("");

  add("## Follow-ups");
  add("");
  std::vector<std::string> follow;
  bool code_reverted = false;
  for (const auto& o : rows)
    if ((o.r->entry.layer == "app" || o.r->entry.layer == "release") && o.r->entry.outcome == kOutcomeSucceeded)
      code_reverted = true;
  for (const auto& o : rows) {
    const JournalEntry& e = o.r->entry;
    if (e.outcome != kOutcomeSucceeded && e.outcome != kOutcomeRefused)
      follow.push_back(fmt::format("- [ ] `{}` ended **{}**: see `rollback history --id {}` for how far it got", markdown_cell(e.id),
                                   markdown_cell(e.outcome), markdown_cell(e.id)));
    if (e.layer == "ecs" && e.outcome == kOutcomeSucceeded && !code_reverted) {
      std::string commit = commit_of_image(json_string(e.details, "from_image"));
      follow.push_back(
          commit.empty()
              ? fmt::format("- [ ] The bad change is still on the branch: revert it so the next deploy does not bring it back "
                            "(`rollback app --env {}{}`)", markdown_cell(e.env), reason_hint(in.is_protected))
              : fmt::format("- [ ] The bad change is still on the branch: revert it so the next deploy does not bring it back "
                            "(`rollback app --env {} --commit {}{}`)", markdown_cell(e.env), markdown_cell(commit),
                            reason_hint(in.is_protected)));
    }
    auto backup = e.details.find("backup");
    if (backup != e.details.end() && backup->is_object()) {
      auto files = backup->find("files");
      if (files != backup->end() && files->is_array())
        for (const auto& f : *files)
          follow.push_back(fmt::format("- [ ] Keep the database backup `{}` until the data is confirmed unneeded",
                                       markdown_cell(json_string(f, "path"))));
    }
  }
  if (in.is_protected) follow.push_back("- [ ] Schedule a post-mortem: a protected environment was affected");
  else follow.push_back("- [ ] Post-mortem if needed (not a protected environment)");
  for (const auto& f : follow) add(f);

  // The timeline picture: time on x, one row per rollback; its steps as thin bars under it and
  // its events as marks above it (each with its message as a tooltip).
  long long t0 = first, t1 = std::max(last_end, first + 1);
  double plot_w = kSvgWidth - kSvgLabelWidth - kSvgRightMargin;
  auto x_of = [&](long long t) { return kSvgLabelWidth + plot_w * static_cast<double>(t - t0) / static_cast<double>(t1 - t0); };
  int height = kSvgTop + static_cast<int>(std::max<size_t>(rows.size(), 1)) * kSvgRowHeight + kSvgBottom;
  std::string svg;
  auto put = [&svg](const std::string& s) { svg += s + "\n"; };
  put(fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="sans-serif" font-size="12">)",
                  kSvgWidth, height));
  put(fmt::format(R"(<title>Rollback timeline: {} in {}</title>)", xml_text(in.app), xml_text(env_label)));
  put(fmt::format(R"(<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>)", kSvgWidth, height));
  put(fmt::format(R"(<text x="10" y="22" font-size="14" font-weight="bold">{} in {}: {} rollback(s), {}</text>)",
                  xml_text(in.app), xml_text(env_label), rows.size(),
                  recovered ? "recovered in " + span(final_row->end - first) : xml_text("not recovered")));
  // Axis: about six ticks at a round step.
  static const long long kTickSteps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400};
  long long tick = kTickSteps[std::size(kTickSteps) - 1];
  for (long long s : kTickSteps)
    if ((t1 - t0) / s <= 6) { tick = s; break; }
  int axis_y = height - kSvgBottom + 8;
  put(fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#9e9e9e"/>)", kSvgLabelWidth, axis_y,
                  kSvgWidth - kSvgRightMargin, axis_y));
  for (long long t = t0 - (t0 % tick) + (t0 % tick ? tick : 0); t <= t1; t += tick) {
    double x = x_of(t);
    put(fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#e0e0e0"/>)", x, kSvgTop - 6, axis_y));
    put(fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" fill="#616161">{}</text>)", x, axis_y + 16, clock_of(t)));
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& o = rows[i];
    const JournalEntry& e = o.r->entry;
    int y = kSvgTop + static_cast<int>(i) * kSvgRowHeight;
    put(fmt::format(R"(<text x="10" y="{}">{} {} {}</text>)", y + 13, clock_of(o.start), xml_text(e.layer), xml_text(e.env)));
    put(fmt::format(R"(<text x="10" y="{}" fill="#616161" font-size="10">{}</text>)", y + 26, xml_text(e.id)));
    double x0 = x_of(o.start), w = std::max(kSvgMinBarWidth, x_of(o.end) - x0);
    put(fmt::format(R"(<rect x="{:.1f}" y="{}" width="{:.1f}" height="14" rx="2" fill="{}"><title>{} {} rollback: {} after {}{}</title></rect>)",
                    x0, y + 2, w, fill_for(e.outcome), xml_text(e.id), xml_text(e.layer), xml_text(e.outcome),
                    span(o.end - o.start), e.reason.empty() ? "" : " (" + xml_text(e.reason) + ")"));
    for (const auto& s : steps_of[i]) {
      double sx = x_of(s.start), sw = std::max(kSvgMinBarWidth, x_of(s.end) - sx);
      put(fmt::format(R"(<rect x="{:.1f}" y="{}" width="{:.1f}" height="5" fill="{}"><title>{}: {}</title></rect>)", sx, y + 19, sw,
                      s.finished ? "#90a4ae" : "#c62828", xml_text(s.name), span(s.end - s.start)));
    }
    for (const auto& ev : o.r->events) {
      double ex = x_of(seconds_of(ev.at, o.start));
      put(fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#263238"><title>{3} {4}</title></line>)", ex,
                      y - 3, y + 2, xml_text(ev.at), xml_text(ev.message)));
    }
  }
  put("</svg>");
  rep.svg = std::move(svg);
  rep.markdown = std::move(md);

  nlohmann::json ids = nlohmann::json::array();
  for (const auto& o : rows) ids.push_back(o.r->entry.id);
  rep.summary = {{"rollbacks", ids}, {"env", env_label}, {"outcome", outcome}, {"recovered", recovered}};
  if (!rows.empty()) {
    rep.summary["first_action_at"] = iso_of(first);
    rep.summary["last_action_ended_at"] = iso_of(last_end);
    rep.summary["time_to_recover_seconds"] = recovered ? nlohmann::json(final_row->end - first) : nlohmann::json(nullptr);
  }
  size_t step_count = 0;
  for (const auto& s : steps_of) step_count += s.size();
  rep.summary["steps"] = step_count;
  return rep;
}

std::filesystem::path incident_report_file(const std::filesystem::path& state_dir, const std::string& rollback_id) {
  return state_dir / "reports" / (rollback_id + ".md");
}

}  // namespace rb
