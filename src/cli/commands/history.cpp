// rollback history: every rollback recorded in the journal, newest first.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "ecs/model.hpp"

namespace rb::cli {

namespace {

// Task definition ARNs are long; "family:revision" says the same in a table.
std::string short_ref(const std::string& ref) {
  if (auto td = ecs::parse_task_def(ref); td && !td->arn.empty()) return td->label();
  return ref.size() == 40 ? ref.substr(0, 12) : ref;
}

struct HistoryOptions {
  std::string env, layer, id;
  size_t limit = 20;
};

Status run(Context& ctx, const HistoryOptions& o) {
  Output& out = ctx.out();
  if (!o.env.empty() && ctx.has_config()) RB_TRY(ctx.environment(o.env));
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  if (!o.id.empty()) {
    RB_TRY_ASSIGN(auto entry, journal->get(o.id));
    if (!entry) return usage_error(fmt::format("no rollback {} in the journal {}", o.id, journal->location()),
                                   "`rollback history` lists the recorded ids");
    RB_TRY_ASSIGN(auto events, journal->events(o.id));
    out.line(fmt::format("rollback {}: {} {} in {} by {}@{}", entry->id, entry->layer, entry->outcome, entry->env,
                         entry->user, entry->host));
    out.line(fmt::format("  from    {}", entry->from));
    out.line(fmt::format("  to      {}", entry->to));
    if (!entry->reason.empty()) out.line(fmt::format("  reason  {}", entry->reason));
    out.line(fmt::format("  started {}  ended {}", entry->started_at, entry->ended_at.empty() ? "-" : entry->ended_at));
    out.line(fmt::format("  details {}", entry->details.dump()));
    // Steps are journaled as "started:X" / "done:X" events: the last one says how far it got.
    std::string last_step;
    for (const auto& e : events)
      if (e.message.starts_with("started:") || e.message.starts_with("done:"))
        last_step = e.message.substr(0, e.message.find(' '));
    if (!last_step.empty()) out.line(fmt::format("  last step {}", last_step));
    out.line("  events:");
    nlohmann::json ev = nlohmann::json::array();
    for (const auto& e : events) {
      out.line(fmt::format("    {}  {}", e.at, e.message));
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
  RB_TRY_ASSIGN(auto entries, journal->list(f));
  nlohmann::json j = nlohmann::json::array();
  if (entries.empty()) out.line(fmt::format("no rollbacks recorded in {}", journal->location()));
  else out.line(fmt::format("{:<21} {:<8} {:<5} {:<11} {:<10} {:<20} {}", "ID", "ENV", "LAYER", "OUTCOME", "USER", "STARTED", "FROM -> TO"));
  for (const auto& e : entries) {
    out.line(fmt::format("{:<21} {:<8} {:<5} {:<11} {:<10} {:<20} {} -> {}", e.id, e.env, e.layer, e.outcome, e.user,
                         e.started_at, short_ref(e.from), short_ref(e.to)));
    j.push_back(entry_to_json(e));
  }
  out.result({{"rollbacks", j}});
  return {};
}

}  // namespace

void register_history(CLI::App& app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<HistoryOptions>();
  CLI::App* sub = app.add_subcommand("history", "Every rollback recorded in the journal, newest first");
  sub->add_option("--env,-e", opts->env, "Only this environment");
  sub->add_option("--layer", opts->layer, "Only this layer (ecs, app, db, infra, state)");
  sub->add_option("--limit", opts->limit, "At most this many (default 20)");
  sub->add_option("--id", opts->id, "Show one rollback with its events");
  add_global_options(*sub, g);
  sub->callback([&g, &action, opts] {
    action = [&g, opts] {
      // History works without a configuration file too (then it lists every app).
      bool has_config = g.config.has_value() || load_config(std::nullopt, std::filesystem::current_path()).ok();
      return execute(g, has_config, [opts](Context& ctx) { return run(ctx, *opts); });
    };
  });
}

}  // namespace rb::cli
