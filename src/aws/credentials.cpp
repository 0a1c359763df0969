#include "aws/credentials.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::aws {

namespace {

// How long a credential_process may run. The AWS CLI waits forever; a helper that hangs (an
// MFA prompt with no terminal, a dead SSO agent) would stall an emergency rollback, and a
// real helper answers in seconds.
constexpr auto kCredentialProcessTimeout = std::chrono::minutes(2);

// Profile keys naming credential sources this tool does not implement (botocore tries them
// before the static keys of a profile, so a profile holding them must not silently fall back).
constexpr std::string_view kUnsupportedSourceKeys[] = {"role_arn", "sso_session", "sso_start_url",
                                                       "web_identity_token_file"};

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

// "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123+00:00" as seconds since the epoch (time_t,
// not a time_point: nanosecond clocks overflow after 2262); nullopt when unparsable.
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
  if (rest == "Z" || rest.empty()) {
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

Result<Credentials> resolve_credentials(std::string_view explicit_profile) {
  const std::string profile = resolve_profile_name(explicit_profile);
  const bool explicit_choice = !explicit_profile.empty();
  std::vector<std::string> looked;

  // 1. Environment variables, unless a profile was chosen explicitly.
  auto env_id = env("AWS_ACCESS_KEY_ID");
  auto env_secret = env("AWS_SECRET_ACCESS_KEY");
  if (explicit_choice) {
    if (env_id || env_secret)
      looked.push_back(fmt::format("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (ignored: profile {} "
                                   "was chosen explicitly, as with aws --profile)",
                                   profile));
  } else if (env_id && env_secret) {
    Credentials c;
    c.access_key_id = *env_id;
    c.secret_access_key = *env_secret;
    c.session_token = env("AWS_SESSION_TOKEN").value_or(env("AWS_SECURITY_TOKEN").value_or(""));
    c.source = "environment";
    return registered(std::move(c));
  } else if (env_id || env_secret) {
    if (env_secret) register_secret(*env_secret);
    return usage_error(fmt::format("{} is set but {} is not", env_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                                   env_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"),
                       "export both variables (and AWS_SESSION_TOKEN for temporary credentials), or unset both to "
                       "use a profile");
  } else {
    looked.push_back("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)");
  }

  RB_TRY_ASSIGN(ProfileSources sources, load_sources());
  const auto& cred_path = sources.credentials_file.path;
  const auto& conf_path = sources.config_file.path;
  const IniSection* in_creds = sources.in_credentials(profile);
  const IniSection* in_conf = sources.in_config(profile);

  if (!in_creds && !in_conf && profile != "default") {
    auto names = sources.profile_names();
    std::string hint;
    if (auto close = closest_match(profile, names)) hint = fmt::format("did you mean profile {}? ", *close);
    hint += names.empty() ? "no profiles are defined; create one with aws configure --profile " + profile
                          : "defined profiles: " + join(names, ", ");
    return usage_error(fmt::format("AWS profile {} not found in {} or {}", profile, display_path(cred_path),
                                   display_path(conf_path)),
                       hint);
  }

  IniSection merged = sources.merged(profile);
  for (std::string_view key : kUnsupportedSourceKeys) {
    if (merged.count(std::string(key))) {
      return usage_error(
          fmt::format("profile {} gets its credentials through {} ({}), which rollback does not implement", profile,
                      key == "role_arn" ? "assume-role" : key == "web_identity_token_file" ? "web identity" : "SSO", key),
          fmt::format("let the AWS CLI resolve them: add a profile with `credential_process = aws configure "
                      "export-credentials --profile {} --format process` (AWS CLI v2), or export the variables printed "
                      "by `aws configure export-credentials --profile {} --format env`",
                      profile, profile));
    }
  }

  // 2. Static keys in the credentials file.
  if (!sources.credentials_file.exists) {
    looked.push_back(display_path(cred_path) + " (no such file)");
  } else if (!in_creds) {
    looked.push_back(fmt::format("{} (no [{}] section)", display_path(cred_path), profile));
  } else {
    RB_TRY_ASSIGN(auto keys, static_keys(*in_creds, profile, cred_path));
    if (keys) return *keys;
    looked.push_back(fmt::format("{} [{}] (no aws_access_key_id)", display_path(cred_path), profile));
  }

  // 3. credential_process, from either file.
  if (auto it = merged.find("credential_process"); it != merged.end() && !it->second.empty()) {
    return run_credential_process(it->second, profile);
  }

  // 4. Static keys in the config file.
  std::string conf_section = profile == "default" ? "[default]" : "[profile " + profile + "]";
  if (!sources.config_file.exists) {
    looked.push_back(display_path(conf_path) + " (no such file)");
  } else if (!in_conf) {
    looked.push_back(fmt::format("{} (no {} section)", display_path(conf_path), conf_section));
  } else {
    RB_TRY_ASSIGN(auto keys, static_keys(*in_conf, profile, conf_path));
    if (keys) return *keys;
    looked.push_back(fmt::format("{} {} (no aws_access_key_id or credential_process)", display_path(conf_path),
                                 conf_section));
  }

  return usage_error(
      fmt::format("no AWS credentials found for profile {}; looked in: {}", profile, join(looked, "; ")),
      fmt::format("export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), run `aws configure "
                  "--profile {}`, or set aws_profile in rollback.yaml to a profile that has credentials "
                  "(instance and container roles are not supported)",
                  profile));
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
