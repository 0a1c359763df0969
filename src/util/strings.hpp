// Small string helpers shared by every layer.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rb {

std::string trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower(std::string_view s);
bool contains(std::string_view haystack, std::string_view needle);

// Edit distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

// A whole number written in decimal digits only (an optional '-' when `min` is negative):
// "0146" is 146, never octal; "0x66", "1e3", "+5", " 7" and "" are refused. Out of
// [min, max] is refused too, with a message naming `what` (e.g. "--pr") and the range.
// Never throws. The one parser for every numeric option and numeric outside text.
Result<long long> parse_decimal(std::string_view text, long long min, long long max, std::string_view what);

// The longest duration parse_duration accepts: a year is far beyond any wait the tool does,
// and keeps every deadline computed from it (now + duration, in nanoseconds) far from overflow.
inline constexpr auto kMaxDuration = std::chrono::hours(24 * 366);

// "10m", "90s", "1h30m", "500ms", "2m30s"; a bare number means seconds. Longer than
// kMaxDuration is refused as too large.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
// 75s -> "1m15s", 2500ms -> "2.5s"
std::string format_duration(std::chrono::milliseconds d);

// A system_clock time in UTC, formatted with strftime(3) (second precision).
std::string format_utc(std::chrono::system_clock::time_point t, const char* strftime_format);
// ISO-8601 UTC "2026-11-26T10:37:24Z" for a system_clock time.
std::string iso8601(std::chrono::system_clock::time_point t);
// "2026-01-02T03:04:05Z", "...05.123+00:00", "...05UTC" (botocore's cache files) as seconds
// since the epoch; nullopt when unparsable.
std::optional<std::time_t> parse_iso8601(const std::string& text);

}  // namespace rb
