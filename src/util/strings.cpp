#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <fmt/format.h>

#include "util/utf8.hpp"

namespace rb {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_d = 0;
  for (const auto& c : candidates) {
    size_t d = edit_distance(to_lower(word), to_lower(c));
    if (!best || d < best_d) {
      best = c;
      best_d = d;
    }
  }
  // Plausible typo: at most a third of the word changed (and at least one edit allowed).
  if (best && best_d <= std::max<size_t>(2, word.size() / 3)) return best;
  // A prefix is a plausible abbreviation ("prod" for "production").
  for (const auto& c : candidates)
    if (!word.empty() && (c.rfind(word, 0) == 0 || std::string(word).rfind(c, 0) == 0)) return c;
  return std::nullopt;
}

Result<long long> parse_decimal(std::string_view text, long long min, long long max, std::string_view what) {
  auto range = [&] { return fmt::format("a whole number from {} to {}", min, max); };
  bool negative = !text.empty() && text[0] == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!all_digits) {
    std::string shown = printable_inline(text.size() > 40 ? text.substr(0, 40) : text) + (text.size() > 40 ? "..." : "");
    return usage_error(fmt::format("{} '{}' is not a decimal number", what, shown),
                       fmt::format("give {} {} in decimal digits (no sign, spaces, hex or exponent)", what, range()));
  }
  // Accumulate with an overflow check: 20 digits would not fit, and the range check follows.
  unsigned long long magnitude = 0;
  bool too_big = false;
  for (char c : digits) {
    unsigned d = static_cast<unsigned>(c - '0');
    if (magnitude > (std::numeric_limits<unsigned long long>::max() - d) / 10) {
      too_big = true;
      break;
    }
    magnitude = magnitude * 10 + d;
  }
  constexpr auto kLimit = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
  if (!too_big && magnitude <= kLimit) {
    long long value = negative ? -static_cast<long long>(magnitude) : static_cast<long long>(magnitude);
    if (value >= min && value <= max) return value;
    if (value < min)
      return usage_error(fmt::format("{} {} is too small: it must be at least {}", what, value, min),
                         fmt::format("give {} {}", what, range()));
  }
  if (negative)
    return usage_error(fmt::format("{} {} is too small: it must be at least {}", what, text, min),
                       fmt::format("give {} {}", what, range()));
  std::string shown = printable_inline(text.size() > 40 ? text.substr(0, 40) : text) + (text.size() > 40 ? "..." : "");
  return usage_error(fmt::format("{} {} is too large: it must be at most {}", what, shown, max),
                     fmt::format("give {} {}", what, range()));
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::string t = trim(text);
  auto bad = [&] {
    return usage_error(fmt::format("invalid duration '{}'", t), "use a number with a unit, e.g. 90s, 10m, 1h30m or 500ms");
  };
  if (t.empty()) return bad();
  double total_ms = 0;
  size_t i = 0;
  bool any = false;
  while (i < t.size()) {
    size_t start = i;
    while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
    if (start == i) return bad();
    double value = 0;
    try {
      value = std::stod(t.substr(start, i - start));
    } catch (const std::out_of_range&) {
      return usage_error(fmt::format("duration '{}' is too large, at most {}", t, format_duration(kMaxDuration)),
                         "give a shorter duration, e.g. 10m or 1h");
    } catch (...) {
      return bad();
    }
    size_t ustart = i;
    while (i < t.size() && std::isalpha(static_cast<unsigned char>(t[i]))) ++i;
    // A view, not a copy: assigning "s" to a std::string here trips GCC 12's -Wrestrict false
    // positive at -O2 (GCC bug 105651), which fails the release build with warnings as errors.
    std::string_view unit = std::string_view(t).substr(ustart, i - ustart);
    if (unit.empty() && i == t.size() && !any) unit = "s";
    if (unit == "ms") total_ms += value;
    else if (unit == "s") total_ms += value * 1000;
    else if (unit == "m") total_ms += value * 60'000;
    else if (unit == "h") total_ms += value * 3'600'000;
    else if (unit == "d") total_ms += value * 86'400'000;
    else return bad();
    any = true;
    // Checked on every step, so no sum of parts can overflow before the check.
    if (!(total_ms <= static_cast<double>(std::chrono::milliseconds(kMaxDuration).count())))
      return usage_error(fmt::format("duration '{}' is too large, at most {}", t, format_duration(kMaxDuration)),
                         "give a shorter duration, e.g. 10m or 1h");
  }
  return std::chrono::milliseconds(static_cast<long long>(total_ms));
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms < 0) ms = 0;
  if (ms < 60'000) {
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  }
  long long s = ms / 1000;
  long long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  std::string out;
  if (h) out += fmt::format("{}h", h);
  if (m) out += fmt::format("{}m", m);
  if (sec) out += fmt::format("{}s", sec);
  return out;
}

std::string format_utc(std::chrono::system_clock::time_point t, const char* strftime_format) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, strftime_format, &tm);
  return std::string(buf, n);
}

std::string iso8601(std::chrono::system_clock::time_point t) { return format_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::optional<std::time_t> parse_iso8601(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string_view rest = std::string_view(text).substr(static_cast<size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
  }
  long offset_seconds = 0;
  if (rest == "Z" || rest.empty() || rest == "UTC" || rest == "GMT") {
    offset_seconds = 0;
  } else if ((rest.front() == '+' || rest.front() == '-') && rest.size() == 6 && rest[3] == ':') {
    int hh = std::atoi(std::string(rest.substr(1, 2)).c_str());
    int mm = std::atoi(std::string(rest.substr(4, 2)).c_str());
    offset_seconds = (hh * 3600 + mm * 60) * (rest.front() == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  return timegm(&tm) - offset_seconds;
}

}  // namespace rb
