#include "db/database_url.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace {

constexpr std::string_view kMask = "***";

// Query keys whose values are secrets (libpq takes password and sslpassword as parameters).
bool is_secret_key(std::string_view key) { return key == "password" || key == "sslpassword"; }

// SQLAlchemy's _sqla_url_quote: ':', '@', '/' (and '%' so that decoding round-trips).
std::string quote_userinfo(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == '@' || c == '/' || c == '%') out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else out += c;
  }
  return out;
}

std::string quote_query(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

Error url_error(std::string what) {
  return usage_error("cannot read the database URL: " + what,
                     "expected dialect[+driver]://user:password@host:port/database (as SQLAlchemy takes it); "
                     "percent-encode ':', '@' and '/' in the user name and password (%3A, %40, %2F)");
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Result<DatabaseUrl> DatabaseUrl::parse(std::string_view text_in) {
  std::string text = trim(text_in);
  // SQLAlchemy 1.4's pattern (engine/url.py _parse_url), anchored at the end as well.
  static const std::regex pattern(
      R"(^([\w+]+)://(?:([^:/]*)(?::([^@]*))?@)?(?:(?:\[([^/?]+)\]|([^/:?]+))?(?::([^/?]*))?)?(?:/([^?]*))?(?:\?(.*))?$)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) {
    // Do not echo the text: it may hold a password that could not be told apart.
    return url_error(text.find("://") == std::string::npos ? "it has no scheme (such as postgresql://)"
                                                           : "it does not have the form SQLAlchemy expects");
  }
  DatabaseUrl url;
  std::string scheme = m[1].str();
  if (auto plus = scheme.find('+'); plus != std::string::npos) {
    url.dialect = scheme.substr(0, plus);
    url.driver = scheme.substr(plus + 1);
  } else {
    url.dialect = scheme;
  }
  if (url.dialect == "postgres") url.dialect = "postgresql";  // libpq / Heroku style
  if (m[2].matched) url.user = percent_decode(m[2].str());
  if (m[3].matched) {
    url.password = percent_decode(m[3].str());
    url.has_password = true;
    register_secret(url.password);
    register_secret(m[3].str());
  }
  url.host = m[4].matched ? m[4].str() : m[5].str();
  if (url.host.find('@') != std::string::npos)
    return url_error("an '@' follows the password (an unencoded '@' in the password?)");
  if (m[6].matched && !m[6].str().empty()) {
    const std::string p = m[6].str();
    if (p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return url_error("the port is not a number");
    url.port = std::stoi(p);
  }
  if (m[7].matched) url.database = m[7].str();
  if (m[8].matched) {
    for (const auto& pair : split(m[8].str(), '&')) {
      if (pair.empty()) continue;
      auto eq = pair.find('=');
      std::string key = percent_decode(pair.substr(0, eq), true);
      std::string value = eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1), true);
      if (is_secret_key(key)) register_secret(value);
      url.query.emplace_back(std::move(key), std::move(value));
    }
  }
  if (url.dialect.empty()) return url_error("the dialect (before ://) is empty");
  return url;
}

std::optional<std::string> DatabaseUrl::query_value(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return std::nullopt;
}

std::string DatabaseUrl::redacted() const {
  std::string out = dialect + (driver.empty() ? "" : "+" + driver) + "://";
  if (!user.empty() || has_password) {
    out += quote_userinfo(user);
    if (has_password) out += ":" + std::string(kMask);
    out += "@";
  }
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port) out += fmt::format(":{}", *port);
  if (!database.empty() || is_sqlite()) out += "/" + database;
  if (!query.empty()) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : query)
      parts.push_back(quote_query(k) + "=" + (is_secret_key(k) ? std::string(kMask) : quote_query(v)));
    out += "?" + join(parts, "&");
  }
  return out;
}

std::filesystem::path DatabaseUrl::sqlite_file(const std::filesystem::path& base_dir) const {
  std::filesystem::path p(database);
  if (p.is_relative() && !base_dir.empty()) p = base_dir / p;
  return p.lexically_normal();
}

}  // namespace rb::db
