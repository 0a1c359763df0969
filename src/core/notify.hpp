// Announcing rollbacks: Slack incoming webhooks and generic JSON webhooks (`team.notify`).
// A notification never blocks or fails a rollback: each POST has a short timeout and a few
// bounded retries, runs beside the rollback, and its result is journaled; failures are warnings.
// Webhook URLs are secrets: they come from the environment, are registered for redaction,
// and are never printed, logged or journaled (targets are named by their variable instead).
#pragma once

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/journal.hpp"
#include "core/team_config.hpp"

namespace rb {

// Whole-request limit of one webhook POST. Slack documents answering incoming webhooks
// immediately; 3 s bounds a hung endpoint while the rollback goes on.
inline constexpr std::chrono::milliseconds kNotifyTimeout{3000};
// Attempts per notification (Slack asks clients to retry 5xx and 429 with backoff).
inline constexpr int kNotifyAttempts = 2;
// Pause between attempts.
inline constexpr std::chrono::milliseconds kNotifyRetryDelay{500};

// What happened, for the message.
struct Notice {
  std::string phase;  // "started", "succeeded", "failed", "interrupted", "refused", "test"
  JournalEntry entry;
  std::string failure;      // the failing signal (error message) when it failed
  double duration_seconds = -1;  // < 0: not known yet
};

// Slack incoming-webhook JSON: a text fallback and blocks (environment, who, from -> to, why,
// outcome, duration). Every text passes through redact().
nlohmann::json slack_message(const Notice& n);
// The generic webhook JSON: {"event": "rollback.<phase>", "entry": <journal entry>, ...}.
nlohmann::json webhook_message(const Notice& n);

struct NotifyResult {
  std::string target;  // "slack (ROLLBACK_SLACK_WEBHOOK)": the variable, never the URL
  bool ok = false;
  std::string detail;  // "HTTP 200", "timed out after 3s", "ROLLBACK_HOOK_URL is not set"
  int attempts = 0;
};

// Registers every configured URL as a secret (call once the configuration is loaded).
void register_notify_secrets(const std::vector<NotifyTarget>& targets);

// Posts to every target, in order; never throws, never fails.
std::vector<NotifyResult> send_notifications(const std::vector<NotifyTarget>& targets, const Notice& n);

// The same, on a background thread: the rollback goes on while it is delivered.
std::future<std::vector<NotifyResult>> send_notifications_async(std::vector<NotifyTarget> targets, Notice n);

}  // namespace rb
