#include "core/notify.hpp"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb {

namespace {

std::string url_of(const NotifyTarget& t) {
  const char* v = getenv(t.url_env.c_str());
  return v ? std::string(v) : std::string();
}

std::string name_of(const NotifyTarget& t) { return fmt::format("{} ({})", t.kind, t.url_env); }

size_t discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

struct PostResult {
  long status = 0;
  std::string error;  // never contains the URL
};

PostResult post_json(const std::string& url, const std::string& body) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  PostResult r;
  CURL* h = curl_easy_init();
  if (!h) {
    r.error = "cannot initialise libcurl";
    return r;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(kNotifyTimeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(kNotifyTimeout.count()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  CURLcode code = curl_easy_perform(h);
  if (code == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  else if (code == CURLE_OPERATION_TIMEDOUT) r.error = fmt::format("no answer within {}", format_duration(kNotifyTimeout));
  else r.error = curl_easy_strerror(code);  // libcurl's generic text: no URL in it
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return r;
}

std::string who(const JournalEntry& e) {
  if (e.user.empty()) return current_user() + "@" + current_host();
  return e.host.empty() ? e.user : e.user + "@" + e.host;
}

std::string headline(const Notice& n) {
  const JournalEntry& e = n.entry;
  if (n.phase == "test") return fmt::format("Test message from rollback for {} ({})", e.env, e.app);
  if (n.phase == "started") return fmt::format("Rollback of {} {} started by {}", e.app, e.env, who(e));
  return fmt::format("Rollback of {} {} {}", e.app, e.env, n.phase);
}

std::string duration_text(const Notice& n) {
  if (n.duration_seconds < 0) return "-";
  return format_duration(std::chrono::milliseconds(static_cast<long long>(n.duration_seconds * 1000)));
}

}  // namespace

nlohmann::json slack_message(const Notice& n) {
  const JournalEntry& e = n.entry;
  auto field = [](const std::string& title, const std::string& value) {
    return nlohmann::json{{"type", "mrkdwn"}, {"text", redact(fmt::format("*{}*\n{}", title, value.empty() ? "-" : value))}};
  };
  std::string outcome = n.phase == "started" ? "running" : n.phase;
  if (!n.failure.empty()) outcome += ": " + n.failure;
  nlohmann::json fields = nlohmann::json::array({field("Environment", e.env), field("Who", who(e)),
                                                 field("From → to", e.from + " → " + e.to),
                                                 field("Why", e.reason.empty() ? "(no reason given)" : e.reason),
                                                 field("Outcome", outcome), field("Duration", duration_text(n))});
  std::string title = headline(n);
  nlohmann::json blocks = nlohmann::json::array();
  blocks.push_back({{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", redact(title)}}}});
  blocks.push_back({{"type", "section"}, {"fields", fields}});
  std::string context = fmt::format("rollback {} · layer {}", e.id.empty() ? "-" : e.id, e.layer.empty() ? "-" : e.layer);
  blocks.push_back({{"type", "context"}, {"elements", {{{"type", "mrkdwn"}, {"text", redact(context)}}}}});
  return {{"text", redact(title)}, {"blocks", blocks}};
}

nlohmann::json webhook_message(const Notice& n) {
  nlohmann::json entry = nlohmann::json::parse(redact(entry_to_json(n.entry).dump()), nullptr, false);
  nlohmann::json j = {{"event", "rollback." + n.phase}, {"entry", entry}};
  if (!n.failure.empty()) j["failure"] = redact(n.failure);
  if (n.duration_seconds >= 0) j["duration_seconds"] = n.duration_seconds;
  return j;
}

void register_notify_secrets(const std::vector<NotifyTarget>& targets) {
  for (const auto& t : targets)
    if (auto url = url_of(t); !url.empty()) register_secret(url);
}

std::vector<NotifyResult> send_notifications(const std::vector<NotifyTarget>& targets, const Notice& n) {
  std::vector<NotifyResult> out;
  for (const auto& t : targets) {
    NotifyResult r;
    r.target = name_of(t);
    std::string url = url_of(t);
    if (url.empty()) {
      r.detail = fmt::format("{} is not set", t.url_env);
      out.push_back(r);
      continue;
    }
    std::string body = (t.kind == "slack" ? slack_message(n) : webhook_message(n)).dump();
    for (r.attempts = 1; r.attempts <= kNotifyAttempts; ++r.attempts) {
      PostResult p = post_json(url, body);
      if (p.error.empty() && p.status >= 200 && p.status < 300) {
        r.ok = true;
        r.detail = fmt::format("HTTP {}", p.status);
        break;
      }
      r.detail = p.error.empty() ? fmt::format("HTTP {}", p.status) : p.error;
      bool retryable = !p.error.empty() || p.status == 429 || p.status >= 500;
      if (!retryable || r.attempts == kNotifyAttempts) break;
      std::this_thread::sleep_for(kNotifyRetryDelay);
    }
    r.detail = redact(r.detail);
    out.push_back(r);
  }
  return out;
}

std::future<std::vector<NotifyResult>> send_notifications_async(std::vector<NotifyTarget> targets, Notice n) {
  return std::async(std::launch::async, [targets = std::move(targets), n = std::move(n)] {
    return send_notifications(targets, n);
  });
}

}  // namespace rb
