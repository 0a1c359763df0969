// rollback history: every rollback recorded in the journal, newest first.
#include <fmt/format.h>

#include <optional>

#include "cli/command.hpp"
#include "core/checklist.hpp"
#include "core/report.hpp"
#include "ecs/model.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb::cli {

namespace {

// Task definition ARNs are long; "family:revision" says the same in a table.
std::string short_ref(const std::string& ref) {
  if (auto td = ecs::parse_task_def(ref); td && !td->arn.empty()) return td->label();
  return ref.size() == 40 ? ref.substr(0, 12) : ref;
}

// What a database rollback's staging-first gate recorded, for a line of its own: "skipped: why"
// (an override the team should see), "passed: rollback X on staging", or empty.
std::string staging_note(const JournalEntry& e) {
  return staging_check_note(e.details);
}

// The largest --limit: far more rollbacks than a team records in years, and a bound on
// what one command prints.
constexpr long long kMaxHistoryLimit = 100'000;

// "estimated about 13 min, took 4m2s" from an ECS entry's details (estimate_seconds,
// duration_seconds); "" when it has neither. Details come from the journal: any type is read
// without throwing.
std::string durations(const nlohmann::json& details) {
  auto seconds = [&](const char* key) -> std::optional<double> {
    if (!details.is_object()) return std::nullopt;
    auto it = details.find(key);
    if (it == details.end() || !it->is_number()) return std::nullopt;
    double v = it->get<double>();
    // A day bounds any rollback the tool waits for; beyond it the field is not ours.
    constexpr double kMaxSeconds = 86'400;
    if (!(v >= 0 && v <= kMaxSeconds)) return std::nullopt;
    return v;
  };
  auto estimate = seconds("estimate_seconds");
  auto took = seconds("duration_seconds");
  if (!estimate && !took) return {};
  auto text = [](double s) { return format_duration(std::chrono::milliseconds(static_cast<long long>(s * 1000))); };
  std::string out = estimate ? "estimated " + text(*estimate) : "no estimate";
  out += took ? ", took " + text(*took) : ", not finished";
  return out;
}

struct HistoryOptions {
  std::string env, layer, id, since;
  size_t limit = 20;
};

Status run(Context& ctx, const HistoryOptions& o) {
  Output& out = ctx.out();
  if (!o.env.empty() && ctx.has_config()) RB_TRY(ctx.environment(o.env));
  RB_TRY_ASSIGN(Journal * journal, ctx.journal_for_reading());
  if (!o.id.empty()) {
    RB_TRY_ASSIGN(auto entry, journal->get(o.id));
    if (!entry) return usage_error(fmt::format("no rollback {} in the journal {}", o.id, journal->location()),
                                   "`rollback history` lists the recorded ids");
    RB_TRY_ASSIGN(auto events, journal->events(o.id));
    // Every recorded field is outside text (a --reason, a user name, AWS messages): each is
    // shown on its own line only, with control characters and newlines escaped.
    const auto f = [](const std::string& s) { return printable_inline(s); };
    out.line(fmt::format("rollback {}: {} {} in {} by {}@{}", f(entry->id), f(entry->layer), f(entry->outcome),
                         f(entry->env), f(entry->user), f(entry->host)));
    out.line(fmt::format("  from    {}", f(entry->from)));
    out.line(fmt::format("  to      {}", f(entry->to)));
    if (!entry->reason.empty()) out.line(fmt::format("  reason  {}", f(entry->reason)));
    if (auto note = staging_note(*entry); !note.empty()) out.line(fmt::format("  staging check {}", f(note)));
    out.line(fmt::format("  started {}  ended {}", f(entry->started_at), entry->ended_at.empty() ? "-" : f(entry->ended_at)));
    if (auto d = durations(entry->details); !d.empty()) out.line(fmt::format("  time    {}", d));
    out.line(fmt::format("  details {}", dump_json(entry->details)));
    if (entry->details.is_object() && entry->details.contains("checklist")) {
      out.line("  checklist:");
      for (const auto& line : checklist_lines(checklist_from_json(entry->details["checklist"])))
        out.line("  " + f(line));
    }
    // Steps are journaled as "started:X" / "done:X" events: the last one says how far it got.
    std::string last_step;
    for (const auto& e : events)
      if (e.message.starts_with("started:") || e.message.starts_with("done:"))
        last_step = e.message.substr(0, e.message.find(' '));
    if (!last_step.empty()) out.line(fmt::format("  last step {}", f(last_step)));
    out.line("  events:");
    nlohmann::json ev = nlohmann::json::array();
    for (const auto& e : events) {
      out.line(fmt::format("    {}  {}", f(e.at), f(e.message)));
      ev.push_back({{"at", e.at}, {"message", e.message}});
    }
    nlohmann::json j = entry_to_json(*entry);
    j["events"] = ev;
    if (!last_step.empty()) j["last_step"] = last_step;
    out.result(j);
    return {};
  }
  JournalFilter f;
  if (ctx.has_config()) f.app = ctx.config().app;
  f.env = o.env;
  f.layer = o.layer;
  f.limit = o.limit;
  if (!o.since.empty()) {
    RB_TRY_ASSIGN(f.since, since_cutoff(o.since, "e.g. --since 30d, --since 12h"));
  }
  RB_TRY_ASSIGN(auto entries, journal->list(f));
  nlohmann::json j = nlohmann::json::array();
  if (entries.empty()) out.line(fmt::format("no rollbacks recorded in {}", journal->location()));
  else out.line(fmt::format("{:<21} {:<8} {:<5} {:<11} {:<10} {:<20} {}", "ID", "ENV", "LAYER", "OUTCOME", "USER", "STARTED", "FROM -> TO"));
  for (const auto& e : entries) {
    const auto p = [](const std::string& s) { return printable_inline(s); };
    const auto note = staging_note(e);
    std::string times = durations(e.details);
    out.line(fmt::format("{:<21} {:<8} {:<5} {:<11} {:<10} {:<20} {} -> {}{}{}{}", p(e.id), p(e.env), p(e.layer),
                         p(e.outcome), p(e.user), p(e.started_at), p(short_ref(e.from)), p(short_ref(e.to)),
                         times.empty() ? "" : "  (" + times + ")", e.unshared ? "  (not yet shared)" : "",
                         note.starts_with("skipped") ? "  (staging check skipped: " + p(e.reason) + ")" : ""));
    j.push_back(entry_to_json(e));
  }
  out.result({{"rollbacks", j}});
  return {};
}

}  // namespace

void register_history(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<HistoryOptions>();
  Subcommand sub = app.add_subcommand("history", "Every rollback recorded in the journal, newest first");
  sub.add_option("--env,-e", opts->env, "Only this environment");
  sub.add_option("--layer", opts->layer, "Only this layer (ecs, app, db, infra, state, release)");
  add_number_option(sub, "--limit", opts->limit, 1, kMaxHistoryLimit, "At most this many (default 20)");
  sub.add_option("--id", opts->id, "Show one rollback with its events");
  sub.add_option("--since", opts->since, "Only rollbacks started within this long, e.g. 30d, 12h");
  add_global_options(sub, g);
  // Without a configuration file, history lists every app of the journal.
  run_when_parsed_config_optional(sub, g, action, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
