#include "infra/lock_info.hpp"

#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util/hash.hpp"
#include "util/strings.hpp"

namespace rb::infra {

namespace {

using namespace std::chrono;

// Years a nanosecond system_clock::time_point (int64 since 1970) can represent.
constexpr int kMinYear = 1678;
constexpr int kMaxYear = 2261;

Error invalid_lock_info(const std::string& detail) {
  Error err = failure("cannot read the lock information: " + detail,
                      "look at the lock item (DynamoDB) or the .tflock object; if no Terraform run is active, "
                      "`terraform force-unlock <ID>` removes it");
  err.tag = "invalid_lock_info";
  return err;
}

bool read_digits(std::string_view s, size_t pos, size_t count, int& out) {
  if (pos + count > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "2m", "3h5m", "2d4h": how long ago, for lock messages.
std::string ago(system_clock::duration d) {
  if (d < seconds(0)) return "in the future";
  auto total = duration_cast<seconds>(d).count();
  if (total < 60) return fmt::format("{}s ago", total);
  if (total < 3600) return fmt::format("{}m ago", total / 60);
  if (total < 86400) return fmt::format("{}h{}m ago", total / 3600, (total % 3600) / 60);
  return fmt::format("{}d{}h ago", total / 86400, (total % 86400) / 3600);
}

}  // namespace

std::string uuid_v4() {
  std::string hex = random_hex(16);
  hex[12] = '4';  // version 4
  static constexpr char kVariant[] = "89ab";
  int nibble = std::isdigit(static_cast<unsigned char>(hex[16])) ? hex[16] - '0' : hex[16] - 'a' + 10;
  hex[16] = kVariant[nibble & 0x3];  // variant 10xx
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string current_user_at_host() {
  std::string user;
  struct passwd pwd {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(geteuid(), &pwd, buf, sizeof buf, &found) == 0 && found != nullptr && found->pw_name != nullptr) {
    user = found->pw_name;
  } else if (const char* env = std::getenv("USER"); env != nullptr) {
    user = env;
  }
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return user + "@" + host;
}

std::string format_rfc3339_nano(system_clock::time_point t) {
  auto ns = duration_cast<nanoseconds>(t.time_since_epoch());
  auto day = floor<days>(ns);
  year_month_day ymd{sys_days{day}};
  auto in_day = ns - day;
  auto h = duration_cast<hours>(in_day);
  auto m = duration_cast<minutes>(in_day - h);
  auto s = duration_cast<seconds>(in_day - h - m);
  long long frac = (in_day - h - m - s).count();
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                                static_cast<unsigned>(ymd.day()), h.count(), m.count(), s.count());
  if (frac != 0) {
    std::string digits = fmt::format("{:09}", frac);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "Z";
}

Result<system_clock::time_point> parse_rfc3339(std::string_view s) {
  auto bad = [&] { return failure(fmt::format("\"{}\" is not an RFC 3339 time (like 2024-06-01T12:34:56Z)", s)); };
  int year, month, day, hour, minute, second;
  if (!read_digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !read_digits(s, 5, 2, month) || s[7] != '-' ||
      !read_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !read_digits(s, 11, 2, hour) || s[13] != ':' ||
      !read_digits(s, 14, 2, minute) || s[16] != ':' || !read_digits(s, 17, 2, second))
    return bad();
  size_t pos = 19;
  long long nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !read_digits(s, pos + 4, 2, om)) return bad();
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) return bad();
  if (year < kMinYear || year > kMaxYear) return failure(fmt::format("\"{}\" is out of the supported range of years", s));
  auto t = sys_days{ymd} + hours(hour) + minutes(minute) + seconds(second) - minutes(offset_minutes);
  return system_clock::time_point(duration_cast<system_clock::duration>(t.time_since_epoch() + nanoseconds(nanos)));
}

LockInfo new_lock_info(std::string operation, std::string path, std::string info, system_clock::time_point now) {
  LockInfo lock;
  lock.id = uuid_v4();
  lock.operation = std::move(operation);
  lock.info = std::move(info);
  lock.who = current_user_at_host();
  lock.version = std::string("rollback ") + ROLLBACK_VERSION;
  lock.created = now;
  lock.path = std::move(path);
  return lock;
}

std::string lock_info_json(const LockInfo& info) {
  nlohmann::ordered_json doc;
  doc["ID"] = info.id;
  doc["Operation"] = info.operation;
  doc["Info"] = info.info;
  doc["Who"] = info.who;
  doc["Version"] = info.version;
  doc["Created"] = format_rfc3339_nano(info.created);
  doc["Path"] = info.path;
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<LockInfo> parse_lock_info(std::string_view json) {
  auto doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded()) return invalid_lock_info("it is not valid JSON");
  if (!doc.is_object()) return invalid_lock_info(fmt::format("it is {}, not an object", doc.type_name()));
  LockInfo info;
  struct Field {
    const char* name;
    std::string* target;
  };
  std::string created;
  for (Field f : {Field{"ID", &info.id}, Field{"Operation", &info.operation}, Field{"Info", &info.info}, Field{"Who", &info.who},
                  Field{"Version", &info.version}, Field{"Created", &created}, Field{"Path", &info.path}}) {
    auto it = doc.find(f.name);
    if (it == doc.end() || it->is_null()) continue;
    if (!it->is_string()) return invalid_lock_info(fmt::format("\"{}\" is {}, not a string", f.name, it->type_name()));
    *f.target = it->get<std::string>();
  }
  if (!created.empty()) {
    auto t = parse_rfc3339(created);
    if (!t) return invalid_lock_info("\"Created\": " + t.error().message);
    info.created = *t;
  }
  return info;
}

std::string describe_lock_holder(const LockInfo& info, system_clock::time_point now) {
  std::string who = info.who.empty() ? "an unknown user" : info.who;
  std::string what = info.operation.empty() ? "unknown operation" : info.operation;
  if (!info.version.empty()) what += ", version " + info.version;
  std::string since;
  if (info.created.time_since_epoch().count() != 0) {
    since = fmt::format(" since {} ({})", iso8601(info.created), ago(now - info.created));
  }
  std::string out = fmt::format("{} ({}){}, lock ID {}", who, what, since, info.id.empty() ? "unknown" : info.id);
  if (!info.info.empty()) out += ": " + info.info;
  return out;
}

}  // namespace rb::infra
