// rollback init: write a starting rollback.yaml.
#include <fmt/format.h>

#include <filesystem>

#include "cli/command.hpp"
#include "util/fs.hpp"
#include "util/utf8.hpp"

namespace rb::cli {

namespace {

struct InitOptions {
  std::string app;
  std::string region = "us-east-1";
  bool force = false;
};

Status run(Context& ctx, const InitOptions& o) {
  // The name is written into YAML: a newline or ':' in it would add keys of its own.
  if (auto st = check_app_name(o.app); !st) {
    Error e = st.take_error();
    e.message = "--app: " + e.message;
    return e;
  }
  if (auto st = check_app_name(o.region); !st)
    return usage_error(fmt::format("--region '{}' is not a region name", printable_inline(o.region)),
                       "give an AWS region such as us-east-1");
  std::filesystem::path path = ctx.options().config ? *ctx.options().config : "rollback.yaml";
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !o.force)
    return usage_error(fmt::format("{} already exists", path.string()), "pass --force to overwrite it");
  std::string text = starter_config(o.app, o.region);
  // Check that what we write is what we read.
  RB_TRY(parse_config(text, path));
  if (ctx.options().dry_run) {
    ctx.out().line(text);
    ctx.out().line("dry run: nothing was written");
    return {};
  }
  RB_TRY(write_private_file(path, text));
  ctx.out().line(fmt::format("wrote {}: edit it to match your environments (docs/CONFIGURATION.md)", path.string()));
  ctx.out().result({{"ok", true}, {"path", path.string()}});
  return {};
}

}  // namespace

void register_init(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<InitOptions>();
  Subcommand sub = app.add_subcommand("init", "Write a starting rollback.yaml");
  sub.add_option("--app", opts->app, "Application name, e.g. connect2-api").required();
  sub.add_option("--region", opts->region, "AWS region (default us-east-1)");
  sub.add_flag("--force", opts->force, "Overwrite an existing file");
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, false, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
