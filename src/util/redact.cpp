#include "util/redact.hpp"

#include <algorithm>
#include <mutex>
#include <regex>
#include <vector>

namespace rb {

namespace {

constexpr std::string_view kMask = "****";
constexpr size_t kMinSecretLength = 4;

std::mutex& secrets_mutex() {
  static std::mutex m;
  return m;
}
std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}

void replace_all(std::string& text, std::string_view needle, std::string_view with) {
  if (needle.empty()) return;
  size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    text.replace(pos, needle.size(), with);
    pos += with.size();
  }
}

}  // namespace

void register_secret(std::string_view secret) {
  if (secret.size() < kMinSecretLength) return;
  std::lock_guard lock(secrets_mutex());
  auto& s = secrets();
  if (std::find(s.begin(), s.end(), secret) == s.end()) {
    s.emplace_back(secret);
    // Longest first, so a secret containing another is masked whole.
    std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  }
}

std::string redact(std::string_view text) {
  std::string out(text);
  {
    std::lock_guard lock(secrets_mutex());
    for (const auto& s : secrets()) replace_all(out, s, kMask);
  }
  if (out.find("://") != std::string::npos) {
    // scheme://user:password@host -> scheme://user:****@host
    static const std::regex url_password(R"(([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):([^@\s/]+)@)");
    out = std::regex_replace(out, url_password, "$1:****@");
    // Incoming-webhook style URLs carry their secret in the path.
    static const std::regex webhook(R"((https://hooks\.slack\.com/services/)[^\s"']+)");
    out = std::regex_replace(out, webhook, "$1****");
  }
  return out;
}

}  // namespace rb
