#include "aws/credentials.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "aws/endpoint.hpp"
#include "aws/http.hpp"
#include "aws/sts.hpp"
#include "aws/url.hpp"
#include "util/clock.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"
#include "util/terminal.hpp"

namespace rb::aws {

namespace {

// How long a credential_process may run. The AWS CLI waits forever; a helper that hangs (an
// MFA prompt with no terminal, a dead SSO agent) would stall an emergency rollback, and a
// real helper answers in seconds.
constexpr auto kCredentialProcessTimeout = std::chrono::minutes(2);

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::string home_dir() {
  if (auto h = env("HOME")) return *h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/";
}

std::filesystem::path expand_user(const std::string& p) {
  if (p == "~") return home_dir();
  if (p.starts_with("~/")) return std::filesystem::path(home_dir()) / p.substr(2);
  return p;
}

// "~/.aws/credentials" rather than "/home/me/.aws/credentials" in messages.
std::string display_path(const std::filesystem::path& p) {
  std::string s = p.string();
  std::string home = home_dir();
  if (home.size() > 1 && s.starts_with(home + "/")) return "~" + s.substr(home.size());
  return s;
}

std::filesystem::path credentials_file_path() {
  return expand_user(env("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"));
}

std::filesystem::path config_file_path() { return expand_user(env("AWS_CONFIG_FILE").value_or("~/.aws/config")); }

// A file that may be absent (that is not an error) or unreadable/malformed (that is).
struct LoadedIni {
  std::filesystem::path path;
  bool exists = false;
  IniFile ini;
};

Result<LoadedIni> load_ini(const std::filesystem::path& path) {
  LoadedIni out;
  out.path = path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return out;
  out.exists = true;
  RB_TRY_ASSIGN(std::string text, read_file(path));
  RB_TRY_ASSIGN(out.ini, parse_ini(text, display_path(path)));
  return out;
}

struct ProfileSources {
  LoadedIni credentials_file;
  LoadedIni config_file;
  std::map<std::string, IniSection> config_profiles;

  const IniSection* in_credentials(const std::string& profile) const {
    auto it = credentials_file.ini.find(profile);
    return it == credentials_file.ini.end() ? nullptr : &it->second;
  }
  const IniSection* in_config(const std::string& profile) const {
    auto it = config_profiles.find(profile);
    return it == config_profiles.end() ? nullptr : &it->second;
  }
  // The profile as botocore's full_config sees it: config-file values, overridden by the
  // credentials file's.
  IniSection merged(const std::string& profile) const {
    IniSection out;
    if (auto* c = in_config(profile)) out = *c;
    if (auto* c = in_credentials(profile))
      for (const auto& [k, v] : *c) out[k] = v;
    return out;
  }
  std::vector<std::string> profile_names() const {
    std::vector<std::string> names;
    for (const auto& [name, _] : credentials_file.ini) names.push_back(name);
    for (const auto& [name, _] : config_profiles)
      if (!credentials_file.ini.count(name)) names.push_back(name);
    return names;
  }
};

Result<ProfileSources> load_sources() {
  ProfileSources s;
  RB_TRY_ASSIGN(s.credentials_file, load_ini(credentials_file_path()));
  RB_TRY_ASSIGN(s.config_file, load_ini(config_file_path()));
  s.config_profiles = config_profiles(s.config_file.ini);
  return s;
}

std::string value_or_empty(const IniSection& section, const std::string& key) {
  auto it = section.find(key);
  return it == section.end() ? std::string() : it->second;
}

Credentials registered(Credentials c) {
  register_secret(c.secret_access_key);
  register_secret(c.session_token);
  return c;
}

// Static keys from one section; nullopt when the section has none, an error when half set.
Result<std::optional<Credentials>> static_keys(const IniSection& section, const std::string& profile,
                                               const std::filesystem::path& file) {
  std::string id = value_or_empty(section, "aws_access_key_id");
  std::string secret = value_or_empty(section, "aws_secret_access_key");
  if (id.empty() && secret.empty()) return std::optional<Credentials>();
  if (id.empty() || secret.empty()) {
    register_secret(secret);
    return usage_error(fmt::format("profile {} in {} has {} but not {}", profile, display_path(file),
                                   id.empty() ? "aws_secret_access_key" : "aws_access_key_id",
                                   id.empty() ? "aws_access_key_id" : "aws_secret_access_key"),
                       "add the missing key to the profile (aws configure --profile " + profile + ")");
  }
  Credentials c;
  c.access_key_id = id;
  c.secret_access_key = secret;
  c.session_token = value_or_empty(section, "aws_session_token");
  if (c.session_token.empty()) c.session_token = value_or_empty(section, "aws_security_token");
  c.source = fmt::format("profile {} ({})", profile, display_path(file));
  return std::optional<Credentials>(registered(std::move(c)));
}

Result<Credentials> run_credential_process(const std::string& command, const std::string& profile) {
  std::string source = fmt::format("credential_process (profile {})", profile);
  RB_TRY_ASSIGN(auto argv, shell_split(command));
  if (argv.empty())
    return usage_error(fmt::format("profile {}: credential_process is empty", profile),
                       "set credential_process to the command that prints the credentials JSON");
  ProcessOptions options;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kCredentialProcessTimeout);
  auto run = run_process(argv, options);
  if (!run) {
    Error e = run.take_error();
    e.message = fmt::format("profile {}: cannot run credential_process: {}", profile, e.message);
    return e;
  }
  if (!run->ok()) {
    // Its stdout may hold half-written secrets: only stderr is shown.
    return failure(fmt::format("profile {}: credential_process {} failed ({}): {}", profile, format_argv(argv),
                               run->describe(), redact(trim(run->err))),
                   "run the command by hand to see what it needs (a login, a token, a network)");
  }
  return parse_credential_process_output(run->out, source);
}

}  // namespace

std::string resolve_profile_name(std::string_view explicit_profile) {
  if (!explicit_profile.empty()) return std::string(explicit_profile);
  if (auto p = env("AWS_PROFILE")) return *p;
  if (auto p = env("AWS_DEFAULT_PROFILE")) return *p;
  return "default";
}

Result<IniFile> parse_ini(std::string_view text, const std::string& file_name) {
  IniFile ini;
  IniSection* current = nullptr;
  std::string current_name;
  std::string* last_value = nullptr;
  size_t last_indent = 0;
  int line_no = 0;
  auto bad = [&](const std::string& what) {
    return usage_error(fmt::format("cannot parse {}: line {}: {}", file_name, line_no, what),
                       "fix the file (it uses the AWS CLI's INI format: [section] then key = value lines)");
  };
  for (const std::string& raw : split(text, '\n')) {
    ++line_no;
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string stripped = trim(line);
    if (stripped.empty() || stripped.front() == '#' || stripped.front() == ';') {
      // configparser keeps blank lines inside a multi-line value but a value never ends with
      // one; comments are skipped either way.
      continue;
    }
    size_t indent = line.find_first_not_of(" \t");
    if (last_value && indent > last_indent) {
      // Continuation of the previous value (botocore reads nested "s3 =" blocks this way).
      *last_value += "\n" + stripped;
      continue;
    }
    if (stripped.front() == '[') {
      auto close = stripped.rfind(']');
      if (close == std::string::npos || close < 2) return bad("a section header needs a closing ']'");
      current_name = stripped.substr(1, close - 1);
      if (ini.count(current_name)) return bad(fmt::format("section [{}] appears twice", current_name));
      current = &ini[current_name];
      last_value = nullptr;
      continue;
    }
    auto delim = stripped.find_first_of("=:");
    if (delim == std::string::npos) return bad(fmt::format("expected key = value, got \"{}\"", redact(stripped)));
    if (!current) return bad("key = value before any [section]");
    std::string key = to_lower(trim(std::string_view(stripped).substr(0, delim)));
    if (key.empty()) return bad("a key is empty");
    if (current->count(key)) return bad(fmt::format("key {} appears twice in section [{}]", key, current_name));
    last_value = &((*current)[key] = trim(std::string_view(stripped).substr(delim + 1)));
    last_indent = indent;
  }
  return ini;
}

std::map<std::string, IniSection> config_profiles(const IniFile& config) {
  std::map<std::string, IniSection> out;
  // "[profile default]" wins over "[default]", as in botocore.
  for (const auto& [name, section] : config) {
    if (name == "default") {
      if (!out.count("default")) out["default"] = section;
      continue;
    }
    auto ws = name.find_first_of(" \t");
    if (ws == std::string::npos || name.substr(0, ws) != "profile") continue;
    std::string profile = trim(std::string_view(name).substr(ws));
    if (!profile.empty()) out[profile] = section;
  }
  return out;
}

Result<std::vector<std::string>> shell_split(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      else word += c;
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\') {
        if (i + 1 >= command.size()) break;  // reported below as unclosed
        char next = command[i + 1];
        // Inside double quotes a backslash escapes only '\' and '"' (shlex), else stays.
        if (next == '\\' || next == '"') {
          word += next;
          ++i;
        } else {
          word += c;
        }
      } else {
        word += c;
      }
    } else if (is_space(c)) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= command.size())
        return usage_error(fmt::format("cannot split credential_process \"{}\": it ends with a lone backslash", command));
      word += command[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote)
    return usage_error(fmt::format("cannot split credential_process \"{}\": no closing quotation", command),
                       "close the quote in credential_process (it is split like a POSIX shell line)");
  if (in_word) words.push_back(std::move(word));
  return words;
}

Result<Credentials> parse_credential_process_output(std::string_view json_text, const std::string& source) {
  auto parsed = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object())
    return failure(fmt::format("{} did not print a JSON object", source),
                   "it must print {\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ..., \"SessionToken\": ...}");
  auto text = [&](const char* key) -> std::string {
    auto it = parsed.find(key);
    return it != parsed.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Credentials c;
  c.access_key_id = text("AccessKeyId");
  c.secret_access_key = text("SecretAccessKey");
  c.session_token = text("SessionToken");
  c.expiration = text("Expiration");
  c.expires_at = parse_iso8601(c.expiration);
  c.source = source;
  registered(c);
  auto version = parsed.find("Version");
  if (version == parsed.end() || !version->is_number_integer() || version->get<int>() != 1)
    return failure(fmt::format("{} printed an unsupported Version ({}); only Version 1 exists", source,
                               version == parsed.end() ? std::string("missing") : version->dump()));
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return failure(fmt::format("{} printed no {}", source, c.access_key_id.empty() ? "AccessKeyId" : "SecretAccessKey"));
  if (!c.expiration.empty()) {
    auto when = parse_iso8601(c.expiration);
    if (when && *when <= std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()))
      return failure(fmt::format("{} returned credentials that expired at {}", source, c.expiration),
                     "log in again (e.g. aws sso login) so the helper can fetch fresh credentials");
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Pure building blocks


RefreshNeed refresh_need(const Credentials& c, std::time_t now) {
  if (!c.expires_at) return RefreshNeed::None;
  const auto left = *c.expires_at - now;
  if (left < std::chrono::seconds(kMandatoryRefreshWindow).count()) return RefreshNeed::Mandatory;
  if (left < std::chrono::seconds(kAdvisoryRefreshWindow).count()) return RefreshNeed::Advisory;
  return RefreshNeed::None;
}

std::string python_json_string(std::string_view text) {
  std::string out = "\"";
  auto hex4 = [&](unsigned v) { out += fmt::format("\\u{:04x}", v); };
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) hex4(c);
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // UTF-8 sequence -> code point -> \uXXXX (surrogate pairs above the BMP), as ensure_ascii does.
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    unsigned cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < len && i + static_cast<size_t>(k) < text.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + static_cast<size_t>(k)]) & 0x3F);
    i += static_cast<size_t>(len);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      hex4(0xD800 + (cp >> 10));
      hex4(0xDC00 + (cp & 0x3FF));
    } else {
      hex4(cp);
    }
  }
  return out + "\"";
}

std::string assume_role_cache_key(const AssumeRoleCacheArgs& args) {
  // json.dumps(args, sort_keys=True): ", " and ": " separators, keys in code-point order.
  std::map<std::string, std::string> fields;
  if (args.duration_seconds) fields["DurationSeconds"] = std::to_string(*args.duration_seconds);
  if (args.external_id) fields["ExternalId"] = python_json_string(*args.external_id);
  fields["RoleArn"] = python_json_string(args.role_arn);
  if (args.role_session_name) fields["RoleSessionName"] = python_json_string(*args.role_session_name);
  if (args.serial_number) fields["SerialNumber"] = python_json_string(*args.serial_number);
  std::string json = "{";
  for (const auto& [key, value] : fields) {
    if (json.size() > 1) json += ", ";
    json += python_json_string(key) + ": " + value;
  }
  json += "}";
  return sha1_hex(json);  // hex digits: already file-safe
}

std::string sso_credentials_cache_key(const std::string& role_name, const std::string& account_id,
                                      const std::string& session_name, const std::string& start_url) {
  std::string json = "{\"accountId\":" + python_json_string(account_id) + ",\"roleName\":" + python_json_string(role_name);
  if (!session_name.empty()) json += ",\"sessionName\":" + python_json_string(session_name);
  else json += ",\"startUrl\":" + python_json_string(start_url);
  return sha1_hex(json + "}");
}

std::string sso_token_cache_file_name(std::string_view session_name_or_start_url) {
  return sha1_hex(session_name_or_start_url) + ".json";
}

bool container_url_allowed(std::string_view text) {
  auto url = parse_url(text);
  if (!url) return false;
  if (url->scheme == "https") return true;
  if (url->scheme != "http") return false;
  const std::string& host = url->host;
  // botocore ContainerMetadataFetcher._ALLOWED_HOSTS, plus any loopback address.
  if (host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23" || host == "localhost") return true;
  if (host == "::1") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

// ---------------------------------------------------------------------------------------------
// The resolver

namespace {

// botocore CachedCredentialFetcher.DEFAULT_EXPIRY_WINDOW_SECONDS: cached credentials closer
// than this to their expiry are fetched again.
constexpr auto kCacheExpiryWindow = std::chrono::minutes(15);
// botocore ContainerMetadataFetcher: TIMEOUT_SECONDS = 2, RETRY_ATTEMPTS = 3, SLEEP_TIME = 1.
constexpr auto kContainerTimeout = std::chrono::seconds(2);
constexpr int kContainerAttempts = 3;
constexpr auto kContainerRetryDelay = std::chrono::seconds(1);
// botocore's metadata_service_timeout (1 s) and metadata_service_num_attempts (1): a machine
// without IMDS (a laptop, CI) must not wait on 169.254.169.254.
constexpr auto kImdsTimeout = std::chrono::seconds(1);
constexpr int kImdsAttempts = 1;
// IMDSFetcher._TOKEN_TTL: the IMDSv2 session token lifetime asked for, in seconds.
constexpr std::string_view kImdsTokenTtl = "21600";
constexpr std::string_view kDefaultImdsEndpoint = "http://169.254.169.254/";
// ContainerMetadataFetcher.IP_ADDRESS: where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points.
constexpr std::string_view kEcsCredentialsHost = "http://169.254.170.2";
// Where the STS request goes when no region is configured: botocore's global endpoint.
constexpr std::string_view kStsGlobalEndpoint = "https://sts.amazonaws.com";
constexpr std::string_view kStsGlobalRegion = "us-east-1";

Error start_error(std::string message, std::string hint, std::string tag = "credentials") {
  return Error{ExitCode::CannotStart, std::move(message), std::move(hint), std::move(tag)};
}

// A failure of a configured source stops the chain (as in botocore) with ExitCode::CannotStart;
// configuration mistakes keep their usage code.
Error as_start_error(Error e, const std::string& what) {
  e.message = what + ": " + e.message;
  if (e.code != ExitCode::Usage && e.code != ExitCode::Interrupted) e.code = ExitCode::CannotStart;
  return e;
}

std::time_t now_epoch() { return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()); }

std::string format_epoch(std::time_t t) {
  return iso8601(std::chrono::system_clock::from_time_t(t));
}

bool env_is_true(const char* name) { return to_lower(trim(env(name).value_or(""))) == "true"; }

std::filesystem::path cli_cache_dir() { return std::filesystem::path(home_dir()) / ".aws" / "cli" / "cache"; }
std::filesystem::path sso_cache_dir() { return std::filesystem::path(home_dir()) / ".aws" / "sso" / "cache"; }

// The [sso-session NAME] sections of the config file.
std::map<std::string, IniSection> sso_sessions(const IniFile& config) {
  std::map<std::string, IniSection> out;
  for (const auto& [name, section] : config) {
    auto ws = name.find_first_of(" \t");
    if (ws == std::string::npos || name.substr(0, ws) != "sso-session") continue;
    std::string session = trim(std::string_view(name).substr(ws));
    if (!session.empty()) out[session] = section;
  }
  return out;
}

std::optional<std::string> key_of(const IniSection& section, const std::string& key) {
  auto it = section.find(key);
  if (it == section.end()) return std::nullopt;
  return it->second;
}

bool has_static(const IniSection& s) { return s.count("aws_access_key_id") || s.count("aws_secret_access_key"); }
bool has_role(const IniSection& s) { return s.count("role_arn") && !s.count("web_identity_token_file"); }

// A credentials JSON object as the AWS CLI caches it ({"Credentials": {...}}).
std::optional<Credentials> credentials_from_cache_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("Credentials") || !j["Credentials"].is_object()) return std::nullopt;
  const auto& c = j["Credentials"];
  auto text = [&](const char* key) {
    return c.contains(key) && c[key].is_string() ? c[key].get<std::string>() : std::string();
  };
  Credentials out;
  out.access_key_id = text("AccessKeyId");
  out.secret_access_key = text("SecretAccessKey");
  out.session_token = text("SessionToken");
  out.expiration = text("Expiration");
  out.account_id = text("AccountId");
  out.expires_at = parse_iso8601(out.expiration);
  if (out.access_key_id.empty() || out.secret_access_key.empty() || !out.expires_at) return std::nullopt;
  return registered(std::move(out));
}

// Cached credentials under `key`, unless missing, unreadable or within kCacheExpiryWindow.
std::optional<Credentials> load_cached(const std::string& key) {
  auto path = cli_cache_dir() / (key + ".json");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  auto text = read_file(path);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto c = credentials_from_cache_json(j);
  if (!c) return std::nullopt;
  if (*c->expires_at - now_epoch() < std::chrono::seconds(kCacheExpiryWindow).count()) {
    log_debug("credentials: cached credentials {} expire at {}: fetching new ones", display_path(path), c->expiration);
    return std::nullopt;
  }
  log_debug("credentials: using cached credentials {} (valid until {})", display_path(path), c->expiration);
  return c;
}

void store_cached(const std::string& key, const Credentials& c, nlohmann::json extra) {
  nlohmann::json j = std::move(extra);
  j["Credentials"] = {{"AccessKeyId", c.access_key_id},
                      {"SecretAccessKey", c.secret_access_key},
                      {"SessionToken", c.session_token},
                      {"Expiration", c.expiration}};
  if (!c.account_id.empty()) j["Credentials"]["AccountId"] = c.account_id;
  auto path = cli_cache_dir() / (key + ".json");
  if (auto st = write_private_file(path, j.dump()); !st)
    log_debug("credentials: cannot cache credentials in {}: {}", display_path(path), st.error().message);
}

// The HTTP status of a reply, or the transport's error, for messages.
std::string describe_reply(const Result<HttpResponse>& r) {
  if (!r) return r.error().message;
  std::string body = trim(redact(r->body.substr(0, 200)));
  return body.empty() ? fmt::format("HTTP {}", r->status) : fmt::format("HTTP {}: {}", r->status, body);
}

class Resolver {
 public:
  Resolver(std::string_view explicit_profile, ProfileSources sources)
      : explicit_profile_(explicit_profile),
        profile_(resolve_profile_name(explicit_profile)),
        explicit_choice_(!explicit_profile.empty()),
        sources_(std::move(sources)) {
    visited_.push_back(profile_);
  }

  Result<Credentials> resolve();

 private:
  Result<std::optional<Credentials>> from_env(bool explicit_choice);
  Result<Credentials> assume_role(const std::string& name);
  Result<Credentials> source_profile_credentials(const std::string& name);
  Result<std::optional<Credentials>> profile_chain(const std::string& name, bool env_allowed);
  Result<std::optional<Credentials>> web_identity(const std::string& name, bool env_allowed);
  Result<std::optional<Credentials>> sso(const std::string& name);
  Result<std::optional<Credentials>> container();
  Result<std::optional<Credentials>> instance_metadata();
  Result<AwsClient*> sts_client(const Credentials& source, bool anonymous);
  HttpTransport& transport() {
    if (!transport_) transport_ = std::make_unique<CurlTransport>();
    return *transport_;
  }
  std::string sts_region() const;

  std::string explicit_profile_;
  std::string profile_;
  bool explicit_choice_;
  ProfileSources sources_;
  std::vector<std::string> looked_;
  std::vector<std::string> visited_;
  SystemClock clock_;
  std::unique_ptr<CurlTransport> transport_;
  std::unique_ptr<AwsClient> sts_;
};

std::string Resolver::sts_region() const {
  if (auto r = env("AWS_REGION")) return *r;
  if (auto r = env("AWS_DEFAULT_REGION")) return *r;
  IniSection merged = sources_.merged(profile_);
  return value_or_empty(merged, "region");
}

Result<AwsClient*> Resolver::sts_client(const Credentials& source, bool anonymous) {
  std::string region = sts_region();
  AwsClientConfig config = AwsClientConfig::for_service("sts", region.empty() ? std::string(kStsGlobalRegion) : region,
                                                        source);
  if (region.empty() && config.endpoint == endpoint_url("sts", std::string(kStsGlobalRegion)) &&
      !env("AWS_ENDPOINT_URL_STS") && !env("AWS_ENDPOINT_URL"))
    config.endpoint = std::string(kStsGlobalEndpoint);
  config.anonymous = anonymous;
  sts_ = std::make_unique<AwsClient>(std::move(config), transport(), clock_);
  return sts_.get();
}

Result<std::optional<Credentials>> Resolver::from_env(bool explicit_choice) {
  auto env_id = env("AWS_ACCESS_KEY_ID");
  auto env_secret = env("AWS_SECRET_ACCESS_KEY");
  if (explicit_choice) {
    if (env_id || env_secret)
      looked_.push_back(fmt::format("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (ignored: profile "
                                    "{} was chosen explicitly, as with aws --profile)",
                                    profile_));
    return std::optional<Credentials>();
  }
  if (env_id && env_secret) {
    Credentials c;
    c.access_key_id = *env_id;
    c.secret_access_key = *env_secret;
    c.session_token = env("AWS_SESSION_TOKEN").value_or(env("AWS_SECURITY_TOKEN").value_or(""));
    c.source = "environment";
    if (auto exp = env("AWS_CREDENTIAL_EXPIRATION")) {
      c.expiration = *exp;
      c.expires_at = parse_iso8601(*exp);
    }
    return std::optional<Credentials>(registered(std::move(c)));
  }
  if (env_id || env_secret) {
    if (env_secret) register_secret(*env_secret);
    return usage_error(fmt::format("{} is set but {} is not", env_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                                   env_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"),
                       "export both variables (and AWS_SESSION_TOKEN for temporary credentials), or unset both to "
                       "use a profile");
  }
  looked_.push_back("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)");
  return std::optional<Credentials>();
}

Result<Credentials> Resolver::assume_role(const std::string& name) {
  const IniSection section = sources_.merged(name);
  const std::string role_arn = value_or_empty(section, "role_arn");
  auto source_profile = key_of(section, "source_profile");
  auto credential_source = key_of(section, "credential_source");
  const std::string where = fmt::format("profile {} (role_arn {})", name, role_arn);
  if (source_profile && credential_source)
    return usage_error(fmt::format("profile {} has both source_profile and credential_source", name),
                       "keep one: source_profile names the profile whose credentials assume the role, "
                       "credential_source says Environment, EcsContainer or Ec2InstanceMetadata");
  if (!source_profile && !credential_source)
    return usage_error(fmt::format("profile {} has role_arn but neither source_profile nor credential_source", name),
                       fmt::format("add `source_profile = <profile with credentials>` (or credential_source) to "
                                   "profile {} in {}",
                                   name, display_path(sources_.config_file.path)));

  Credentials source;
  std::string source_desc;
  if (credential_source) {
    const std::string& cs = *credential_source;
    std::optional<Credentials> found;
    if (cs == "Environment") {
      RB_TRY_ASSIGN(found, from_env(false));
    } else if (cs == "EcsContainer") {
      RB_TRY_ASSIGN(found, container());
    } else if (cs == "Ec2InstanceMetadata") {
      RB_TRY_ASSIGN(found, instance_metadata());
    } else {
      return usage_error(fmt::format("profile {}: credential_source \"{}\" is not valid", name, cs),
                         "use Environment, EcsContainer or Ec2InstanceMetadata");
    }
    if (!found)
      return start_error(fmt::format("profile {}: no credentials found in credential_source {}", name, cs),
                         cs == "Environment" ? "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                         : cs == "EcsContainer"
                             ? "run inside an ECS task or EKS pod (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI)"
                             : "run on an EC2 instance with an instance profile (and AWS_EC2_METADATA_DISABLED unset)");
    source = std::move(*found);
    source_desc = cs;
  } else {
    const std::string& sp = *source_profile;
    if (!sources_.in_config(sp) && !sources_.in_credentials(sp))
      return usage_error(fmt::format("profile {}: source_profile \"{}\" does not exist", name, sp),
                         "defined profiles: " + join(sources_.profile_names(), ", "));
    bool seen = std::find(visited_.begin(), visited_.end(), sp) != visited_.end();
    if (seen && (sp != name || !has_static(sources_.merged(sp))))
      return usage_error(fmt::format("profile {}: source_profile {} makes a loop ({} -> {})", name, sp,
                                     join(visited_, " -> "), sp),
                         "point source_profile at a profile that has credentials of its own");
    visited_.push_back(sp);
    RB_TRY_ASSIGN(source, source_profile_credentials(sp));
    source_desc = "profile " + sp;
  }

  AssumeRoleRequest request;
  request.role_arn = role_arn;
  AssumeRoleCacheArgs cache_args;
  cache_args.role_arn = role_arn;
  if (auto v = key_of(section, "role_session_name"); v && !v->empty()) {
    request.role_session_name = *v;
    cache_args.role_session_name = *v;
  } else {
    request.role_session_name = fmt::format("botocore-session-{}", now_epoch());
  }
  if (auto v = key_of(section, "external_id")) {
    request.external_id = *v;
    cache_args.external_id = *v;
  }
  if (auto v = key_of(section, "mfa_serial")) {
    request.serial_number = *v;
    cache_args.serial_number = *v;
  }
  if (auto v = key_of(section, "duration_seconds")) {
    int n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec == std::errc() && end == v->data() + v->size()) {
      request.duration_seconds = n;
      cache_args.duration_seconds = n;
    }
  }
  const std::string key = assume_role_cache_key(cache_args);
  const std::string description = fmt::format("assume-role {} (profile {}, from {})", role_arn, name, source_desc);
  if (auto cached = load_cached(key)) {
    cached->source = description;
    return *cached;
  }
  if (!request.serial_number.empty()) {
    if (!stdin_is_terminal())
      return start_error(fmt::format("profile {} needs an MFA code for {} and there is no terminal to ask", name,
                                     request.serial_number),
                         fmt::format("run rollback from a terminal, or sign in once with the AWS CLI (`aws sts "
                                     "get-caller-identity --profile {}`): its cached credentials are reused",
                                     name));
    auto code = prompt_line(fmt::format("Enter MFA code for {}: ", request.serial_number));
    if (!code) return interrupted_error("no MFA code given");
    request.token_code = trim(*code);
    if (request.token_code.empty())
      return start_error(fmt::format("no MFA code given for {}", request.serial_number),
                         "type the current code of your MFA device");
  }
  RB_TRY_ASSIGN(AwsClient * sts, sts_client(source, false));
  auto assumed = rb::aws::assume_role(*sts, request);
  if (!assumed)
    return as_start_error(assumed.take_error(), fmt::format("cannot assume role {} for profile {} with credentials "
                                                            "from {}",
                                                            role_arn, name, source.source));
  Credentials c = std::move(assumed->credentials);
  c.source = description;
  store_cached(key, c, {{"AssumedRoleUser", {{"Arn", assumed->assumed_role_arn}}}});
  return c;
}

Result<Credentials> Resolver::source_profile_credentials(const std::string& name) {
  IniSection section = sources_.merged(name);
  if (has_static(section) || !has_role(section)) {
    RB_TRY_ASSIGN(auto found, profile_chain(name, false));
    if (!found)
      return usage_error(fmt::format("the source profile {} has no credentials", name),
                         fmt::format("give profile {} keys (aws configure --profile {}), SSO settings or a "
                                     "credential_process",
                                     name, name));
    return std::move(*found);
  }
  return assume_role(name);
}

Result<std::optional<Credentials>> Resolver::profile_chain(const std::string& name, bool env_allowed) {
  RB_TRY_ASSIGN(auto web, web_identity(name, env_allowed));
  if (web) return web;
  RB_TRY_ASSIGN(auto sso_creds, sso(name));
  if (sso_creds) return sso_creds;

  const auto& cred_path = sources_.credentials_file.path;
  const auto& conf_path = sources_.config_file.path;
  const IniSection* in_creds = sources_.in_credentials(name);
  const IniSection* in_conf = sources_.in_config(name);
  if (!sources_.credentials_file.exists) {
    looked_.push_back(display_path(cred_path) + " (no such file)");
  } else if (!in_creds) {
    looked_.push_back(fmt::format("{} (no [{}] section)", display_path(cred_path), name));
  } else {
    RB_TRY_ASSIGN(auto keys, static_keys(*in_creds, name, cred_path));
    if (keys) return keys;
    looked_.push_back(fmt::format("{} [{}] (no aws_access_key_id)", display_path(cred_path), name));
  }

  IniSection merged = sources_.merged(name);
  if (auto it = merged.find("credential_process"); it != merged.end() && !it->second.empty()) {
    RB_TRY_ASSIGN(Credentials c, run_credential_process(it->second, name));
    return std::optional<Credentials>(std::move(c));
  }

  std::string conf_section = name == "default" ? "[default]" : "[profile " + name + "]";
  if (!sources_.config_file.exists) {
    looked_.push_back(display_path(conf_path) + " (no such file)");
  } else if (!in_conf) {
    looked_.push_back(fmt::format("{} (no {} section)", display_path(conf_path), conf_section));
  } else {
    RB_TRY_ASSIGN(auto keys, static_keys(*in_conf, name, conf_path));
    if (keys) return keys;
    looked_.push_back(
        fmt::format("{} {} (no aws_access_key_id or credential_process)", display_path(conf_path), conf_section));
  }
  return std::optional<Credentials>();
}

Result<std::optional<Credentials>> Resolver::web_identity(const std::string& name, bool env_allowed) {
  const IniSection section = sources_.merged(name);
  // botocore AssumeRoleWithWebIdentityProvider._get_config: each key from its variable first.
  auto get = [&](const char* var, const char* key) -> std::optional<std::string> {
    if (const char* v = std::getenv(var); env_allowed && v) return std::string(v);
    return key_of(section, key);
  };
  auto token_file = get("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file");
  if (!token_file || token_file->empty()) return std::optional<Credentials>();
  auto role_arn = get("AWS_ROLE_ARN", "role_arn");
  if (!role_arn || role_arn->empty())
    return usage_error(fmt::format("web identity is configured (token file {}) but no role ARN is", *token_file),
                       "export AWS_ROLE_ARN or set role_arn in profile " + name);
  AssumeRoleCacheArgs cache_args;
  cache_args.role_arn = *role_arn;
  std::string session_name;
  if (auto s = get("AWS_ROLE_SESSION_NAME", "role_session_name"); s && !s->empty()) {
    session_name = *s;
    cache_args.role_session_name = *s;
  } else {
    session_name = fmt::format("botocore-session-{}", now_epoch());
  }
  const std::string description = fmt::format("web identity {} (token {})", *role_arn, display_path(expand_user(*token_file)));
  const std::string key = assume_role_cache_key(cache_args);
  if (auto cached = load_cached(key)) {
    cached->source = description;
    return cached;
  }
  auto token = read_file(expand_user(*token_file));
  if (!token)
    return start_error(fmt::format("cannot read the web identity token file {}: {}", *token_file,
                                   token.error().message),
                       "check AWS_WEB_IDENTITY_TOKEN_FILE / web_identity_token_file (the CI's OIDC token file)");
  register_secret(*token);
  RB_TRY_ASSIGN(AwsClient * sts, sts_client(Credentials{}, true));
  auto assumed = assume_role_with_web_identity(*sts, *role_arn, session_name, *token);
  if (!assumed)
    return as_start_error(assumed.take_error(), fmt::format("cannot assume role {} with the web identity token in {}",
                                                            *role_arn, *token_file));
  Credentials c = std::move(assumed->credentials);
  c.source = description;
  store_cached(key, c, {{"AssumedRoleUser", {{"Arn", assumed->assumed_role_arn}}}});
  return std::optional<Credentials>(std::move(c));
}

Result<std::optional<Credentials>> Resolver::sso(const std::string& name) {
  IniSection config = sources_.merged(name);
  if (!config.count("sso_role_name") && !config.count("sso_account_id")) return std::optional<Credentials>();
  const std::string login_hint = fmt::format("run `aws sso login --profile {}` and try again", name);
  std::vector<std::string> required = {"sso_role_name", "sso_account_id", "sso_start_url", "sso_region"};
  std::string session_name;
  if (auto s = key_of(config, "sso_session")) {
    session_name = *s;
    auto sessions = sso_sessions(sources_.config_file.ini);
    auto it = sessions.find(session_name);
    if (it == sessions.end())
      return usage_error(fmt::format("profile {}: the sso-session \"{}\" does not exist in {}", name, session_name,
                                     display_path(sources_.config_file.path)),
                         fmt::format("add an [sso-session {}] section with sso_start_url and sso_region (aws "
                                     "configure sso)",
                                     session_name));
    for (const auto& [k, v] : it->second) {
      if (auto mine = key_of(config, k); mine && *mine != v)
        return usage_error(fmt::format("profile {}: {} is {} in the profile but {} in sso-session {}", name, k, *mine,
                                       v, session_name),
                           "keep the value in one place (the sso-session section)");
      config[k] = v;
    }
    required.push_back("sso_session");
  }
  std::vector<std::string> missing;
  for (const auto& k : required)
    if (!config.count(k)) missing.push_back(k);
  if (!missing.empty())
    return usage_error(fmt::format("profile {} is configured to use SSO but is missing {}", name, join(missing, ", ")),
                       fmt::format("run `aws configure sso --profile {}` or add the keys", name));
  const std::string role = config["sso_role_name"], account = config["sso_account_id"];
  const std::string start_url = config["sso_start_url"], sso_region = config["sso_region"];
  const std::string description = fmt::format("SSO {} / {} (profile {})", account, role, name);

  const std::string key = sso_credentials_cache_key(role, account, session_name, start_url);
  if (auto cached = load_cached(key)) {
    cached->source = description;
    return cached;
  }

  // The token `aws sso login` cached.
  auto token_path = sso_cache_dir() / sso_token_cache_file_name(session_name.empty() ? start_url : session_name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(token_path, ec))
    return start_error(fmt::format("profile {}: not signed in to IAM Identity Center ({} has no token: {} does not "
                                   "exist)",
                                   name, session_name.empty() ? start_url : "sso-session " + session_name,
                                   display_path(token_path)),
                       login_hint, "sso-login");
  RB_TRY_ASSIGN(std::string token_text, read_file(token_path));
  auto token_json = nlohmann::json::parse(token_text, nullptr, /*allow_exceptions=*/false);
  std::string access_token, expires_at;
  if (token_json.is_object()) {
    access_token = token_json.value("accessToken", "");
    expires_at = token_json.value("expiresAt", "");
  }
  register_secret(access_token);
  if (auto rt = token_json.is_object() ? token_json.value("refreshToken", "") : std::string(); !rt.empty())
    register_secret(rt);
  if (access_token.empty() || expires_at.empty())
    return start_error(fmt::format("profile {}: the SSO token in {} is invalid (no accessToken/expiresAt)", name,
                                   display_path(token_path)),
                       login_hint, "sso-login");
  auto expiry = parse_iso8601(expires_at);
  if (!expiry || *expiry <= now_epoch())
    return start_error(fmt::format("profile {}: the IAM Identity Center session expired at {}", name, expires_at),
                       login_hint, "sso-login");

  // GetRoleCredentials: GET /federation/credentials, unsigned, the token in a header.
  std::string endpoint = endpoint_url("sso", sso_region);
  if (endpoint == "https://sso." + sso_region + (sso_region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com"))
    endpoint = "https://portal.sso." + sso_region +
               (sso_region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com");
  HttpRequest request;
  request.method = "GET";
  request.url = endpoint + "/federation/credentials?" + encode_query({{"role_name", role}, {"account_id", account}});
  request.headers.emplace_back("x-amz-sso_bearer_token", access_token);
  auto reply = transport().send(request);
  if (!reply || reply->status != 200) {
    bool unauthorized = reply && (reply->status == 401 || reply->status == 403);
    return start_error(fmt::format("profile {}: IAM Identity Center GetRoleCredentials ({} for account {}) at {} "
                                   "failed: {}",
                                   name, role, account, endpoint, describe_reply(reply)),
                       unauthorized ? login_hint + " (the session was refused)"
                                    : "check sso_region/sso_account_id/sso_role_name and the network, then " +
                                          login_hint,
                       unauthorized ? "sso-login" : "sso");
  }
  auto body = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("roleCredentials") || !body["roleCredentials"].is_object())
    return start_error(fmt::format("profile {}: IAM Identity Center returned no roleCredentials", name),
                       "check AWS_ENDPOINT_URL_SSO / sso_region");
  const auto& rc = body["roleCredentials"];
  Credentials c;
  c.access_key_id = rc.value("accessKeyId", "");
  c.secret_access_key = rc.value("secretAccessKey", "");
  c.session_token = rc.value("sessionToken", "");
  long long expiration_ms = rc.contains("expiration") && rc["expiration"].is_number() ? rc["expiration"].get<long long>() : 0;
  c.expires_at = static_cast<std::time_t>(expiration_ms / 1000);
  c.expiration = format_epoch(*c.expires_at);
  c.account_id = account;
  c.source = description;
  registered(c);
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return start_error(fmt::format("profile {}: IAM Identity Center returned incomplete roleCredentials", name),
                       login_hint);
  store_cached(key, c, {{"ProviderType", "sso"}});
  return std::optional<Credentials>(std::move(c));
}

Result<std::optional<Credentials>> Resolver::container() {
  auto relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!relative && !full) {
    looked_.push_back("container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI not set)");
    return std::optional<Credentials>();
  }
  std::string url = relative ? std::string(kEcsCredentialsHost) + *relative : *full;
  if (!container_url_allowed(url))
    return usage_error(fmt::format("AWS_CONTAINER_CREDENTIALS_FULL_URI {} is not allowed", url),
                       "it must be https, or http on a loopback address or 169.254.170.2 / 169.254.170.23 / "
                       "fd00:ec2::23 (as in the AWS SDKs)");
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  std::optional<std::string> auth;
  if (auto file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    auto text = read_file(*file);
    if (!text)
      return start_error(fmt::format("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}: {}", *file,
                                     text.error().message),
                         "check the pod's token mount");
    auth = *text;
  } else if (auto token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    auth = *token;
  }
  if (auth) {
    register_secret(*auth);
    if (auth->find_first_of("\r\n") != std::string::npos)
      return usage_error("the container authorization token contains a line break",
                         "check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)");
    request.headers.emplace_back("Authorization", *auth);
  }
  CurlTransport http(kContainerTimeout, kContainerTimeout);
  std::string last;
  for (int attempt = 1; attempt <= kContainerAttempts; ++attempt) {
    auto reply = http.send(request);
    if (reply && reply->status == 200) {
      auto j = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
      if (j.is_object()) {
        Credentials c;
        c.access_key_id = j.value("AccessKeyId", "");
        c.secret_access_key = j.value("SecretAccessKey", "");
        c.session_token = j.value("Token", "");
        c.expiration = j.value("Expiration", "");
        c.account_id = j.value("AccountId", "");
        c.expires_at = parse_iso8601(c.expiration);
        c.source = "container credentials (" + redact(url) + ")";
        registered(c);
        if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return std::optional<Credentials>(std::move(c));
      }
      last = "a reply without AccessKeyId/SecretAccessKey";
    } else {
      last = describe_reply(reply);
    }
    if (attempt < kContainerAttempts && !clock_.sleep_for(kContainerRetryDelay))
      return interrupted_error("interrupted while fetching container credentials");
  }
  return start_error(fmt::format("the container credentials endpoint {} failed {} times: {}", redact(url),
                                 kContainerAttempts, last),
                     "check the task role (ECS) or pod identity (EKS), and AWS_CONTAINER_CREDENTIALS_*");
}

Result<std::optional<Credentials>> Resolver::instance_metadata() {
  if (env_is_true("AWS_EC2_METADATA_DISABLED")) {
    looked_.push_back("EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)");
    return std::optional<Credentials>();
  }
  std::string base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                         .value_or(value_or_empty(sources_.merged(profile_), "ec2_metadata_service_endpoint"));
  if (base.empty()) base = std::string(kDefaultImdsEndpoint);
  if (!base.ends_with("/")) base += "/";
  CurlTransport http(kImdsTimeout, kImdsTimeout);
  auto nothing = [&](const std::string& why) {
    looked_.push_back(fmt::format("EC2 instance metadata at {} ({})", base, why));
    log_debug("credentials: no instance metadata credentials: {}", why);
    return std::optional<Credentials>();
  };
  // IMDSv2: a session token first (PUT), then GETs carrying it; 403/404/405 mean IMDSv1 only.
  std::optional<std::string> token;
  for (int attempt = 1; attempt <= kImdsAttempts; ++attempt) {
    HttpRequest put{"PUT", base + "latest/api/token", {{"x-aws-ec2-metadata-token-ttl-seconds", std::string(kImdsTokenTtl)}}, {}};
    auto reply = http.send(put);
    if (!reply) {
      if (reply.error().tag == kTagConnectionNotSent) return nothing("no answer: " + reply.error().message);
      continue;  // a read timeout: try without a token, as botocore does
    }
    if (reply->status == 200) {
      token = reply->body;
      register_secret(*token);
      break;
    }
    if (reply->status == 400) return nothing("the token request was refused (HTTP 400)");
    break;
  }
  auto get = [&](const std::string& path) -> Result<HttpResponse> {
    HttpRequest request{"GET", base + path, {}, {}};
    if (token) request.headers.emplace_back("x-aws-ec2-metadata-token", *token);
    Result<HttpResponse> last = http.send(request);
    for (int attempt = 2; attempt <= kImdsAttempts && (!last || last->status != 200); ++attempt) last = http.send(request);
    return last;
  };
  const std::string prefix = "latest/meta-data/iam/security-credentials/";
  auto role = get(prefix);
  if (!role || role->status != 200 || trim(role->body).empty()) return nothing("no instance role: " + describe_reply(role));
  std::string role_name = trim(role->body);
  auto creds = get(prefix + role_name);
  if (!creds || creds->status != 200) return nothing("role " + role_name + ": " + describe_reply(creds));
  auto j = nlohmann::json::parse(creds->body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("AccessKeyId") || !j.contains("SecretAccessKey") || !j.contains("Token") ||
      !j.contains("Expiration"))
    return nothing("role " + role_name + ": incomplete credentials");
  Credentials c;
  c.access_key_id = j.value("AccessKeyId", "");
  c.secret_access_key = j.value("SecretAccessKey", "");
  c.session_token = j.value("Token", "");
  c.expiration = j.value("Expiration", "");
  c.expires_at = parse_iso8601(c.expiration);
  c.source = "EC2 instance metadata (role " + role_name + ")";
  return std::optional<Credentials>(registered(std::move(c)));
}

Result<Credentials> Resolver::resolve() {
  RB_TRY_ASSIGN(auto from_environment, from_env(explicit_choice_));
  if (from_environment) return std::move(*from_environment);

  const IniSection* in_creds = sources_.in_credentials(profile_);
  const IniSection* in_conf = sources_.in_config(profile_);
  if (!in_creds && !in_conf && profile_ != "default") {
    auto names = sources_.profile_names();
    std::string hint;
    if (auto close = closest_match(profile_, names)) hint = fmt::format("did you mean profile {}? ", *close);
    hint += names.empty() ? "no profiles are defined; create one with aws configure --profile " + profile_
                          : "defined profiles: " + join(names, ", ");
    return usage_error(fmt::format("AWS profile {} not found in {} or {}", profile_,
                                   display_path(sources_.credentials_file.path),
                                   display_path(sources_.config_file.path)),
                       hint);
  }

  if (has_role(sources_.merged(profile_))) return assume_role(profile_);
  RB_TRY_ASSIGN(auto from_profile, profile_chain(profile_, !explicit_choice_));
  if (from_profile) return std::move(*from_profile);
  RB_TRY_ASSIGN(auto from_container, container());
  if (from_container) return std::move(*from_container);
  RB_TRY_ASSIGN(auto from_imds, instance_metadata());
  if (from_imds) return std::move(*from_imds);

  return usage_error(
      fmt::format("no AWS credentials found for profile {}; looked in: {}", profile_, join(looked_, "; ")),
      fmt::format("export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), run `aws configure "
                  "--profile {}` (or `aws configure sso`), or set aws_profile in rollback.yaml to a profile that has "
                  "credentials",
                  profile_));
}

}  // namespace

Result<Credentials> resolve_credentials(std::string_view explicit_profile) {
  RB_TRY_ASSIGN(ProfileSources sources, load_sources());
  Resolver resolver(explicit_profile, std::move(sources));
  RB_TRY_ASSIGN(Credentials c, resolver.resolve());
  if (c.expires_at && !c.refresh) {
    std::string profile(explicit_profile);
    c.refresh = [profile]() { return resolve_credentials(profile); };
  }
  log_debug("credentials: {}{}", c.source, c.expiration.empty() ? "" : " (until " + c.expiration + ")");
  return c;
}

Result<std::string> resolve_region(std::string_view explicit_profile, std::string_view fallback_region) {
  if (auto r = env("AWS_REGION")) return *r;
  if (auto r = env("AWS_DEFAULT_REGION")) return *r;
  const std::string profile = resolve_profile_name(explicit_profile);
  RB_TRY_ASSIGN(ProfileSources sources, load_sources());
  IniSection merged = sources.merged(profile);
  if (auto it = merged.find("region"); it != merged.end() && !it->second.empty()) return it->second;
  if (!fallback_region.empty()) return std::string(fallback_region);
  return usage_error(
      fmt::format("no AWS region: AWS_REGION and AWS_DEFAULT_REGION are not set, profile {} has no region in {}, and "
                  "the configuration names none",
                  profile, display_path(sources.config_file.path)),
      "set region in rollback.yaml, export AWS_REGION, or run `aws configure set region <region> --profile " + profile +
          "`");
}

}  // namespace rb::aws
