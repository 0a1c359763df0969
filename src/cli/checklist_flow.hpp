// The runbook's checklists around a rollback, gathered by the command line from the layers that
// can check them (core/checklist.hpp judges and serialises): the "before" items checked by
// machine where possible and asked on a terminal otherwise, the "after" items from what the
// rollback itself verified. Shared by `rollback ecs`, `app`, `db` and `release`.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/checklist.hpp"
#include "core/context.hpp"
#include "ecs/gateway.hpp"
#include "ecs/verify.hpp"

namespace rb::cli {

// A manual item's question: Yes/No when asked on a terminal (y/N), YesFlag with --yes, DryRun
// in a dry run (nobody is asked), NoTerminal otherwise.
ManualAnswer ask_manual(Context& ctx, const std::string& question, bool is_protected);

// require_reason for `command` about to change `env` (call it before the lock and any change);
// a dry run is not refused: it prints that the real run will need --reason.
Status reason_gate(Context& ctx, const EnvironmentConfig& env, const std::string& reason, std::string_view command);

// "You have AWS access": the caller identity behind the environment's credentials (STS, cached
// for the process), and the account_id check when one is configured.
CheckItem aws_access_item(Context& ctx, const EnvironmentConfig& env);

// "Team is notified": the `team.notify` targets announce the rollback when it starts; without
// any, the operator confirms (or --yes takes it as given).
CheckItem team_notified_item(Context& ctx, const EnvironmentConfig& env);

// "Issue is confirmed and rollback will fix it": the health URL, the alarms in ALARM
// (verify.alarms) and, with an ECS gateway and the service as planned, the tasks stopped since
// the service's last deployment. Without `verify` the health URL is probed directly and a
// gateway is made only when alarms are configured (a git revert contacts no AWS otherwise).
// Read failures become part of the evidence, never errors.
CheckItem issue_item(Context& ctx, const EnvironmentConfig& env, const std::string& reason,
                     ecs::VerifyGateway* verify = nullptr, ecs::EcsGateway* gateway = nullptr,
                     const ecs::Service* service = nullptr);

// The items after any rollback that only depend on the environment: the incident report and the
// post-mortem.
std::vector<CheckItem> closing_items(Context& ctx, const EnvironmentConfig& env, const std::string& rollback_id);

// Prints the items under `title`; refuses (nothing changed yet) when the operator answered no
// to one of them on a terminal.
Status present_checklist(Context& ctx, const std::string& title, const std::vector<CheckItem>& items);

// "Monitor logs for errors": waits env.verify.logs_window after `finished`, then counts the error
// lines of `group` in that window and in as long before `started`. Skipped (with why) when the
// task definition sends no logs to CloudWatch or the window is 0; a read failure is a warning.
CheckItem monitor_logs_item(Context& ctx, const EnvironmentConfig& env, ecs::VerifyGateway& verify,
                            const std::string& group, std::chrono::system_clock::time_point started,
                            std::chrono::system_clock::time_point finished);

// monitor_logs_item for `record`'s rollback, journaled as a step of its own (notes
// "started:monitor-logs", "done:monitor-logs") when the logs are watched, so the report shows the
// wait apart from the rollback.
CheckItem watch_logs(Context& ctx, const EnvironmentConfig& env, ecs::VerifyGateway& verify, RollbackRecord& record,
                     const std::string& group, std::chrono::system_clock::time_point started,
                     std::chrono::system_clock::time_point finished);

// "Monitor logs for errors" after a rollback that did not plan an ECS revision itself (`app
// --wait`, `db`, `release`): the awslogs group of the task definition the service runs now,
// watched like `rollback ecs` watches it (watch_logs). Skipped with why when the service or its
// task definition cannot be read, or it sends no logs to CloudWatch Logs.
CheckItem service_logs_item(Context& ctx, const EnvironmentConfig& env, RollbackRecord& record,
                            std::chrono::system_clock::time_point started,
                            std::chrono::system_clock::time_point finished);

// "Create incident report if production was affected": on a protected environment the report
// RollbackRecord::finish writes (its path); skipped otherwise.
CheckItem incident_report_item(Context& ctx, const EnvironmentConfig& env, const std::string& rollback_id);

// "Schedule post-mortem": a follow-up line of the incident report on protected environments.
CheckItem post_mortem_item(const EnvironmentConfig& env);

}  // namespace rb::cli
