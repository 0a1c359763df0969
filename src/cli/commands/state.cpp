// rollback state list|show|diff|restore: the runbook's "Method 3: Restore Terraform State",
// reading the state's versions in its S3 bucket and restoring one with Terraform's own lock and
// digest (src/infra/state_restore.hpp has the sequence and its safety checks).
#include <fmt/format.h>

#include "cli/checklist_flow.hpp"
#include "cli/command.hpp"
#include "infra/aws_storage.hpp"
#include "infra/state_diff.hpp"
#include "infra/state_restore.hpp"
#include "infra/state_versions.hpp"
#include "infra/tfstate.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace rb::cli {

namespace {

// Versions `state list` shows unless --limit says otherwise (the runbook looks at 5).
constexpr size_t kDefaultListLimit = 20;
// The largest --limit: S3 lists at most 1000 versions a page and the tool reads a few pages;
// a million is beyond any state's history and keeps the number far from overflow.
constexpr long long kMaxListLimit = 1'000'000;
// Characters of a lineage shown in the version table (a UUID; the first group tells them apart).
constexpr size_t kShortLineage = 8;

struct ListOptions {
  std::string env;
  bool details = false;
  size_t limit = kDefaultListLimit;
};

struct ShowOptions {
  std::string env;
  std::string version_id;
};

struct DiffOptions {
  std::string env;
  std::string version_id;
  std::string against;
};

struct RestoreCliOptions {
  std::string env;
  std::string version_id;
  bool force_lineage = false;
  bool force = false;
  bool allow_unreadable_current = false;
  std::string reason;
};

nlohmann::json diff_json(const infra::StateDiff& d) {
  nlohmann::json changed = nlohmann::json::array();
  for (const auto& c : d.changed)
    changed.push_back({{"address", c.address}, {"attributes", c.attributes}, {"other_fields", c.other_fields}});
  return {{"only_in_a", d.only_in_a},
          {"only_in_b", d.only_in_b},
          {"changed", changed},
          {"outputs_only_in_a", d.outputs_only_in_a},
          {"outputs_only_in_b", d.outputs_only_in_b},
          {"outputs_changed", d.outputs_changed}};
}

// The difference from A to B, in lines; `a_name`/`b_name` say what the two sides are.
void print_diff(Output& out, const infra::StateDiff& d, const std::string& a_name, const std::string& b_name,
                const std::string& indent) {
  if (d.empty()) {
    out.line(indent + "no differences in resources or outputs");
    return;
  }
  for (const auto& a : d.only_in_a) out.line(fmt::format("{}- {}   (only in {})", indent, a, a_name));
  for (const auto& b : d.only_in_b) out.line(fmt::format("{}+ {}   (only in {})", indent, b, b_name));
  for (const auto& c : d.changed) {
    std::vector<std::string> what = c.attributes;
    what.insert(what.end(), c.other_fields.begin(), c.other_fields.end());
    out.line(fmt::format("{}~ {}   ({})", indent, c.address, join(what, ", ")));
  }
  for (const auto& o : d.outputs_only_in_a) out.line(fmt::format("{}- output {}   (only in {})", indent, o, a_name));
  for (const auto& o : d.outputs_only_in_b) out.line(fmt::format("{}+ output {}   (only in {})", indent, o, b_name));
  for (const auto& o : d.outputs_changed) out.line(fmt::format("{}~ output {}", indent, o));
}

std::string describe_version(const infra::StateVersion& v) {
  return fmt::format("version {}{}, {} bytes, written {}", v.version_id, v.is_current ? " (current)" : "", v.size,
                     iso8601(v.last_modified));
}

// The versions, and the one named by `id` (the current one when `id` is empty).
struct Located {
  infra::StateVersions versions;
  const infra::StateVersion* version = nullptr;
};

Result<Located> locate(infra::StateBackend& b, const std::string& id) {
  Located l;
  RB_TRY_ASSIGN(l.versions, infra::list_state_versions(*b.store, b.location));
  if (id.empty()) {
    l.version = l.versions.current();
    if (!l.version)
      return usage_error(fmt::format("{} has no current version{}", b.url(),
                                     l.versions.deleted ? " (its latest version is a delete marker)" : ""),
                         "name a version with --version-id (`rollback state list` shows them)");
    return l;
  }
  RB_TRY_ASSIGN(l.version, infra::find_state_version(l.versions, b.location, id));
  return l;
}

// Parses a version for show/diff; errors name the version and keep the parser's hint.
Result<infra::StateFile> parse_version(infra::StateBackend& b, const infra::StateVersion& v, std::string* bytes_out = nullptr) {
  RB_TRY_ASSIGN(std::string bytes, infra::read_state_version(*b.store, b.location, v.version_id));
  auto state = infra::parse_state(bytes, fmt::format("{} version {}", b.url(), v.version_id));
  if (bytes_out) *bytes_out = std::move(bytes);
  return state;
}

nlohmann::json base_json(const EnvironmentConfig& env, const infra::StateBackend& b) {
  return {{"ok", true},          {"env", env.name},          {"bucket", b.location.bucket},
          {"key", b.location.key}, {"workspace", b.workspace}};
}

// ---------------------------------------------------------------------------------------------
// list

Status run_list(Context& ctx, const ListOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  RB_TRY_ASSIGN(auto b, infra::make_state_backend(ctx.config(), *env, ctx.clock()));
  RB_TRY_ASSIGN(auto versions, infra::list_state_versions(*b.store, b.location));

  nlohmann::json j = base_json(*env, b);
  j["deleted"] = versions.deleted;
  j["total"] = versions.versions.size();
  j["versions"] = nlohmann::json::array();
  out.line(fmt::format("Versions of {} (workspace {}), newest first{}:", b.url(), b.workspace,
                       versions.deleted ? "; the latest entry is a delete marker, so there is no current state" : ""));
  if (versions.versions.empty()) out.line("  none");
  const size_t shown = o.limit == 0 ? versions.versions.size() : std::min(o.limit, versions.versions.size());
  if (shown > 0) {
    out.line(o.details ? fmt::format("    {:<36} {:<20} {:>9} {:>7}  {:<8} {:<9} {}", "VERSION ID", "LAST MODIFIED", "SIZE",
                                     "SERIAL", "LINEAGE", "TERRAFORM", "RESOURCES")
                       : fmt::format("    {:<36} {:<20} {:>9}", "VERSION ID", "LAST MODIFIED", "SIZE"));
  }
  for (size_t i = 0; i < shown; ++i) {
    const auto& v = versions.versions[i];
    nlohmann::json jv = {{"version_id", v.version_id}, {"last_modified", iso8601(v.last_modified)},
                         {"size", v.size}, {"current", v.is_current}};
    std::string row = fmt::format("{} {:<36} {:<20} {:>9}", v.is_current ? "  *" : "   ", v.version_id,
                                  iso8601(v.last_modified), v.size);
    if (o.details) {
      auto state = parse_version(b, v);
      if (state) {
        size_t instances = state->instance_addresses().size();
        jv.update({{"serial", state->serial}, {"lineage", state->lineage},
                   {"terraform_version", state->terraform_version}, {"resources", instances}});
        row += fmt::format(" {:>7}  {:<8} {:<9} {}", state->serial, state->lineage.substr(0, kShortLineage),
                           state->terraform_version, instances);
      } else {
        const Error& e = state.error();
        std::string why = e.tag == "encrypted"       ? "encrypted (OpenTofu)"
                          : e.tag == "state_version" ? "unsupported state format"
                                                     : "unreadable (" + e.tag + ")";
        jv["error"] = {{"tag", e.tag}, {"message", e.message}};
        row += "  " + why;
      }
    }
    if (v.is_current) row += "   <- current";
    out.line(row);
    j["versions"].push_back(jv);
  }
  if (shown < versions.versions.size())
    out.line(fmt::format("  ... {} older version(s) not shown (--limit 0 shows all)", versions.versions.size() - shown));

  // Whether a restore could start now.
  auto held = infra::inspect_terraform_lock(*b.store, b.locks.get(), b.location, b.config.dynamodb_table,
                                            b.config.use_lockfile);
  if (held && *held) {
    std::string holder = (*held)->readable ? infra::describe_lock_holder((*held)->info, ctx.clock().wall_now())
                                           : "someone (unreadable lock information)";
    out.line(fmt::format("Terraform's lock: held by {} ({})", holder, (*held)->where));
    j["terraform_lock"] = {{"held", true}, {"where", (*held)->where}, {"who", (*held)->info.who},
                           {"operation", (*held)->info.operation}, {"id", (*held)->info.id}};
  } else if (held) {
    bool has_lock = !b.config.dynamodb_table.empty() || b.config.use_lockfile;
    out.line(has_lock ? "Terraform's lock: free" : "Terraform's lock: none configured (no dynamodb_table, no use_lockfile)");
    j["terraform_lock"] = {{"held", false}};
  } else {
    out.warn("could not look at Terraform's lock: " + held.error().message);
  }
  out.result(j);
  return {};
}

// ---------------------------------------------------------------------------------------------
// show

Status run_show(Context& ctx, const ShowOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  RB_TRY_ASSIGN(auto b, infra::make_state_backend(ctx.config(), *env, ctx.clock()));
  RB_TRY_ASSIGN(auto located, locate(b, o.version_id));
  const auto& v = *located.version;
  std::string bytes;
  RB_TRY_ASSIGN(auto state, parse_version(b, v, &bytes));
  auto addresses = state.instance_addresses();
  std::vector<std::string> outputs;
  for (const auto& [name, _] : state.outputs.items()) outputs.push_back(name);

  out.line(fmt::format("{} {}", b.url(), describe_version(v)));
  out.line(fmt::format("  serial     {}", state.serial));
  out.line(fmt::format("  lineage    {}", state.lineage));
  out.line(fmt::format("  terraform  {}", state.terraform_version.empty() ? "(unknown)" : state.terraform_version));
  out.line(fmt::format("  MD5        {}", md5_hex(bytes)));
  out.line(fmt::format("  resources  {} instance(s)", addresses.size()));
  for (const auto& a : addresses) out.line("    " + a);
  out.line(fmt::format("  outputs    {}", outputs.empty() ? "none" : join(outputs, ", ")));

  nlohmann::json j = base_json(*env, b);
  j.update({{"version_id", v.version_id}, {"current", v.is_current}, {"last_modified", iso8601(v.last_modified)},
            {"size", v.size}, {"serial", state.serial}, {"lineage", state.lineage},
            {"terraform_version", state.terraform_version}, {"md5", md5_hex(bytes)}, {"resources", addresses},
            {"outputs", outputs}});
  out.result(j);
  return {};
}

// ---------------------------------------------------------------------------------------------
// diff

Status run_diff(Context& ctx, const DiffOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  RB_TRY_ASSIGN(auto b, infra::make_state_backend(ctx.config(), *env, ctx.clock()));
  RB_TRY_ASSIGN(auto target, locate(b, o.version_id));
  RB_TRY_ASSIGN(auto base, locate(b, o.against));
  const auto& from = *base.version;
  const auto& to = *target.version;
  RB_TRY_ASSIGN(auto a, parse_version(b, from));
  RB_TRY_ASSIGN(auto bstate, parse_version(b, to));
  auto d = infra::diff_states(a, bstate);

  std::string a_name = o.against.empty() ? "current" : from.version_id;
  out.line(fmt::format("{}: from {} (version {}, serial {}) to version {} (serial {}):", b.url(), a_name, from.version_id,
                       a.serial, to.version_id, bstate.serial));
  if (a.lineage != bstate.lineage)
    out.warn(fmt::format("the two versions have different lineages ({} and {}): they are not one state's history",
                         a.lineage, bstate.lineage));
  print_diff(out, d, a_name, to.version_id, "  ");
  if (o.against.empty() && !d.only_in_a.empty())
    out.line(fmt::format("  restoring {} would orphan the {} instance(s) only in the current state: they exist, and "
                         "Terraform would forget them",
                         to.version_id, d.only_in_a.size()));

  nlohmann::json j = base_json(*env, b);
  j.update({{"from", {{"version_id", from.version_id}, {"serial", a.serial}, {"lineage", a.lineage},
                      {"current", from.is_current}}},
            {"to", {{"version_id", to.version_id}, {"serial", bstate.serial}, {"lineage", bstate.lineage},
                    {"current", to.is_current}}},
            {"diff", diff_json(d)}});
  out.result(j);
  return {};
}

// ---------------------------------------------------------------------------------------------
// restore

void print_restore_plan(Output& out, const infra::StateBackend& b, const infra::StateRestoreReport& r,
                        const std::string& table) {
  const auto& p = r.prepared;
  out.line(fmt::format("State restore of {} (workspace {}):", b.url(), b.workspace));
  if (r.current_version_id.empty()) {
    out.line("  current   none");
  } else {
    out.line(fmt::format("  current   version {}, serial {}, lineage {}", r.current_version_id,
                         p.current_serial ? std::to_string(*p.current_serial) : std::string("(unreadable)"),
                         r.current_lineage.empty() ? "(none)" : r.current_lineage));
  }
  out.line(fmt::format("  restore   version {}, serial {}, lineage {}", r.target_version_id, p.target_serial, p.lineage));
  out.line(fmt::format("  write     a new current version with serial {}, {} bytes, MD5 {} (older versions stay)",
                       p.new_serial, p.bytes.size(), p.md5_hex));
  if (!table.empty())
    out.line(fmt::format("  digest    {} LockID {} := {}", table, b.location.digest_lock_id(), p.md5_hex));
  out.line("  changes from the current state to the restored one:");
  print_diff(out, p.changes, "current: orphaned after the restore", "restored: may no longer exist", "    ");
  // The orphan and stale-plan warnings are repeated after the restore; say the others now.
  for (const auto& w : p.warnings)
    if (!contains(w, "resource instance(s)") && !w.starts_with("saved plans")) out.warn(w);
}

Status run_restore(Context& ctx, const RestoreCliOptions& o) {
  Output& out = ctx.out();
  const bool dry_run = ctx.options().dry_run;
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  RB_TRY(reason_gate(ctx, *env, o.reason, "state restore"));
  RB_TRY_ASSIGN(auto b, infra::make_state_backend(ctx.config(), *env, ctx.clock()));

  // Before locking anything: the version must exist (and an id prefix becomes the full id).
  RB_TRY_ASSIGN(auto located, locate(b, o.version_id));
  const std::string version_id = located.version->version_id;
  const std::string current_at_start = located.versions.current() ? located.versions.current()->version_id : "";

  infra::StateRestoreRequest req;
  req.location = b.location;
  req.dynamodb_table = b.config.dynamodb_table;
  req.use_lockfile = b.config.use_lockfile;
  req.version_id = version_id;
  req.prepare.force_lineage = o.force_lineage;
  req.prepare.allow_unreadable_current = o.allow_unreadable_current;
  req.force_digest = o.force;
  req.dry_run = dry_run;
  req.terraform_dir = env->terraform.dir;

  nlohmann::json result = base_json(*env, b);
  result["layer"] = "state";
  result["dry_run"] = dry_run;
  auto fill_result = [&](const infra::StateRestoreReport& r) {
    const auto& p = r.prepared;
    result.update({{"version_id", r.target_version_id},
                   {"replaced_version_id", r.current_version_id},
                   {"serial", {{"replaced", p.current_serial ? nlohmann::json(*p.current_serial) : nlohmann::json()},
                               {"target", p.target_serial},
                               {"new", p.new_serial}}},
                   {"lineage", p.lineage},
                   {"md5", p.md5_hex},
                   {"orphaned", p.changes.only_in_a},
                   {"only_in_restored", p.changes.only_in_b},
                   {"diff", diff_json(p.changes)},
                   {"warnings", p.warnings},
                   {"steps_done", r.steps_done}});
    if (!r.dry_run) {
      result["new_version_id"] = r.new_version_id;
      result["backup"] = r.backup_path.empty() ? nlohmann::json() : nlohmann::json(r.backup_path.string());
      result["digest_updated"] = !req.dynamodb_table.empty();
    }
  };

  infra::StateRestoreHooks hooks;
  hooks.warn = [&](const std::string& m) { out.warn(m); };
  hooks.plan = [&](const infra::StateRestoreReport& r) { print_restore_plan(out, b, r, req.dynamodb_table); };

  if (dry_run) {
    RB_TRY(ctx.check_lock(*env));  // the real run's first check
    hooks.event = [&](const std::string& m) { out.line(m); };
    RB_TRY_ASSIGN(auto report, infra::restore_state(*b.store, b.locks.get(), req, hooks, ctx.clock()));
    out.line("dry run: nothing was changed (Terraform's lock was not taken, no backup, no write)");
    fill_result(report);
    out.result(result);
    return {};
  }

  RB_TRY_ASSIGN(auto lock, ctx.lock(*env));
  JournalEntry entry;
  entry.env = env->name;
  entry.layer = "state";
  entry.from = current_at_start;
  entry.to = version_id;
  entry.reason = o.reason;
  entry.details = {{"bucket", b.location.bucket}, {"key", b.location.key}, {"workspace", b.workspace},
                   {"dynamodb_table", req.dynamodb_table}, {"use_lockfile", req.use_lockfile},
                   {"force_lineage", o.force_lineage}, {"force", o.force}, {"steps_done", nlohmann::json::array()}};
  RB_TRY_ASSIGN(auto record, RollbackRecord::begin(ctx, lock, entry));
  out.line(fmt::format("rollback {} started", record->id()));
  req.backup_path = ctx.backup_dir() / "terraform-state" /
                    fmt::format("{}-{}-{}.tfstate", ctx.config().app, env->name, record->id());
  req.lock_info = fmt::format("rollback {} by {}: restoring {} to version {}", record->id(), current_user(), b.url(),
                              version_id);

  nlohmann::json steps = nlohmann::json::array();
  hooks.event = [&](const std::string& m) { record->event(m); };
  hooks.warn = [&](const std::string& m) {
    out.warn(m);
    record->note("warning: " + m);
  };
  // Each step is journaled before and after it, event and details in one write, so a restore
  // killed mid-write shows "started:write" without "done:write", in both.
  hooks.step_started = [&](const std::string& step) {
    record->step("started:" + step, {{"last_step", "started:" + step}});
  };
  hooks.step_done = [&](const std::string& step, const nlohmann::json& facts) {
    steps.push_back(step);
    nlohmann::json d = {{"steps_done", steps}, {"last_step", "done:" + step}};
    if (step == infra::kStepBackup) d["backup"] = facts.value("path", nlohmann::json());
    if (step == infra::kStepWrite) d["new_version_id"] = facts.value("version_id", "");
    if (step == infra::kStepLock) d["terraform_lock_id"] = facts.value("lock_id", "");
    record->step(fmt::format("done:{} {}", step, facts.dump()), d);
  };
  hooks.confirm = [&](const infra::StateRestoreReport& r) -> Status {
    if (r.lineage_forced) {
      RB_TRY(confirm_typed(ctx, env->name,
                           fmt::format("--force-lineage: version {} has lineage {}, unrelated to the current state's {}. "
                                       "Terraform will treat the restored state as a different state.",
                                       r.target_version_id, r.prepared.lineage, r.current_lineage)));
      return {};
    }
    return confirm_environment(ctx, *env,
                               fmt::format("replace the Terraform state of {} with version {}", env->name, r.target_version_id));
  };

  auto restored = infra::restore_state(*b.store, b.locks.get(), req, hooks, ctx.clock());
  if (!restored) return record->fail(restored.take_error());
  const auto& r = *restored;
  fill_result(r);
  result["rollback_id"] = record->id();

  const auto& p = r.prepared;
  if (!p.changes.only_in_a.empty()) {
    out.line(fmt::format("Orphaned: {} resource instance(s) exist in the replaced state but not in the restored one; "
                         "Terraform no longer manages them (import them, or delete them by hand):",
                         p.changes.only_in_a.size()));
    for (const auto& a : p.changes.only_in_a) out.line("  " + a);
  }
  if (!p.changes.only_in_b.empty()) {
    out.line(fmt::format("{} resource instance(s) are in the restored state but not in the replaced one; they may not "
                         "exist any more (the next plan shows what Terraform wants to do):",
                         p.changes.only_in_b.size()));
    for (const auto& a : p.changes.only_in_b) out.line("  + " + a);
  }
  out.warn("saved plans made before the restore are stale: run a new `terraform plan` before any apply");
  out.line(fmt::format("Next: review `terraform plan` in {} before applying anything; the replaced state is in {}{}",
                       env->terraform.dir, r.backup_path.empty() ? "(none: there was no current state)" : r.backup_path.string(),
                       r.current_version_id.empty() ? "" : " and stays in the bucket as version " + r.current_version_id));

  nlohmann::json final_details = {{"new_version_id", r.new_version_id}, {"new_serial", p.new_serial},
                                  {"md5", p.md5_hex}, {"orphaned", p.changes.only_in_a},
                                  {"only_in_restored", p.changes.only_in_b}, {"steps_done", r.steps_done}};
  if (r.interrupted) {
    (void)record->finish(kOutcomeInterrupted, final_details);
    return interrupted_error(fmt::format(
        "interrupted while the restored state was being written: to keep the state and its digest consistent the write, "
        "the digest update and the lock release were completed first, so the restore is complete (new version {}, serial {})",
        r.new_version_id, p.new_serial));
  }
  RB_TRY(record->finish(kOutcomeSucceeded, final_details));
  out.line(fmt::format("rollback {} succeeded: {} is restored to the content of version {} as serial {}", record->id(),
                       b.url(), r.target_version_id, p.new_serial));
  result["outcome"] = kOutcomeSucceeded;
  out.result(result);
  return {};
}

template <class Options, class Runner>
void on_run(Subcommand sub, GlobalOptions& g, Action& action, std::shared_ptr<Options> opts, Runner runner) {
  add_global_options(sub, g);
  sub.on_parsed([&g, &action, opts, runner] {
    action = [&g, opts, runner] { return execute(g, true, [opts, runner](Context& ctx) { return runner(ctx, *opts); }); };
  });
}

}  // namespace

void register_state(Subcommand app, GlobalOptions& g, Action& action) {
  Subcommand state = app.add_subcommand(
      "state", "Terraform state in its versioned S3 bucket: list, show and diff versions, restore one safely");
  state.require_subcommand(1);

  auto list = std::make_shared<ListOptions>();
  Subcommand sub = state.add_subcommand("list", "Versions of the state object, newest first, the current one marked");
  sub.add_option("--env,-e", list->env, "Environment (from rollback.yaml)").required();
  sub.add_flag("--details", list->details, "Read each version for serial, lineage, Terraform version, resources");
  add_number_option(sub, "--limit", list->limit, 0, kMaxListLimit, "How many versions to show (0: all; default 20)");
  on_run(sub, g, action, list, run_list);

  auto show = std::make_shared<ShowOptions>();
  sub = state.add_subcommand("show", "Serial, lineage, Terraform version, resources and outputs of one version");
  sub.add_option("--env,-e", show->env, "Environment (from rollback.yaml)").required();
  sub.add_option("--version-id", show->version_id, "The version (default: the current one)");
  on_run(sub, g, action, show, run_show);

  auto diff = std::make_shared<DiffOptions>();
  sub = state.add_subcommand("diff", "Resources and outputs added, removed or changed between two versions");
  sub.add_option("--env,-e", diff->env, "Environment (from rollback.yaml)").required();
  sub.add_option("--version-id", diff->version_id, "The version to compare").required();
  sub.add_option("--against", diff->against, "Compare with this version instead of the current one");
  on_run(sub, g, action, diff, run_diff);

  auto restore = std::make_shared<RestoreCliOptions>();
  sub = state.add_subcommand("restore",
                              "Make an older version the current state again, under Terraform's lock, with its digest");
  sub.add_option("--env,-e", restore->env, "Environment (from rollback.yaml)").required();
  sub.add_option("--version-id", restore->version_id, "The version to restore (`rollback state list`)").required();
  sub.add_flag("--force-lineage", restore->force_lineage,
                "Restore a version whose lineage differs from the current state's (typed confirmation)");
  sub.add_flag("--force", restore->force,
                "Restore although the current state does not match its DynamoDB digest (changed without Terraform)");
  sub.add_flag("--allow-unreadable-current", restore->allow_unreadable_current,
                "Restore over a current state that cannot be read (corrupted): lineage and serial are not checked");
  sub.add_option("--reason", restore->reason, "Why (recorded in the journal)");
  on_run(sub, g, action, restore, run_restore);
}

}  // namespace rb::cli
