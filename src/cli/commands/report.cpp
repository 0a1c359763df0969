// rollback report: the incident report (Markdown + an SVG timeline) of one rollback or of every
// rollback of an environment in a window, from the journal alone.
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/report.hpp"
#include "util/fs.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {

// The most rollbacks one report covers: an incident is a handful; a window that holds more than
// this is a query for `history`, not a report.
constexpr size_t kMaxReportRollbacks = 200;

struct ReportOptions {
  std::string id, env, since, out;
  bool force = false;
};

Status run(Context& ctx, const ReportOptions& o) {
  // Credentials a shell has exported are masked even though the report never uses them.
  for (const char* name : {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"})
    if (const char* v = std::getenv(name)) register_secret(v);

  if (o.id.empty() == o.env.empty())
    return usage_error("give either a rollback id or --env", "e.g. `rollback report 20261130-071222-3cd7` or "
                                                             "`rollback report --env prod --since 2h`");
  if (!o.id.empty() && !o.since.empty())
    return usage_error("--since goes with --env, not with a rollback id", "drop --since, or use --env instead of the id");
  // The name goes into the default file name: a path in it must not choose where we write.
  if (!o.env.empty()) RB_TRY(check_environment_name(o.env));
  const EnvironmentConfig* env_config = nullptr;
  if (!o.env.empty() && ctx.has_config()) {
    // The configuration's entry only: a report reads the journal and never needs AWS.
    RB_TRY_ASSIGN(env_config, ctx.config().environment(o.env));
  }

  ReportInput input;
  input.generated_at = iso8601(std::chrono::system_clock::now());
  if (ctx.has_config()) input.app = ctx.config().app;

  RB_TRY_ASSIGN(Journal * journal, ctx.journal_for_reading());
  std::vector<JournalEntry> entries;
  if (!o.id.empty()) {
    RB_TRY_ASSIGN(auto entry, journal->get(o.id));
    if (!entry)
      return usage_error(fmt::format("no rollback {} in the journal {}", o.id, journal->location()),
                         "`rollback history` lists the recorded ids");
    entries.push_back(std::move(*entry));
  } else {
    JournalFilter f;
    f.app = input.app;
    f.env = o.env;
    f.limit = kMaxReportRollbacks;
    std::string since = o.since.empty() ? "24h" : o.since;
    RB_TRY_ASSIGN(f.since, since_cutoff(since, "e.g. --since 2h, --since 3d"));
    RB_TRY_ASSIGN(entries, journal->list(f));
    if (entries.empty())
      return usage_error(fmt::format("no rollback of {} in the last {} in the journal {}", o.env, since, journal->location()),
                         "widen the window (--since 7d) or check the environment with `rollback history`");
  }
  input.env = o.id.empty() ? o.env : entries.front().env;
  if (!env_config && ctx.has_config()) {
    for (const auto& e : ctx.config().environments)
      if (e.name == input.env) env_config = &e;
  }
  input.is_protected = env_config && env_config->is_protected;
  if (input.app.empty()) input.app = entries.front().app;
  for (auto& e : entries) {
    RB_TRY_ASSIGN(auto events, journal->events(e.id));
    input.rollbacks.push_back({std::move(e), std::move(events)});
  }

  // Ids come from the journal, which may be a copy from elsewhere: only [A-Za-z0-9_-] of one
  // reaches a file name.
  std::string safe_id;
  for (char c : o.id) safe_id += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  std::string default_name =
      o.id.empty() ? o.env + "-" + format_utc(std::chrono::system_clock::now(), "%Y%m%d-%H%M%S") : safe_id;
  std::filesystem::path md_path = o.out.empty() ? std::filesystem::path("rollback-report-" + default_name + ".md")
                                                : std::filesystem::path(o.out);
  if (md_path.extension() != ".md")
    return usage_error(fmt::format("--out {} does not end in .md", md_path.string()),
                       "name the Markdown file, e.g. --out incident.md; the timeline is written next to it as .svg");
  std::filesystem::path svg_path = md_path;
  svg_path.replace_extension(".svg");
  for (const auto& p : {md_path, svg_path}) {
    std::error_code ec;
    if (std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found && !o.force)
      return usage_error(fmt::format("{} already exists", p.string()), "pass --force to replace it, or choose another --out");
  }
  input.timeline_file = svg_path.filename().string();

  Report report = render_report(input);
  if (ctx.options().dry_run) {
    ctx.out().line(fmt::format("dry run: would write {} and {} ({} rollback(s)); nothing written", md_path.string(),
                               svg_path.string(), input.rollbacks.size()));
  } else {
    RB_TRY(write_private_file(svg_path, report.svg));
    RB_TRY(write_private_file(md_path, report.markdown));
    ctx.out().line(fmt::format("wrote {} ({} rollback(s), {}) and its timeline {}", md_path.string(), input.rollbacks.size(),
                               report.summary.value("recovered", false) ? "recovered" : "not recovered", svg_path.string()));
  }
  nlohmann::json j = report.summary;
  j["report"] = md_path.string();
  j["timeline"] = svg_path.string();
  j["written"] = !ctx.options().dry_run;
  ctx.out().result(j);
  return {};
}

}  // namespace

void register_report(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<ReportOptions>();
  Subcommand sub = app.add_subcommand("report", "Write the incident report (Markdown + SVG timeline) of rollbacks from the journal");
  sub.add_option("id", opts->id, "The rollback to report on (see `rollback history`)");
  sub.add_option("--env,-e", opts->env, "Report on every rollback of this environment in the window instead");
  sub.add_option("--since", opts->since, "With --env: the window, e.g. 2h, 3d (default 24h)");
  sub.add_option("--out,-o", opts->out, "The Markdown file to write (default rollback-report-<id>.md); the SVG goes next to it");
  sub.add_flag("--force", opts->force, "Replace an existing report");
  add_global_options(sub, g);
  // Like history, a report works without a configuration file (a journal copied off a host).
  run_when_parsed_config_optional(sub, g, action, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
