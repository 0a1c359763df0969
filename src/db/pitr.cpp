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

// "2026-11-30T10:00:00.123Z": a fraction of a second that is not zero.
bool has_fraction(const std::string& iso) {
  const auto dot = iso.find('.');
  if (dot == std::string::npos) return false;
  for (size_t i = dot + 1; i < iso.size() && std::isdigit(static_cast<unsigned char>(iso[i])); ++i)
    if (iso[i] != '0') return true;
  return false;
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
  Result<aws::DbCluster> describe_cluster(const std::string& cluster) override {
    return aws::describe_db_cluster(client_, cluster);
  }
  Result<aws::DbCluster> restore_cluster(const aws::ClusterPointInTimeRestore& request) override {
    return aws::restore_db_cluster_to_point_in_time(client_, request);
  }
  Result<aws::DbInstance> create_instance(const aws::ClusterInstance& request) override {
    return aws::create_db_cluster_instance(client_, request);
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

Result<RestoreWindow> restore_window(const aws::DbCluster& source) {
  auto earliest = time_of(source.earliest_restorable_time);
  auto latest = time_of(source.latest_restorable_time);
  if (!earliest || !latest)
    return refusal(fmt::format("RDS reports no restorable window for Aurora cluster {} yet", source.identifier),
                   "a new cluster has none until its first automated backup has finished; try again later");
  // Times are whole seconds here: an earliest time with a fraction starts the window at the
  // next second, so that a time the tool accepts is never one RDS refuses.
  if (has_fraction(source.earliest_restorable_time)) *earliest += std::chrono::seconds(1);
  return RestoreWindow{*earliest, *latest};
}

Result<RestoreWindow> restore_window(const PitrSource& source) {
  return source.is_cluster ? restore_window(source.cluster) : restore_window(source.instance);
}

Result<PitrSource> read_source(RestoreGateway& gateway, const DatabaseConfig& database, const std::string& env) {
  PitrSource s;
  if (database.rds_cluster.empty()) {
    auto d = gateway.describe(database.rds_instance);
    if (!d) {
      Error e = d.take_error();
      if (e.tag == "DBInstanceNotFound")
        e.hint = fmt::format("check `database.rds_instance` of {} in rollback.yaml and the account and region it "
                             "points at (`aws rds describe-db-instances`)",
                             env);
      return e;
    }
    if (!d->cluster.empty())
      return usage_error(fmt::format("RDS instance {} is a member of the Aurora cluster {}: clusters are restored whole",
                                     d->identifier, d->cluster),
                         fmt::format("name the cluster instead: `database: {{ rds_cluster: {} }}` for {} in "
                                     "rollback.yaml",
                                     d->cluster, env));
    s.instance = std::move(*d);
    return s;
  }
  s.is_cluster = true;
  auto c = gateway.describe_cluster(database.rds_cluster);
  if (!c) {
    Error e = c.take_error();
    if (e.tag == "DBClusterNotFoundFault")
      e.hint = fmt::format("check `database.rds_cluster` of {} in rollback.yaml and the account and region it "
                           "points at (`aws rds describe-db-clusters`)",
                           env);
    return e;
  }
  s.cluster = std::move(*c);
  const std::string writer = s.cluster.writer();
  if (writer.empty())
    return refusal(fmt::format("Aurora cluster {} has no writer instance: the restored cluster's instance class "
                               "cannot be copied from it",
                               s.cluster.identifier),
                   "restore it by hand: `aws rds restore-db-cluster-to-point-in-time`, then `aws rds "
                   "create-db-instance --db-cluster-identifier NEW` with the class you need");
  RB_TRY_ASSIGN(s.instance, gateway.describe(writer));
  return s;
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
                 "(`aws rds describe-db-snapshots`, or `describe-db-cluster-snapshots` for a cluster)");
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

std::chrono::minutes estimate_restore(const PitrSource& source) {
  return source.is_cluster ? kRestoreBaseEstimate + kClusterInstanceEstimate : estimate_restore(source.instance);
}

std::string cluster_instance_name(const std::string& cluster) {
  const std::string suffix = "-1";
  std::string base = cluster;
  if (base.size() + suffix.size() > aws::kMaxRdsIdentifier) base.resize(aws::kMaxRdsIdentifier - suffix.size());
  while (!base.empty() && base.back() == '-') base.pop_back();
  return base + suffix;
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

namespace {

// What differs between following an instance and a cluster: the words and the aws commands.
struct Followed {
  const char* noun;         // "instance", "cluster"
  const char* source_type;  // aws rds describe-events --source-type
  const char* describe;     // the aws rds command that reads one
  const char* id_flag;      // its identifier option
};
constexpr Followed kInstance{"instance", "db-instance", "describe-db-instances", "--db-instance-identifier"};
constexpr Followed kCluster{"cluster", "db-cluster", "describe-db-clusters", "--db-cluster-identifier"};

// Sends a creating call; when its reply was lost (RDS may have acted), reads the target instead.
template <typename T, typename Send, typename Find>
Result<T> send_or_find(Send send, Find find, const std::string& what) {
  auto sent = send();
  if (!sent && sent.error().tag == "ambiguous") {
    auto found = find();
    if (found) sent = std::move(found);
  }
  if (!sent) {
    Error e = sent.take_error();
    e.message = fmt::format("{} could not be started: {}", what, e.message);
    return e;
  }
  return sent;
}

// Follows `d` (an instance or a cluster: both have identifier and status) to `available`,
// reading it again with `describe`, until `deadline`.
template <typename T, typename Describe>
Result<T> follow(T d, Describe describe, Clock& clock, std::chrono::steady_clock::time_point deadline,
                 std::chrono::milliseconds timeout, const Followed& kind,
                 const std::function<void(const std::string&)>& progress) {
  std::string last;
  size_t polls = 0;
  for (;;) {
    if (d.status != last) progress(fmt::format("{} {}: {}", kind.noun, d.identifier, d.status));
    last = d.status;
    if (d.status == "available") return d;
    if (!still_creating(d.status)) {
      Error e = failure(fmt::format("the restored {} {} ended as '{}', not available", kind.noun, d.identifier, d.status),
                        fmt::format("the live database was not touched; see the {}'s events (`aws rds describe-events "
                                    "--source-type {} --source-identifier {}`), delete it, and try another time",
                                    kind.noun, kind.source_type, d.identifier));
      e.tag = "restore-failed";
      return e;
    }
    if (clock.now() >= deadline) {
      Error e = failure(fmt::format("the restored {} {} is still '{}' after {}", kind.noun, d.identifier, d.status,
                                    format_duration(timeout)),
                        fmt::format("the restore goes on in RDS; follow it with `aws rds {} {} {}`", kind.describe,
                                    kind.id_flag, d.identifier));
      e.tag = "restore-failed";
      return e;
    }
    const auto delay = polls < std::size(kRestoreFirstPolls) ? kRestoreFirstPolls[polls] : kRestorePollInterval;
    ++polls;
    if (!clock.sleep_for(delay))
      return interrupted_error(fmt::format("interrupted while {} was being restored (the restore goes on in RDS; the "
                                           "live database was not touched)",
                                           d.identifier));
    RB_TRY_ASSIGN(d, describe());
  }
}

}  // namespace

PitrRequest pitr_request(const PitrSource& source, const std::string& target, SysTime t,
                         const std::string& rollback_id) {
  PitrRequest r;
  r.is_cluster = source.is_cluster;
  if (!source.is_cluster) {
    r.instance = restore_request(source.instance, target, t, rollback_id);
    return r;
  }
  const auto tags = std::vector<std::pair<std::string, std::string>>{
      {"rollback:id", rollback_id}, {"rollback:source", source.identifier()}, {"rollback:restore-time", iso8601(t)}};
  r.cluster.source = source.cluster.identifier;
  r.cluster.target = target;
  r.cluster.restore_time = iso8601(t);
  r.cluster.subnet_group = source.cluster.subnet_group;
  r.cluster.security_groups = source.cluster.security_groups;
  r.cluster.parameter_group = source.cluster.parameter_group;
  r.cluster.tags = tags;
  r.cluster_instance.identifier = cluster_instance_name(target);
  r.cluster_instance.cluster = target;
  r.cluster_instance.engine = source.cluster.engine.empty() ? source.instance.engine : source.cluster.engine;
  r.cluster_instance.instance_class = source.instance.instance_class;
  r.cluster_instance.publicly_accessible = source.instance.publicly_accessible;
  r.cluster_instance.tags = tags;
  return r;
}

std::vector<std::string> plan_lines(const PitrSource& source, const std::string& target, SysTime t,
                                    const RestoreWindow& window, std::chrono::minutes estimate) {
  auto or_default = [](const std::string& v) { return v.empty() ? std::string("(default)") : v; };
  auto groups = [](const std::vector<std::string>& v) { return v.empty() ? std::string("(default)") : join(v, ", "); };
  const aws::DbInstance& si = source.instance;
  std::vector<std::string> lines;
  if (source.is_cluster) {
    const aws::DbCluster& sc = source.cluster;
    lines.push_back(fmt::format("Point-in-time restore of Aurora cluster {} ({}, writer {} {}) to {}", sc.identifier,
                                sc.engine, si.identifier, si.instance_class, iso8601(t)));
    lines.push_back(fmt::format("  restorable window: {}", window.describe()));
    lines.push_back(fmt::format("  into a NEW cluster {}: subnet group {}, security groups {}, cluster parameter group {}",
                                target, or_default(sc.subnet_group), groups(sc.security_groups),
                                or_default(sc.parameter_group)));
    lines.push_back(fmt::format("  then its instance {} ({}, the writer's class): a restored cluster has none",
                                cluster_instance_name(target), si.instance_class));
  } else {
    lines.push_back(fmt::format("Point-in-time restore of RDS instance {} ({}, {}, {} GiB) to {}", si.identifier,
                                si.engine, si.instance_class, si.allocated_storage_gib, iso8601(t)));
    lines.push_back(fmt::format("  restorable window: {}", window.describe()));
    lines.push_back(fmt::format("  into a NEW instance {}: subnet group {}, security groups {}, parameter group {}",
                                target, or_default(si.subnet_group), groups(si.security_groups),
                                or_default(si.parameter_group)));
  }
  lines.push_back(fmt::format("  the live {} and the application are not touched; nothing switches over by itself",
                              source.describe()));
  lines.push_back(fmt::format("  estimated time: about {} min (rough: AWS publishes no figure; {})", estimate.count(),
                              source.is_cluster ? "most of it is the restore, then the instance's creation"
                                                : "it grows with the storage"));
  return lines;
}

Status check_targets_free(RestoreGateway& gateway, const PitrRequest& request) {
  if (request.is_cluster) {
    if (auto existing = gateway.describe_cluster(request.cluster.target); existing)
      return refusal(fmt::format("Aurora cluster {} already exists ({}): a restore to that minute was made before",
                                 request.cluster.target, existing->status),
                     "use that cluster, delete it first, or name another with --name");
    else if (existing.error().tag != "DBClusterNotFoundFault")
      return existing.take_error();
  }
  const std::string& instance = request.is_cluster ? request.cluster_instance.identifier : request.instance.target;
  if (auto existing = gateway.describe(instance); existing)
    return refusal(fmt::format("RDS instance {} already exists ({}): a restore to that minute was made before",
                               instance, existing->status),
                   "use that instance, delete it first, or name another with --name");
  else if (existing.error().tag != "DBInstanceNotFound")
    return existing.take_error();
  return {};
}

Result<aws::DbInstance> restore_and_wait(RestoreGateway& gateway, Clock& clock, const aws::PointInTimeRestore& request,
                                         std::chrono::milliseconds timeout,
                                         const std::function<void(const std::string&)>& progress) {
  RB_TRY(aws::check_rds_identifier(request.target, aws::kMaxRdsIdentifier, "instance identifier"));
  RB_TRY_ASSIGN(auto d, send_or_find<aws::DbInstance>([&] { return gateway.restore(request); },
                                                      [&] { return gateway.describe(request.target); },
                                                      fmt::format("the restore of {} into {}", request.source,
                                                                  request.target)));
  return follow(std::move(d), [&] { return gateway.describe(request.target); }, clock, clock.now() + timeout, timeout,
                kInstance, progress);
}

Result<Restored> restore_and_wait(RestoreGateway& gateway, Clock& clock, const PitrRequest& request,
                                  std::chrono::milliseconds timeout,
                                  const std::function<void(const std::string&)>& progress) {
  if (!request.is_cluster) {
    RB_TRY_ASSIGN(auto d, restore_and_wait(gateway, clock, request.instance, timeout, progress));
    return Restored{d.identifier, d.address, d.port, instance_to_json(d)};
  }
  const auto& r = request.cluster;
  const auto& ri = request.cluster_instance;
  RB_TRY(aws::check_rds_identifier(r.target, aws::kMaxRdsIdentifier, "cluster identifier"));
  RB_TRY(aws::check_rds_identifier(ri.identifier, aws::kMaxRdsIdentifier, "instance identifier"));
  const auto deadline = clock.now() + timeout;
  auto read_cluster = [&] { return gateway.describe_cluster(r.target); };
  RB_TRY_ASSIGN(auto c, send_or_find<aws::DbCluster>([&] { return gateway.restore_cluster(r); }, read_cluster,
                                                     fmt::format("the restore of {} into {}", r.source, r.target)));
  RB_TRY_ASSIGN(c, follow(std::move(c), read_cluster, clock, deadline, timeout, kCluster, progress));
  auto read_instance = [&] { return gateway.describe(ri.identifier); };
  RB_TRY_ASSIGN(auto d, send_or_find<aws::DbInstance>([&] { return gateway.create_instance(ri); }, read_instance,
                                                      fmt::format("the instance {} of the restored cluster {}",
                                                                  ri.identifier, r.target)));
  RB_TRY_ASSIGN(d, follow(std::move(d), read_instance, clock, deadline, timeout, kInstance, progress));
  // The writer endpoint is the cluster's; read it now that the cluster has its instance.
  RB_TRY_ASSIGN(c, read_cluster());
  Restored out{c.identifier, c.endpoint.empty() ? d.address : c.endpoint, c.port > 0 ? c.port : d.port,
               cluster_to_json(c)};
  out.json["instance"] = instance_to_json(d);
  return out;
}

Result<nlohmann::json> start_restore(RestoreGateway& gateway, const PitrRequest& request) {
  if (!request.is_cluster) {
    RB_TRY_ASSIGN(auto d, send_or_find<aws::DbInstance>(
                              [&] { return gateway.restore(request.instance); },
                              [&] { return gateway.describe(request.instance.target); },
                              fmt::format("the restore of {} into {}", request.instance.source, request.instance.target)));
    return instance_to_json(d);
  }
  RB_TRY_ASSIGN(auto c, send_or_find<aws::DbCluster>(
                            [&] { return gateway.restore_cluster(request.cluster); },
                            [&] { return gateway.describe_cluster(request.cluster.target); },
                            fmt::format("the restore of {} into {}", request.cluster.source, request.cluster.target)));
  return cluster_to_json(c);
}

nlohmann::json instance_to_json(const aws::DbInstance& d) {
  return {{"identifier", d.identifier},         {"status", d.status},
          {"instance_class", d.instance_class}, {"engine", d.engine},
          {"address", d.address},               {"port", d.port},
          {"subnet_group", d.subnet_group},     {"security_groups", d.security_groups},
          {"parameter_group", d.parameter_group}};
}

nlohmann::json cluster_to_json(const aws::DbCluster& c) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : c.members) members.push_back({{"instance", m.instance}, {"writer", m.writer}});
  return {{"identifier", c.identifier},     {"status", c.status},
          {"engine", c.engine},             {"endpoint", c.endpoint},
          {"port", c.port},                 {"subnet_group", c.subnet_group},
          {"security_groups", c.security_groups}, {"parameter_group", c.parameter_group},
          {"members", members}};
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
