#include "db/pitr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "core/aws_env.hpp"
#include "db/risk.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace {

using SysTime = std::chrono::system_clock::time_point;

// RDS instance states on the way to `available` (DescribeDBInstances, DBInstanceStatus): a
// restore passes through creating and often backing-up / modifying / configuring-*.
bool still_creating(const std::string& status) {
  return status == "creating" || status == "backing-up" || status == "modifying" || status == "rebooting" ||
         status == "starting" || status == "renaming" || status == "resetting-master-credentials" ||
         status == "upgrading" || status == "maintenance" || status.rfind("configuring-", 0) == 0;
}

std::optional<SysTime> time_of(const std::string& iso) {
  auto t = parse_iso8601(iso);
  if (!t) return std::nullopt;
  return std::chrono::system_clock::from_time_t(*t);
}

class AwsRestoreGateway final : public RestoreGateway {
 public:
  AwsRestoreGateway(aws::AwsClientConfig config, Clock& clock)
      : transport_(std::make_unique<aws::CurlTransport>()), client_(std::move(config), *transport_, clock) {}

  Result<aws::DbInstance> describe(const std::string& instance) override {
    return aws::describe_db_instance(client_, instance);
  }
  Result<aws::DbInstance> restore(const aws::PointInTimeRestore& request) override {
    return aws::restore_db_instance_to_point_in_time(client_, request);
  }

 private:
  std::unique_ptr<aws::CurlTransport> transport_;
  aws::AwsClient client_;
};

}  // namespace

std::string RestoreWindow::describe() const { return iso8601(earliest) + " .. " + iso8601(latest); }

Result<RestoreWindow> restore_window(const aws::DbInstance& source) {
  if (source.backup_retention_days <= 0)
    return refusal(fmt::format("automated backups are off on RDS instance {} (backup retention 0 days): there is no "
                               "point in time to restore to",
                               source.identifier),
                   "restore its newest snapshot instead (`aws rds describe-db-snapshots --db-instance-identifier " +
                       source.identifier +
                       "`), and set a backup retention of 1 to 35 days so that the next incident has this net");
  auto latest = time_of(source.latest_restorable_time);
  if (!latest)
    return refusal(fmt::format("RDS reports no latest restorable time for instance {} yet", source.identifier),
                   "a new instance has none until its first automated backup has finished; try again later");
  RestoreWindow w;
  w.latest = *latest;
  w.earliest = w.latest - std::chrono::hours(24 * source.backup_retention_days);
  if (auto created = time_of(source.create_time); created && *created > w.earliest) w.earliest = *created;
  return w;
}

Result<SysTime> parse_restore_time(const std::string& text, SysTime now) {
  const std::string t = trim(text);
  const std::string_view ago = " ago";
  if (t.size() > ago.size() && t.compare(t.size() - ago.size(), ago.size(), ago) == 0) {
    auto d = parse_duration(trim(t.substr(0, t.size() - ago.size())));
    if (!d)
      return usage_error(fmt::format("--to-time '{}': '{}' is not a duration", text, t.substr(0, t.size() - ago.size())),
                         "e.g. --to-time '45m ago' or --to-time 2026-11-30T09:15:00Z");
    return now - *d;
  }
  // A time without a zone is refused rather than guessed: at 3 a.m. the difference between the
  // laptop's zone and UTC is the hour of data the restore is for.
  const bool zoned = !t.empty() && (t.back() == 'Z' || (t.size() > 6 && (t[t.size() - 6] == '+' || t[t.size() - 6] == '-') &&
                                                       t[t.size() - 3] == ':'));
  auto parsed = zoned ? parse_iso8601(t) : std::nullopt;
  if (!parsed)
    return usage_error(fmt::format("--to-time '{}' is not an ISO-8601 time with a zone", text),
                       "e.g. --to-time 2026-11-30T09:15:00Z (UTC), 2026-11-30T10:15:00+01:00, or '45m ago'");
  return std::chrono::system_clock::from_time_t(*parsed);
}

Status check_in_window(SysTime t, const RestoreWindow& window, const std::string& source) {
  if (t >= window.earliest && t <= window.latest) return {};
  const bool too_late = t > window.latest;
  return refusal(
      fmt::format("{} is outside the restorable window of {}: {}", iso8601(t), source, window.describe()),
      too_late ? "RDS can restore up to its latest restorable time (about five minutes ago); pick a time in the window "
                 "or wait for it to pass"
               : "older times are beyond the backup retention; a snapshot from before then is the only way back "
                 "(`aws rds describe-db-snapshots`)");
}

std::string restored_instance_name(const std::string& source, SysTime t) {
  const std::string suffix = "-pitr-" + format_utc(t, "%Y%m%d-%H%M");
  std::string base = source;
  if (base.size() + suffix.size() > aws::kMaxRdsIdentifier) base.resize(aws::kMaxRdsIdentifier - suffix.size());
  while (!base.empty() && base.back() == '-') base.pop_back();
  std::string out = base + suffix;
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::chrono::minutes estimate_restore(const aws::DbInstance& source) {
  return kRestoreBaseEstimate + kRestorePerHundredGiB * ((source.allocated_storage_gib + 99) / 100);
}

Result<std::unique_ptr<RestoreGateway>> make_aws_restore_gateway(const Config& config, const EnvironmentConfig& env,
                                                                 Clock& clock) {
  RB_TRY_ASSIGN(auto aws_env, environment_aws(config, env));
  auto& credentials = aws_env.credentials;
  const std::string& region = aws_env.region;
  auto client_config = aws::AwsClientConfig::for_service("rds", region, std::move(credentials), aws::default_retry_policy());
  log_debug("RDS endpoint {} (region {}) for the point-in-time restore", client_config.endpoint, region);
  return std::unique_ptr<RestoreGateway>(new AwsRestoreGateway(std::move(client_config), clock));
}

aws::PointInTimeRestore restore_request(const aws::DbInstance& source, const std::string& target, SysTime t,
                                        const std::string& rollback_id) {
  aws::PointInTimeRestore r;
  r.source = source.identifier;
  r.target = target;
  r.restore_time = iso8601(t);
  r.instance_class = source.instance_class;
  r.subnet_group = source.subnet_group;
  r.security_groups = source.security_groups;
  r.parameter_group = source.parameter_group;
  r.multi_az = false;  // a copy to inspect: one zone is enough, and the cutover can change it
  r.publicly_accessible = source.publicly_accessible;
  r.tags = {{"rollback:id", rollback_id}, {"rollback:source", source.identifier}, {"rollback:restore-time", iso8601(t)}};
  return r;
}

Result<aws::DbInstance> restore_and_wait(RestoreGateway& gateway, Clock& clock, const aws::PointInTimeRestore& request,
                                         std::chrono::milliseconds timeout,
                                         const std::function<void(const std::string&)>& progress) {
  RB_TRY(aws::check_rds_identifier(request.target, aws::kMaxRdsIdentifier, "instance identifier"));
  auto sent = gateway.restore(request);
  if (!sent && sent.error().tag == "ambiguous") {
    // The reply was lost: RDS may have started the restore. The target tells.
    auto found = gateway.describe(request.target);
    if (found) sent = std::move(found);
  }
  if (!sent) {
    Error e = sent.take_error();
    e.message = fmt::format("the restore of {} into {} could not be started: {}", request.source, request.target,
                            e.message);
    return e;
  }
  aws::DbInstance d = std::move(*sent);
  const auto deadline = clock.now() + timeout;
  std::string last;
  size_t polls = 0;
  for (;;) {
    if (d.status != last) progress(fmt::format("instance {}: {}", d.identifier, d.status));
    last = d.status;
    if (d.status == "available") return d;
    if (!still_creating(d.status)) {
      Error e = failure(fmt::format("the restored instance {} ended as '{}', not available", d.identifier, d.status),
                        "the live database was not touched; see the instance's events (`aws rds describe-events "
                        "--source-type db-instance --source-identifier " +
                            d.identifier + "`), delete it, and try another time");
      e.tag = "restore-failed";
      return e;
    }
    if (clock.now() >= deadline) {
      Error e = failure(fmt::format("the restored instance {} is still '{}' after {}", d.identifier, d.status,
                                    format_duration(timeout)),
                        "the restore goes on in RDS; follow it with `aws rds describe-db-instances "
                        "--db-instance-identifier " +
                            d.identifier + "`");
      e.tag = "restore-failed";
      return e;
    }
    const auto delay = polls < std::size(kRestoreFirstPolls) ? kRestoreFirstPolls[polls] : kRestorePollInterval;
    ++polls;
    if (!clock.sleep_for(delay))
      return interrupted_error(fmt::format("interrupted while {} was being restored (the restore goes on in RDS; the "
                                           "live database was not touched)",
                                           d.identifier));
    RB_TRY_ASSIGN(d, gateway.describe(request.target));
  }
}

nlohmann::json instance_to_json(const aws::DbInstance& d) {
  return {{"identifier", d.identifier},         {"status", d.status},
          {"instance_class", d.instance_class}, {"engine", d.engine},
          {"address", d.address},               {"port", d.port},
          {"subnet_group", d.subnet_group},     {"security_groups", d.security_groups},
          {"parameter_group", d.parameter_group}};
}

DatabaseUrl restored_url(const DatabaseUrl& live, const std::string& address, int port) {
  DatabaseUrl u = live;
  u.host = address;
  u.port = port > 0 ? std::optional<int>(port) : std::nullopt;
  std::erase_if(u.query, [](const auto& kv) { return kv.first == "host" || kv.first == "hostaddr" || kv.first == "port"; });
  return u;
}

namespace {

std::optional<std::vector<std::string>> versions_of(MigrationDatabase& db, const MigrationsSetup& setup,
                                                    const std::string& which, std::vector<std::string>& notes) {
  auto rows = db.version_rows(setup.version_table, setup.version_table_schema);
  if (rows) return *rows;
  notes.push_back(fmt::format("the {} database's version table could not be read: {}", which, rows.error().message));
  return std::nullopt;
}

std::optional<long long> count_of(MigrationDatabase& db, const std::string& table, const std::string& which,
                                  std::vector<std::string>& notes) {
  const auto dot = table.find('.');
  const std::string sql = "SELECT count(*) FROM " + (dot == std::string::npos
                                                         ? quote_identifier(table)
                                                         : quote_table(table.substr(0, dot), table.substr(dot + 1)));
  auto n = db.scalar_count(sql);
  if (n) return *n;
  notes.push_back(fmt::format("{} in the {} database could not be counted: {}", table, which, n.error().message));
  return std::nullopt;
}

}  // namespace

Comparison compare_databases(MigrationDatabase* live, MigrationDatabase& restored, const MigrationsSetup& setup,
                             const std::vector<std::string>& tables) {
  Comparison c;
  c.restored_versions = versions_of(restored, setup, "restored", c.notes);
  if (live) c.live_versions = versions_of(*live, setup, "live", c.notes);
  std::vector<std::string> names = tables;
  if (names.empty()) {
    auto all = restored.table_names();
    if (!all) {
      c.notes.push_back("the restored database's tables could not be listed: " + all.error().message);
    } else {
      for (const auto& t : *all)
        if (t != setup.version_table) names.push_back(t);
      if (names.size() > kMaxComparedTables) {
        c.notes.push_back(fmt::format("{} tables; the first {} by name are compared (name others with --tables)",
                                      names.size(), kMaxComparedTables));
        names.resize(kMaxComparedTables);
      }
    }
  }
  for (const auto& t : names) {
    TableCount tc{t, std::nullopt, std::nullopt};
    tc.restored = count_of(restored, t, "restored", c.notes);
    if (live) tc.live = count_of(*live, t, "live", c.notes);
    c.tables.push_back(std::move(tc));
  }
  return c;
}

nlohmann::json Comparison::to_json() const {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json t = nlohmann::json::array();
  for (const auto& x : tables) t.push_back({{"table", x.table}, {"live", opt(x.live)}, {"restored", opt(x.restored)}});
  return {{"live_versions", opt(live_versions)}, {"restored_versions", opt(restored_versions)}, {"tables", t},
          {"notes", notes}};
}

}  // namespace rb::db
