// rollback team init: create the DynamoDB table that holds the team's locks and journal.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/team_journal.hpp"
#include "core/team_store.hpp"

namespace rb::cli {

namespace {

Result<const TeamConfig*> team_config(Context& ctx) {
  if (!ctx.is_team())
    return usage_error(fmt::format("{} has no `team:` block", ctx.config().file.string()),
                       "add\nteam:\n  table: rollback-team\nthen run `rollback team init` (see docs/TEAM.md)");
  return &*ctx.config().team;
}

Status init(Context& ctx) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const TeamConfig* team, team_config(ctx));
  nlohmann::json input = team::create_table_input(team->table);
  out.line(fmt::format("rollback team init: create the DynamoDB table {} (on-demand billing)", team->table));
  out.line("  the call:  DynamoDB CreateTable " + input.dump());
  if (ctx.options().dry_run) {
    out.line("dry run: nothing was changed");
    out.result({{"ok", true}, {"dry_run", true}, {"table", team->table}, {"create_table", input}});
    return {};
  }
  RB_TRY(confirm_typed(ctx, team->table, fmt::format("Create the DynamoDB table {}?", team->table)));
  RB_TRY_ASSIGN(team::TeamStore * store, ctx.team_store());
  auto created = store->db().call("CreateTable", input, aws::CallOptions{.idempotent = false});
  bool existed = false;
  if (!created) {
    if (created.error().tag != "ResourceInUseException") return created.take_error();
    existed = true;
  }
  RB_TRY_ASSIGN(auto described, store->db().call("DescribeTable", {{"TableName", team->table}}));
  std::string status = described.value("Table", nlohmann::json::object()).value("TableStatus", std::string("?"));
  out.line(existed ? fmt::format("table {} already exists ({}): nothing to do", team->table, status)
                   : fmt::format("created table {} ({})", team->table, status));
  out.result({{"ok", true}, {"table", team->table}, {"created", !existed}, {"status", status}});
  return {};
}

Status push(Context& ctx) {
  Output& out = ctx.out();
  RB_TRY(team_config(ctx));
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  auto* tj = dynamic_cast<team::TeamJournal*>(journal);
  if (!tj) return failure("the journal is not a team journal");
  auto report = tj->push(true);
  out.line(fmt::format("pushed {} queued write(s) to {}; {} still queued", report.pushed, journal->location(),
                       report.pending));
  out.result({{"ok", report.pending == 0}, {"pushed", report.pushed}, {"pending", report.pending}});
  if (report.pending > 0)
    return Error{ExitCode::NotRecorded,
                 fmt::format("{} write(s) could not be shared yet: {}", report.pending, report.last_error),
                 "they stay queued in the local journal and go with the next command", {}};
  return {};
}

}  // namespace

void register_team(Subcommand app, GlobalOptions& g, Action& action) {
  Subcommand sub = app.add_subcommand("team", "Team mode: the DynamoDB table shared by everyone's locks and journal");
  sub.require_subcommand(1);
  Subcommand init_cmd = sub.add_subcommand("init", "Create the team table (on-demand billing); asks first, --dry-run shows the call");
  add_global_options(init_cmd, g);
  run_when_parsed(init_cmd, g, action, true, [](Context& ctx) { return init(ctx); });
  Subcommand push_cmd = sub.add_subcommand("push", "Push journal writes this machine could not share yet");
  add_global_options(push_cmd, g);
  run_when_parsed(push_cmd, g, action, true, [](Context& ctx) { return push(ctx); });
}

}  // namespace rb::cli
