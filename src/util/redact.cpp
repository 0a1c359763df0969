#include "util/redact.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace rb {

namespace {

constexpr std::string_view kMask = "****";
constexpr size_t kMinSecretLength = 4;
// Incoming-webhook URLs carry their secret in the path.
constexpr std::string_view kSlackWebhookPrefix = "https://hooks.slack.com/services/";

std::mutex& secrets_mutex() {
  static std::mutex m;
  return m;
}
std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}

void replace_all(std::string& text, std::string_view needle, std::string_view with) {
  if (needle.empty() || text.size() < needle.size()) return;
  std::string out;
  size_t from = 0, pos = 0;
  bool found = false;
  while ((pos = text.find(needle, from)) != std::string::npos) {
    if (!found) out.reserve(text.size());
    found = true;
    out.append(text, from, pos - from);
    out += with;
    from = pos + needle.size();
  }
  if (!found) return;
  out.append(text, from, std::string::npos);
  text = std::move(out);
}

bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_scheme_char(char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
// Where a URL written in running text, a log line or a JSON string ends.
bool ends_url(char c) { return is_space(c) || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`'; }
// Where a URL's authority (user:password@host:port) ends.
bool ends_authority(char c) { return ends_url(c) || c == '/' || c == '?' || c == '#'; }

// Appends the URL text[start, end) with its password and query values masked:
//   scheme://user:password@host/p?token=abc#k=v  ->  scheme://user:****@host/p?token=****#k=****
// The authority ends at the first '/', '?', '#' or space; its userinfo at the LAST '@' in it,
// so a password holding an unencoded '@' is masked whole. One pass, no backtracking.
void append_masked_url(std::string& out, std::string_view text, size_t start, size_t end) {
  std::string_view url = text.substr(start, end - start);
  size_t after_scheme = url.find("://") + 3;
  size_t auth_end = after_scheme;
  while (auth_end < url.size() && !ends_authority(url[auth_end])) ++auth_end;
  std::string_view authority = url.substr(after_scheme, auth_end - after_scheme);
  out.append(url.substr(0, after_scheme));
  size_t at = authority.rfind('@');
  size_t colon = at == std::string_view::npos ? std::string_view::npos : authority.substr(0, at).find(':');
  if (colon != std::string_view::npos && colon + 1 < at) {
    out.append(authority.substr(0, colon + 1));
    out += kMask;
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  std::string_view rest = url.substr(auth_end);
  if (url.substr(0, kSlackWebhookPrefix.size()) == kSlackWebhookPrefix) {
    out.append(kSlackWebhookPrefix.substr(after_scheme + authority.size()));
    out += kMask;
    return;
  }
  // Path: kept. Query and fragment: every key=value keeps its key and loses its value.
  size_t q = rest.find_first_of("?#");
  out.append(rest.substr(0, q));
  if (q == std::string_view::npos) return;
  bool in_value = false;
  bool masked = false;
  for (size_t i = q; i < rest.size(); ++i) {
    char c = rest[i];
    if (c == '?' || c == '#' || c == '&' || c == ';') {
      in_value = false;
      out += c;
    } else if (!in_value && c == '=') {
      in_value = true;
      masked = false;
      out += c;
    } else if (in_value) {
      if (!masked) out += kMask;
      masked = true;
    } else {
      out += c;
    }
  }
}

// Masks every URL's password, query values and webhook path. Linear in the text and with
// constant stack: each "://" is found once, its scheme is walked back over at most the
// characters since the previous URL, and each URL is copied once.
std::string mask_urls(std::string_view text) {
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;  // text[0, copied) is in `out`
  while (sep != std::string_view::npos) {
    size_t start = sep;
    while (start > copied && is_scheme_char(text[start - 1])) --start;
    while (start < sep && !is_alpha(text[start])) ++start;  // a scheme starts with a letter
    size_t end = sep + 3;
    while (end < text.size() && !ends_url(text[end])) ++end;
    if (start == sep) {  // no scheme: not a URL, keep going after the "://"
      out.append(text.substr(copied, sep + 3 - copied));
      copied = sep + 3;
    } else {
      out.append(text.substr(copied, start - copied));
      append_masked_url(out, text, start, end);
      copied = end;
    }
    sep = text.find("://", copied);
  }
  out.append(text.substr(copied));
  return out;
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
  if (out.find("://") == std::string::npos) return out;
  return mask_urls(out);
}

}  // namespace rb
