#include "cli/checklist_flow.hpp"

#include <fmt/format.h>

#include "core/identity.hpp"
#include "core/report.hpp"
#include "ecs/aws_gateway.hpp"
#include "util/strings.hpp"
#include "util/terminal.hpp"

namespace rb::cli {

namespace {

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

ManualAnswer ask_manual(Context& ctx, const std::string& question, bool is_protected) {
  if (ctx.options().dry_run) return ManualAnswer::DryRun;
  if (ctx.options().yes) return ManualAnswer::YesFlag;
  if (!stdin_is_terminal()) return ManualAnswer::NoTerminal;
  auto answer = prompt_line(fmt::format("checklist: {} {} ", question, is_protected ? "[type yes]" : "[y/N]"));
  if (!answer) return ManualAnswer::No;
  return manual_confirmation(*answer, is_protected) ? ManualAnswer::Yes : ManualAnswer::No;
}

Status reason_gate(Context& ctx, const EnvironmentConfig& env, const std::string& reason, std::string_view command) {
  if (!ctx.options().dry_run) return require_reason(env.name, env.is_protected, reason, command);
  if (auto note = reason_required_note(env.name, env.is_protected, reason, command); !note.empty()) ctx.out().line(note);
  return {};
}

CheckItem aws_access_item(Context& ctx, const EnvironmentConfig& env) {
  CheckItem item{std::string(kItemAwsAccess), std::string(kPhaseBefore), CheckResult::Pass, ""};
  auto who = environment_identity(ctx.config(), env);
  if (!who) {
    item.result = CheckResult::Fail;
    item.evidence = "STS GetCallerIdentity failed: " + who.error().message;
    return item;
  }
  item.evidence = fmt::format("{} (account {}, credentials from {})", who->caller.arn, who->caller.account,
                              who->credential_source);
  if (!env.account_id.empty())
    item.evidence += who->caller.account == env.account_id ? "; the configured account_id matches"
                                                           : "; NOT the configured account_id " + env.account_id;
  else
    item.evidence += "; no account_id configured to compare with";
  if (!env.account_id.empty() && who->caller.account != env.account_id) item.result = CheckResult::Fail;
  return item;
}

CheckItem team_notified_item(Context& ctx, const EnvironmentConfig& env) {
  const auto& targets = ctx.notify_targets();
  if (!targets.empty()) {
    std::vector<std::string> names;
    for (const auto& t : targets) names.push_back(fmt::format("{} ({})", t.kind, t.url_env));
    return {std::string(kItemTeamNotified), std::string(kPhaseBefore), CheckResult::Pass,
            fmt::format("announced when the rollback starts to {} (each delivery is journaled)", join(names, ", "))};
  }
  auto item = manual_item(kItemTeamNotified, kPhaseBefore, ask_manual(ctx, "Is the team notified of this rollback?", env.is_protected),
                          "no team.notify target configured: is the team notified?");
  return item;
}

CheckItem issue_item(Context& ctx, const EnvironmentConfig& env, const std::string& reason, ecs::VerifyGateway* verify,
                     ecs::EcsGateway* gateway, const ecs::Service* service) {
  IssueSignals s;
  s.reason = reason;
  s.is_protected = env.is_protected;
  s.health_url = env.verify_health_url();
  if (!s.health_url.empty()) {
    if (verify) {
      auto status = verify->probe(s.health_url);
      s.healthy = status && *status >= 200 && *status < 300;
      s.health_answer = status ? fmt::format("HTTP {}", *status) : status.error().message;
    } else {
      auto h = ecs::probe_health_once(s.health_url);
      s.healthy = h.healthy;
      s.health_answer = h.answer;
    }
  }
  s.alarms_checked = env.verify.alarms;
  if (!s.alarms_checked.empty()) {
    std::unique_ptr<ecs::VerifyGateway> own;
    if (!verify) {
      if (auto made = ecs::make_aws_verify_gateway(ctx.config(), env, ctx.clock())) own = std::move(*made);
      else s.alarms_error = made.error().message;
    }
    ecs::VerifyGateway* reader = verify ? verify : own.get();
    if (reader) {
      if (auto states = reader->alarms(s.alarms_checked)) {
        for (const auto& a : *states)
          if (a.state == "ALARM") s.alarms_in_alarm.push_back(a.name);
      } else {
        s.alarms_error = states.error().message;
      }
    }
  }
  s.tasks_checked = gateway && service;
  if (const auto* primary = service ? service->primary() : nullptr; gateway && primary) {
    if (auto tasks = gateway->stopped_tasks(env.cluster, env.service, primary->id)) {
      for (const auto& t : *tasks) s.stopped_tasks.push_back(t.describe());
    } else {
      s.tasks_error = tasks.error().message;
    }
  }
  // A question only when no signal shows the problem: what the machine saw decides otherwise.
  ManualAnswer manual = issue_seen(s) ? ManualAnswer::YesFlag
                                      : ask_manual(ctx, "No health, alarm or task signal shows the problem. Is it "
                                                        "confirmed, and will this rollback fix it?",
                                                   env.is_protected);
  return judge_issue(s, manual);
}

std::vector<CheckItem> closing_items(Context& ctx, const EnvironmentConfig& env, const std::string& rollback_id) {
  return {incident_report_item(ctx, env, rollback_id), post_mortem_item(env)};
}

Status present_checklist(Context& ctx, const std::string& title, const std::vector<CheckItem>& items) {
  Output& out = ctx.out();
  out.line(title);
  for (const auto& line : checklist_lines(items)) out.line(line);
  // Ctrl-C at a question is the operator stopping, not answering no: exit 130, as anywhere else.
  if (interrupted()) return interrupted_error("interrupted at the checklist: nothing was changed");
  for (const auto& i : items)
    if (i.answered_no)
      return refusal(fmt::format("checklist: \"{}\" was answered no: nothing was changed", i.item),
                     "settle it first (the runbook's \"Before Rollback\" list), then run the rollback again");
  return {};
}

CheckItem monitor_logs_item(Context& ctx, const EnvironmentConfig& env, ecs::VerifyGateway& verify,
                            const std::string& group, std::chrono::system_clock::time_point started,
                            std::chrono::system_clock::time_point finished) {
  CheckItem item{std::string(kItemMonitorLogs), std::string(kPhaseAfter), CheckResult::Skipped, ""};
  const auto window = env.verify.logs_window;
  if (group.empty()) {
    item.evidence = "the task definition sends no logs to CloudWatch Logs (no awslogs logConfiguration)";
    return item;
  }
  if (window.count() == 0) {
    item.evidence = fmt::format("verify.logs_window is 0: {} was not read", group);
    return item;
  }
  ctx.out().line(fmt::format("checklist: watching {} for error lines for {} (verify.logs_window)", group,
                             format_duration(window)));
  auto wake = finished + window;
  auto now = ctx.clock().wall_now();
  if (now < wake &&
      !ctx.clock().sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(wake - now))) {
    item.evidence = "interrupted while watching the logs";
    return item;
  }
  const std::string pattern(kErrorFilterPattern);
  auto before = verify.log_messages(group, epoch_ms(started - window), epoch_ms(started), pattern);
  if (!before) {
    item.result = CheckResult::Warn;
    item.evidence = fmt::format("{} could not be read: {}", group, before.error().message);
    return item;
  }
  auto after = verify.log_messages(group, epoch_ms(finished), epoch_ms(wake), pattern);
  if (!after) {
    item.result = CheckResult::Warn;
    item.evidence = fmt::format("{} could not be read: {}", group, after.error().message);
    return item;
  }
  return judge_logs(group, window, summarise_log_window(before->first, before->second),
                    summarise_log_window(after->first, after->second));
}

CheckItem watch_logs(Context& ctx, const EnvironmentConfig& env, ecs::VerifyGateway& verify, RollbackRecord& record,
                     const std::string& group, std::chrono::system_clock::time_point started,
                     std::chrono::system_clock::time_point finished) {
  const bool watches = !group.empty() && env.verify.logs_window.count() > 0;
  if (watches) record.note("started:monitor-logs");
  auto item = monitor_logs_item(ctx, env, verify, group, started, finished);
  if (watches) record.note("done:monitor-logs");
  return item;
}

CheckItem service_logs_item(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record,
                            std::chrono::system_clock::time_point started,
                            std::chrono::system_clock::time_point finished) {
  auto skipped = [](const std::string& why) {
    return CheckItem{std::string(kItemMonitorLogs), std::string(kPhaseAfter), CheckResult::Skipped, why};
  };
  auto gateway = ecs::make_aws_gateway(ctx.config(), env, ctx.clock());
  if (!gateway) return skipped("the ECS service could not be reached to find its log group: " + gateway.error().message);
  auto service = (*gateway)->describe_service(env.cluster, env.service);
  if (!service)
    return skipped(fmt::format("service {} could not be read to find its log group: {}", env.service,
                               service.error().message));
  const std::string task_definition = service->current_task_definition();
  auto td = (*gateway)->describe_task_definition_json(task_definition);
  if (!td)
    return skipped(fmt::format("task definition {} could not be read to find its log group: {}", task_definition,
                               td.error().message));
  auto verify = ecs::make_aws_verify_gateway(ctx.config(), env, ctx.clock());
  if (!verify) return skipped("CloudWatch Logs could not be reached: " + verify.error().message);
  return watch_logs(ctx, env, **verify, record, ecs::awslogs_group_of(*td, env.container), started, finished);
}

CheckItem incident_report_item(Context& ctx, const EnvironmentConfig& env, const std::string& rollback_id) {
  if (!env.is_protected)
    return {std::string(kItemIncidentReport), std::string(kPhaseAfter), CheckResult::Skipped,
            fmt::format("{} is not a protected environment (`rollback report --env {}` writes one on demand)", env.name,
                        env.name)};
  return {std::string(kItemIncidentReport), std::string(kPhaseAfter), CheckResult::Pass,
          fmt::format("written when the rollback ends: {}", incident_report_file(ctx.state_dir(), rollback_id).string())};
}

CheckItem post_mortem_item(const EnvironmentConfig& env) {
  if (!env.is_protected)
    return {std::string(kItemPostMortem), std::string(kPhaseAfter), CheckResult::Skipped,
            "not a protected environment: the report lists a post-mortem as optional"};
  return {std::string(kItemPostMortem), std::string(kPhaseAfter), CheckResult::Pass,
          "a follow-up of the incident report: \"Schedule a post-mortem\""};
}

}  // namespace rb::cli
