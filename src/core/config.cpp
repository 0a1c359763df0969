#include "core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "aws/elasticache.hpp"
#include "aws/rds.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb {

namespace fs = std::filesystem;

namespace {

constexpr const char* kConfigNames[] = {"rollback.yaml", "rollback.yml"};

// [A-Za-z0-9][A-Za-z0-9._-]*, at most `max` characters; `what` names it in the error.
Status check_name(std::string_view name, size_t max, std::string_view what) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  const std::string rule = "letters, digits, '.', '_' and '-', starting with a letter or digit";
  std::string shown = printable_inline(name.size() > 80 ? name.substr(0, 80) : name);
  if (name.empty()) return usage_error(fmt::format("the {} is empty", what), "use " + rule);
  if (name.size() > max)
    return usage_error(fmt::format("the {} '{}...' is too long: {} characters, at most {}", what, shown, name.size(), max),
                       fmt::format("use a shorter name of {}", rule));
  if (!alnum(name[0]))
    return usage_error(fmt::format("the {} '{}' must start with a letter or digit", what, shown), "use " + rule);
  for (char c : name) {
    if (alnum(c) || c == '.' || c == '_' || c == '-') continue;
    std::string bad = static_cast<unsigned char>(c) >= 0x80 ? "a non-ASCII character"
                                                           : "'" + printable_inline(std::string_view(&c, 1)) + "'";
    return usage_error(fmt::format("the {} '{}' contains {}, which is not allowed", what, shown, bad),
                       "use only " + rule);
  }
  return {};
}

class Parser {
 public:
  explicit Parser(fs::path source) : source_(std::move(source)) {}

  Error error_at(const YAML::Node& node, const std::string& message, std::string hint = {}) const {
    auto mark = node.Mark();
    std::string where = source_.string();
    if (!mark.is_null()) where += fmt::format(":{}:{}", mark.line + 1, mark.column + 1);
    return usage_error(fmt::format("{}: {}", where, message), std::move(hint));
  }

  // Fails on a key that is not a plain scalar (a mapping or list used as a key) and on a key
  // given twice (YAML would silently keep only one of them).
  Status check_key_shapes(const YAML::Node& map, const std::string& what) const {
    std::map<std::string, YAML::Mark> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar())
        return error_at(it->first, fmt::format("a key in {} is a {} instead of a name", what,
                                               it->first.IsMap() ? "mapping" : it->first.IsSequence() ? "list" : "null"),
                        "write keys as plain names, e.g. `branch: main`");
      auto [pos, fresh] = seen.emplace(it->first.Scalar(), it->first.Mark());
      if (!fresh)
        return error_at(it->first, fmt::format("duplicate key '{}' in {} (first given on line {})",
                                               printable_inline(it->first.Scalar()), what, pos->second.line + 1),
                        "give each key once: remove or rename one of them");
    }
    return {};
  }

  // Fails on keys not in `allowed`, suggesting the closest allowed one.
  Status check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& what) const {
    RB_TRY(check_key_shapes(map, what));
    for (auto it = map.begin(); it != map.end(); ++it) {
      std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string hint;
      if (auto close = closest_match(key, allowed)) hint = fmt::format("did you mean '{}'?", *close);
      else hint = fmt::format("valid keys in {}: {}", what, join(allowed, ", "));
      return error_at(it->first, fmt::format("unknown key '{}' in {}", printable_inline(key), what), hint);
    }
    return {};
  }

  Status require_map(const YAML::Node& node, const std::string& what) const {
    if (!node.IsMap()) return error_at(node, fmt::format("{} must be a mapping (key: value pairs)", what));
    return {};
  }

  Status get_string(const YAML::Node& map, const std::string& key, std::string& out) const {
    YAML::Node n = map[key];
    if (!n) return {};
    if (!n.IsScalar()) return error_at(n, fmt::format("'{}' must be a string", key));
    out = n.Scalar();
    return {};
  }

  Status get_bool(const YAML::Node& map, const std::string& key, bool& out) const {
    YAML::Node n = map[key];
    if (!n) return {};
    std::string v = n.IsScalar() ? to_lower(n.Scalar()) : "";
    if (v == "true" || v == "yes" || v == "on") out = true;
    else if (v == "false" || v == "no" || v == "off") out = false;
    else return error_at(n, fmt::format("'{}' must be true or false", key));
    return {};
  }

  Status get_string_list(const YAML::Node& map, const std::string& key, std::vector<std::string>& out) const {
    YAML::Node n = map[key];
    if (!n) return {};
    if (n.IsScalar()) {
      out = split(n.Scalar(), ' ');
      out.erase(std::remove(out.begin(), out.end(), ""), out.end());
      return {};
    }
    if (!n.IsSequence()) return error_at(n, fmt::format("'{}' must be a list of strings", key));
    out.clear();
    for (const auto& item : n) {
      if (!item.IsScalar()) return error_at(item, fmt::format("'{}' must be a list of strings", key));
      out.push_back(item.Scalar());
    }
    if (out.empty()) return error_at(n, fmt::format("'{}' must not be empty", key));
    return {};
  }

  Status migrations(const YAML::Node& n, MigrationsConfig& m) const {
    RB_TRY(require_map(n, "'migrations'"));
    RB_TRY(check_keys(n, {"path", "versions", "version_table", "version_table_schema", "command", "url_env", "url"},
                      "'migrations'"));
    RB_TRY(get_string(n, "path", m.path));
    RB_TRY(get_string(n, "versions", m.versions));
    RB_TRY(get_string(n, "version_table", m.version_table));
    RB_TRY(get_string(n, "version_table_schema", m.version_table_schema));
    RB_TRY(get_string_list(n, "command", m.command));
    RB_TRY(get_string(n, "url_env", m.url_env));
    RB_TRY(get_string(n, "url", m.url));
    return {};
  }

  Status database(const YAML::Node& n, DatabaseConfig& d) const {
    RB_TRY(require_map(n, "'database'"));
    RB_TRY(check_keys(n, {"rds_instance", "rds_cluster"}, "'database'"));
    RB_TRY(get_string(n, "rds_instance", d.rds_instance));
    RB_TRY(get_string(n, "rds_cluster", d.rds_cluster));
    if (!d.rds_instance.empty() && !d.rds_cluster.empty())
      return error_at(n, "'database' names both an rds_instance and an rds_cluster",
                      "give the one the application's database is: rds_instance for RDS, rds_cluster for Aurora");
    if (!d.configured())
      return error_at(n, "'database' names neither rds_instance nor rds_cluster",
                      "e.g. database: { rds_instance: connect2-prod }");
    for (const auto* id : {&d.rds_instance, &d.rds_cluster}) {
      if (id->empty()) continue;
      if (auto st = aws::check_rds_identifier(*id); !st) return error_at(n, st.error().message, st.error().hint);
    }
    return {};
  }

  Status redis(const YAML::Node& n, RedisConfig& r) const {
    RB_TRY(require_map(n, "'redis'"));
    RB_TRY(check_keys(n, {"cache_cluster", "replication_group", "secret"}, "'redis'"));
    RB_TRY(get_string(n, "cache_cluster", r.cache_cluster));
    RB_TRY(get_string(n, "replication_group", r.replication_group));
    RB_TRY(get_string(n, "secret", r.secret));
    if (!r.cache_cluster.empty() && !r.replication_group.empty())
      return error_at(n, "'redis' names both a cache_cluster and a replication_group",
                      "give one: replication_group for a Redis replication group (aws elasticache "
                      "describe-replication-groups), cache_cluster for a single cluster");
    if (!r.configured())
      return error_at(n, "'redis' names neither cache_cluster nor replication_group",
                      "e.g. redis: { replication_group: connect2-prod, secret: prod/redis }");
    if (!r.cache_cluster.empty())
      if (auto st = aws::check_elasticache_identifier(r.cache_cluster, aws::kMaxCacheClusterId, "redis.cache_cluster"); !st)
        return error_at(n["cache_cluster"], st.error().message, st.error().hint);
    if (!r.replication_group.empty())
      if (auto st = aws::check_elasticache_identifier(r.replication_group, aws::kMaxReplicationGroupId,
                                                      "redis.replication_group");
          !st)
        return error_at(n["replication_group"], st.error().message, st.error().hint);
    if (n["secret"]) {
      // Secret names: letters, digits and /_+=.@- (CreateSecret); an ARN adds ':'.
      constexpr std::string_view kSecretPunctuation = "/_+=.@-:";
      bool ok = !r.secret.empty() && r.secret.size() <= kMaxSecretId;
      for (char c : r.secret)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || kSecretPunctuation.find(c) != std::string_view::npos);
      if (!ok)
        return error_at(n["secret"], fmt::format("'redis.secret' must be a Secrets Manager secret name or ARN, got '{}'",
                                                 printable_inline(r.secret.substr(0, 80))),
                        "names use letters, digits and /_+=.@- (aws secretsmanager list-secrets shows them)");
    }
    return {};
  }

  Status terraform(const YAML::Node& n, TerraformConfig& t) const {
    RB_TRY(require_map(n, "'terraform'"));
    RB_TRY(check_keys(n, {"dir", "binary", "state"}, "'terraform'"));
    RB_TRY(get_string(n, "dir", t.dir));
    RB_TRY(get_string(n, "binary", t.binary));
    if (YAML::Node s = n["state"]) {
      RB_TRY(require_map(s, "'terraform.state'"));
      RB_TRY(check_keys(s, {"bucket", "key", "dynamodb_table", "use_lockfile", "workspace", "workspace_key_prefix"},
                        "'terraform.state'"));
      RB_TRY(get_string(s, "bucket", t.state.bucket));
      RB_TRY(get_string(s, "key", t.state.key));
      RB_TRY(get_string(s, "dynamodb_table", t.state.dynamodb_table));
      RB_TRY(get_bool(s, "use_lockfile", t.state.use_lockfile));
      RB_TRY(get_string(s, "workspace", t.state.workspace));
      RB_TRY(get_string(s, "workspace_key_prefix", t.state.workspace_key_prefix));
    }
    return {};
  }

  Status verify(const YAML::Node& n, VerifyConfig& v) const {
    RB_TRY(require_map(n, "'verify'"));
    RB_TRY(check_keys(n, {"bake", "alarms", "health_url", "probes", "logs_window"}, "'verify'"));
    if (YAML::Node w = n["logs_window"]) {
      auto d = w.IsScalar() ? parse_duration(w.Scalar()) : Result<std::chrono::milliseconds>(usage_error("not a scalar"));
      if (!d || d->count() < 0)
        return error_at(w, fmt::format("'logs_window' is '{}', not a duration",
                                       w.IsScalar() ? printable_inline(w.Scalar()) : std::string("a list or map")),
                        "write e.g. logs_window: 3m, logs_window: 30s, or logs_window: 0s to not read the logs");
      if (*d > kMaxLogsWindow)
        return error_at(w, fmt::format("'logs_window' is {}, longer than the {} allowed", format_duration(*d),
                                       format_duration(kMaxLogsWindow)));
      v.logs_window = *d;
    }
    if (YAML::Node b = n["bake"]) {
      if (!b.IsScalar()) return error_at(b, "'bake' must be a duration such as 90s or 2m");
      auto d = parse_duration(b.Scalar());
      if (!d || d->count() < 0)
        return error_at(b, fmt::format("'bake' is '{}', not a duration", printable_inline(b.Scalar())),
                        "write e.g. bake: 90s, bake: 2m, or bake: 0s for no bake window");
      if (*d > kMaxBake)
        return error_at(b, fmt::format("'bake' is {}, longer than the {} allowed", format_duration(*d), format_duration(kMaxBake)));
      v.bake = *d;
    }
    if (n["alarms"]) {
      RB_TRY(get_string_list(n, "alarms", v.alarms));
      if (v.alarms.size() > kMaxVerifyAlarms)
        return error_at(n["alarms"], fmt::format("'alarms' names {} alarms, more than the {} allowed", v.alarms.size(),
                                                 kMaxVerifyAlarms));
      for (const auto& a : v.alarms)
        if (a.empty()) return error_at(n["alarms"], "'alarms' contains an empty name");
    }
    RB_TRY(get_string(n, "health_url", v.health_url));
    if (YAML::Node p = n["probes"]) {
      long long probes = 0;
      std::string text = p.IsScalar() ? p.Scalar() : "";
      bool digits = !text.empty() && text.size() <= 6 && text.find_first_not_of("0123456789") == std::string::npos;
      if (digits) probes = std::stoll(text);
      if (!digits || probes < 1 || probes > kMaxProbes)
        return error_at(p, fmt::format("'probes' must be a whole number from 1 to {}", kMaxProbes),
                        "e.g. probes: 3 (the health URL is asked that many times across the bake window)");
      v.probes = static_cast<int>(probes);
    }
    return {};
  }

 private:
  fs::path source_;
};

std::string expand(std::string text, const std::string& app, const std::string& env) {
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t pos = 0;
    while ((pos = text.find(from, pos)) != std::string::npos) {
      text.replace(pos, from.size(), to);
      pos += to.size();
    }
  };
  replace("{app}", app);
  replace("{env}", env);
  return text;
}

void expand_environment(EnvironmentConfig& e, const std::string& app) {
  auto x = [&](std::string& s) { s = expand(s, app, e.name); };
  x(e.cluster);
  x(e.service);
  x(e.task_family);
  x(e.container);
  x(e.health_url);
  x(e.verify.health_url);
  x(e.terraform.dir);
  x(e.terraform.state.bucket);
  x(e.terraform.state.key);
  x(e.terraform.state.dynamodb_table);
  x(e.migrations.path);
  x(e.migrations.versions);
}

}  // namespace

std::chrono::milliseconds EnvironmentConfig::bake() const {
  if (verify.bake) return *verify.bake;
  return is_protected ? kDefaultProtectedBake : std::chrono::milliseconds(0);
}

std::string reason_hint(bool is_protected) { return is_protected ? " --reason \"…\"" : ""; }

std::string EnvironmentConfig::reason_hint() const { return rb::reason_hint(is_protected); }

const std::string& EnvironmentConfig::verify_health_url() const {
  return verify.health_url.empty() ? health_url : verify.health_url;
}

Result<const EnvironmentConfig*> Config::environment(const std::string& name) const {
  for (const auto& e : environments)
    if (e.name == name) return &e;
  auto names = environment_names();
  std::string hint = fmt::format("environments in {}: {}", file.string(), join(names, ", "));
  if (auto close = closest_match(name, names)) hint = fmt::format("did you mean '{}'? ({})", *close, hint);
  return usage_error(fmt::format("unknown environment '{}'", printable_inline(name)), hint);
}

std::vector<std::string> Config::environment_names() const {
  std::vector<std::string> out;
  for (const auto& e : environments) out.push_back(e.name);
  return out;
}

Result<Config> parse_config(const std::string& text, const fs::path& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& ex) {
    return usage_error(fmt::format("{}:{}:{}: invalid YAML: {}", source.string(), ex.mark.line + 1, ex.mark.column + 1,
                                   ex.msg));
  }
  Parser p(source);
  if (!root || root.IsNull()) return usage_error(fmt::format("{}: the file is empty", source.string()),
                                                 "run `rollback init --app NAME` to write a starting file");
  RB_TRY(p.require_map(root, "the configuration"));
  RB_TRY(p.check_keys(root,
                      {"app", "region", "environments", "repo", "remote", "journal", "backup_dir", "guards",
                       "migrations", "terraform", "team"},
                      "the top level"));

  Config cfg;
  cfg.file = source;
  if (!root["app"]) return usage_error(fmt::format("{}: missing required key 'app'", source.string()),
                                       "add `app: <name>` (e.g. app: connect2-api)");
  RB_TRY(p.get_string(root, "app", cfg.app));
  if (cfg.app.empty()) return p.error_at(root["app"], "'app' must not be empty");
  if (auto st = check_app_name(cfg.app); !st) return p.error_at(root["app"], st.error().message, st.error().hint);
  RB_TRY(p.get_string(root, "region", cfg.region));
  RB_TRY(p.get_string(root, "remote", cfg.remote));
  std::string repo;
  RB_TRY(p.get_string(root, "repo", repo));
  fs::path base = source.has_parent_path() ? source.parent_path() : fs::current_path();
  cfg.repo = repo.empty() ? base : (fs::path(repo).is_absolute() ? fs::path(repo) : base / repo);
  cfg.repo = cfg.repo.lexically_normal();
  std::string backup_dir;
  RB_TRY(p.get_string(root, "backup_dir", backup_dir));
  if (!backup_dir.empty()) cfg.backup_dir = fs::path(backup_dir).is_absolute() ? fs::path(backup_dir) : base / backup_dir;
  if (YAML::Node j = root["journal"]) {
    RB_TRY(p.require_map(j, "'journal'"));
    RB_TRY(p.check_keys(j, {"path"}, "'journal'"));
    std::string jp;
    RB_TRY(p.get_string(j, "path", jp));
    if (!jp.empty()) cfg.journal_path = fs::path(jp).is_absolute() ? fs::path(jp) : base / jp;
  }
  if (YAML::Node t = root["team"]) {
    RB_TRY_ASSIGN(cfg.team, parse_team_config(t, source));
  }
  if (YAML::Node g = root["guards"]) {
    RB_TRY(p.require_map(g, "'guards'"));
    RB_TRY(p.check_keys(g, {"migrations", "terraform"}, "'guards'"));
    RB_TRY(p.get_string(g, "migrations", cfg.migrations_guard));
    RB_TRY(p.get_string(g, "terraform", cfg.terraform_guard));
  }

  // Top-level migrations/terraform blocks are defaults for every environment.
  MigrationsConfig default_migrations;
  TerraformConfig default_terraform;
  if (YAML::Node m = root["migrations"]) RB_TRY(p.migrations(m, default_migrations));
  if (YAML::Node t = root["terraform"]) RB_TRY(p.terraform(t, default_terraform));

  YAML::Node envs = root["environments"];
  if (!envs) return usage_error(fmt::format("{}: missing required key 'environments'", source.string()),
                                "add e.g.\nenvironments:\n  prod: { branch: main, protected: true }");
  RB_TRY(p.require_map(envs, "'environments'"));
  if (envs.size() == 0) return p.error_at(envs, "'environments' is empty");
  if (envs.size() > kMaxEnvironments)
    return p.error_at(envs, fmt::format("'environments' lists {} environments, more than the {} allowed", envs.size(),
                                        kMaxEnvironments),
                      "split the applications into separate configuration files");
  RB_TRY(p.check_key_shapes(envs, "'environments'"));
  for (auto it = envs.begin(); it != envs.end(); ++it) {
    EnvironmentConfig e;
    e.name = it->first.Scalar();
    if (auto st = check_environment_name(e.name); !st) return p.error_at(it->first, st.error().message, st.error().hint);
    // A copy: the iterator yields a temporary pair, and Nodes are cheap handles.
    YAML::Node n = it->second;
    std::string what = fmt::format("environment '{}'", e.name);
    RB_TRY(p.require_map(n, what));
    RB_TRY(p.check_keys(n,
                        {"branch", "protected", "cluster", "service", "task_family", "container", "health_url",
                         "aws_profile", "region", "image_tag", "migrations", "terraform", "account_id", "database",
                         "redis", "verify"},
                        what));
    if (!n["branch"])
      return p.error_at(n, fmt::format("{} is missing required key 'branch'", what),
                        "add the git branch this environment deploys from, e.g. branch: main");
    RB_TRY(p.get_string(n, "branch", e.branch));
    RB_TRY(p.get_bool(n, "protected", e.is_protected));
    e.cluster = "{app}-cluster-{env}";
    e.service = "{app}-service-{env}";
    e.task_family = "{app}-{env}";
    e.container = "{app}";
    e.image_tag = "{sha}";
    RB_TRY(p.get_string(n, "cluster", e.cluster));
    RB_TRY(p.get_string(n, "service", e.service));
    RB_TRY(p.get_string(n, "task_family", e.task_family));
    RB_TRY(p.get_string(n, "container", e.container));
    RB_TRY(p.get_string(n, "health_url", e.health_url));
    RB_TRY(p.get_string(n, "aws_profile", e.aws_profile));
    RB_TRY(p.get_string(n, "account_id", e.account_id));
    if (!e.account_id.empty() &&
        (e.account_id.size() != 12 || e.account_id.find_first_not_of("0123456789") != std::string::npos))
      return p.error_at(n["account_id"], fmt::format("'account_id' must be the 12-digit AWS account id, got '{}'", e.account_id),
                        "write it in quotes, e.g. account_id: \"123456789012\" (aws sts get-caller-identity shows it)");
    RB_TRY(p.get_string(n, "region", e.region));
    RB_TRY(p.get_string(n, "image_tag", e.image_tag));
    if (e.image_tag.find("{sha}") == std::string::npos && e.image_tag.find("{short_sha}") == std::string::npos)
      return p.error_at(n["image_tag"], "'image_tag' must contain {sha} or {short_sha}");
    if (e.region.empty()) e.region = cfg.region;
    e.migrations = default_migrations;
    e.terraform = default_terraform;
    if (YAML::Node m = n["migrations"]) RB_TRY(p.migrations(m, e.migrations));
    if (YAML::Node t = n["terraform"]) RB_TRY(p.terraform(t, e.terraform));
    if (YAML::Node d = n["database"]) RB_TRY(p.database(d, e.database));
    if (YAML::Node r = n["redis"]) RB_TRY(p.redis(r, e.redis));
    if (YAML::Node v = n["verify"]) RB_TRY(p.verify(v, e.verify));
    expand_environment(e, cfg.app);
    cfg.environments.push_back(std::move(e));
  }
  return cfg;
}

std::optional<fs::path> find_config_file(const fs::path& start) {
  for (fs::path dir = fs::absolute(start); !dir.empty(); dir = dir.parent_path()) {
    for (const char* name : kConfigNames) {
      std::error_code ec;
      if (fs::exists(dir / name, ec)) return dir / name;
    }
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

Result<Config> load_config(const std::optional<fs::path>& explicit_path, const fs::path& start) {
  fs::path path;
  if (explicit_path) {
    path = *explicit_path;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      Error e = usage_error(fmt::format("configuration file {} does not exist", path.string()),
                            "check the --config path, or run `rollback init --app NAME` to write one");
      e.error_code = ErrorCode::ConfigNotFound;
      return e;
    }
  } else {
    std::vector<std::string> searched;
    for (fs::path dir = fs::absolute(start); !dir.empty(); dir = dir.parent_path()) {
      searched.push_back(dir.string());
      for (const char* name : kConfigNames) {
        std::error_code ec;
        if (fs::exists(dir / name, ec)) {
          path = dir / name;
          break;
        }
      }
      if (!path.empty() || dir == dir.root_path()) break;
    }
    if (path.empty()) {
      Error e = usage_error(
          fmt::format("no rollback.yaml (or rollback.yml) found; searched {}", join(searched, ", ")),
          "run rollback from the folder that holds the application's rollback.yaml (or below it: parent folders are "
          "searched), or name the file with --config FILE; if this application has none yet, `rollback init --app "
          "NAME` writes one");
      e.error_code = ErrorCode::ConfigNotFound;
      return e;
    }
  }
  auto text = read_file(path, kMaxConfigFile);
  if (!text) {
    Error e = text.take_error();
    e.code = ExitCode::Usage;
    if (e.hint.empty()) e.hint = "check the --config path, or run `rollback init --app NAME` to write one";
    return e;
  }
  return parse_config(*text, fs::absolute(path).lexically_normal());
}

Status check_environment_name(std::string_view name) {
  return check_name(name, kMaxEnvironmentName, "environment name");
}

Status check_app_name(std::string_view name) { return check_name(name, kMaxAppName, "application name"); }

std::string starter_config(const std::string& app, const std::string& region) {
  return fmt::format(R"(# rollback configuration. Reference: docs/CONFIGURATION.md
app: {app}
region: {region}

# Per environment the defaults follow the runbook's naming:
#   cluster: {{app}}-cluster-{{env}}, service: {{app}}-service-{{env}},
#   task_family: {{app}}-{{env}}, container: {{app}}
environments:
  dev:     {{ branch: development }}
  staging: {{ branch: staging }}
  prod:    {{ branch: main, protected: true }}
)",
                     fmt::arg("app", app), fmt::arg("region", region));
}

}  // namespace rb
