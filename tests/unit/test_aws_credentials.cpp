// Credentials, region and endpoint resolution, with temporary HOME / AWS_CONFIG_FILE files.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "../aws/aws_test_support.hpp"
#include "aws/credentials.hpp"
#include "aws/endpoint.hpp"
#include "util/fs.hpp"
#include "util/redact.hpp"

using namespace rb;
using namespace rb::aws;
using rb::aws::testing::ScopedEnv;

namespace {

class AwsCredentials : public ::testing::Test {
 protected:
  void SetUp() override {
    env.clear_aws();
    auto dir = TempDir::create("rollback-aws-creds");
    ASSERT_TRUE(dir.ok());
    tmp.emplace(std::move(*dir));
    home = tmp->path() / "home";
    std::filesystem::create_directories(home / ".aws");
    env.set("HOME", home.string());
    env.set("AWS_EC2_METADATA_DISABLED", "true");  // no IMDS on a test machine: never wait for it
  }

  void write(const std::filesystem::path& path, const std::string& text, bool executable = false) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    if (executable) ::chmod(path.c_str(), 0755);
  }
  void write_credentials(const std::string& text) { write(home / ".aws" / "credentials", text); }
  void write_config(const std::string& text) { write(home / ".aws" / "config", text); }

  ScopedEnv env;
  std::optional<TempDir> tmp;
  std::filesystem::path home;
};

}  // namespace

TEST(AwsIni, ParsesLikeBotocore) {
  auto ini = parse_ini(
      "# comment\n"
      "; another comment\n"
      "[default]\n"
      "aws_access_key_id = AKIADEFAULT\n"
      "Region: eu-west-1\n"
      "s3 =\n"
      "    addressing_style = path\n"
      "\n"
      "[profile prod]\n"
      "  region = us-east-1 # not a comment in botocore\n"
      "output=json\r\n",
      "config");
  ASSERT_TRUE(ini.ok()) << ini.error().message;
  EXPECT_EQ(ini->at("default").at("aws_access_key_id"), "AKIADEFAULT");
  EXPECT_EQ(ini->at("default").at("region"), "eu-west-1");  // keys are lower-cased, ':' works
  EXPECT_EQ(ini->at("default").at("s3"), "\naddressing_style = path");
  EXPECT_EQ(ini->at("profile prod").at("region"), "us-east-1 # not a comment in botocore");
  EXPECT_EQ(ini->at("profile prod").at("output"), "json");

  auto profiles = config_profiles(*ini);
  EXPECT_EQ(profiles.size(), 2u);
  EXPECT_TRUE(profiles.count("prod"));
  EXPECT_TRUE(profiles.count("default"));
}

TEST(AwsIni, RejectsMalformedFiles) {
  EXPECT_FALSE(parse_ini("key = value\n", "f").ok());                    // no section
  EXPECT_FALSE(parse_ini("[a]\njust words\n", "f").ok());                // no delimiter
  EXPECT_FALSE(parse_ini("[a]\nk = 1\n[a]\n", "f").ok());                // duplicate section
  EXPECT_FALSE(parse_ini("[a]\nk = 1\nK = 2\n", "f").ok());              // duplicate key
  auto bad = parse_ini("[ok]\n[broken\n", "~/.aws/config");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("~/.aws/config: line 2"), std::string::npos) << bad.error().message;
}

TEST(AwsShellSplit, MatchesShlex) {
  // Expected values from Python's shlex.split().
  EXPECT_EQ(*shell_split("aws-vault exec prod --json"), (std::vector<std::string>{"aws-vault", "exec", "prod", "--json"}));
  EXPECT_EQ(*shell_split("'/opt/my tools/creds' --profile \"a b\""),
            (std::vector<std::string>{"/opt/my tools/creds", "--profile", "a b"}));
  EXPECT_EQ(*shell_split(R"(a\ b "c\"d" "e\f" 'g\h' '' x#y)"),
            (std::vector<std::string>{"a b", "c\"d", "e\\f", "g\\h", "", "x#y"}));
  EXPECT_EQ(*shell_split("  spaced\t\tout  "), (std::vector<std::string>{"spaced", "out"}));
  EXPECT_EQ(*shell_split("pre'quoted'post"), (std::vector<std::string>{"prequotedpost"}));
  EXPECT_FALSE(shell_split("broken 'quote").ok());
  EXPECT_FALSE(shell_split("trailing\\").ok());
}

TEST_F(AwsCredentials, EnvironmentVariablesComeFirst) {
  write_credentials("[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = filesecret\n");
  env.set("AWS_ACCESS_KEY_ID", "AKIAENV");
  env.set("AWS_SECRET_ACCESS_KEY", "envsecretvalue");
  env.set("AWS_SESSION_TOKEN", "envsessiontoken");
  auto c = resolve_credentials();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIAENV");
  EXPECT_EQ(c->session_token, "envsessiontoken");
  EXPECT_EQ(c->source, "environment");
  // Secrets are registered for redaction as soon as they are loaded.
  EXPECT_EQ(redact("x envsecretvalue y envsessiontoken"), "x **** y ****");
}

TEST_F(AwsCredentials, AwsProfileDoesNotOverrideEnvKeysButAnExplicitProfileDoes) {
  write_credentials("[prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = prodsecret\n");
  env.set("AWS_ACCESS_KEY_ID", "AKIAENV");
  env.set("AWS_SECRET_ACCESS_KEY", "envsecret");
  env.set("AWS_PROFILE", "prod");
  EXPECT_EQ(resolve_credentials()->access_key_id, "AKIAENV");  // like `AWS_PROFILE=prod aws ...`
  auto c = resolve_credentials("prod");                           // like `aws --profile prod ...`
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIAPROD");
  EXPECT_EQ(c->source, "profile prod (~/.aws/credentials)");
}

TEST_F(AwsCredentials, ProfileSelection) {
  write_credentials(
      "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n"
      "[staging]\naws_access_key_id = AKIASTAGING\naws_secret_access_key = s2\naws_session_token = tok-staging\n");
  EXPECT_EQ(resolve_profile_name(), "default");
  EXPECT_EQ(resolve_credentials()->access_key_id, "AKIADEFAULT");
  env.set("AWS_PROFILE", "staging");
  EXPECT_EQ(resolve_profile_name(), "staging");
  auto c = resolve_credentials();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIASTAGING");
  EXPECT_EQ(c->session_token, "tok-staging");
  EXPECT_EQ(resolve_profile_name("default"), "default");  // explicit wins over AWS_PROFILE
}

TEST_F(AwsCredentials, CredentialsFileBeatsConfigFileAndCustomPaths) {
  auto creds_path = tmp->path() / "custom" / "creds";
  auto config_path = tmp->path() / "custom" / "conf";
  write(creds_path, "[prod]\naws_access_key_id = AKIACREDS\naws_secret_access_key = a\n");
  write(config_path,
        "[profile prod]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = b\nregion = ap-south-1\n"
        "[profile confonly]\naws_access_key_id = AKIACONFONLY\naws_secret_access_key = c\n");
  env.set("AWS_SHARED_CREDENTIALS_FILE", creds_path.string());
  env.set("AWS_CONFIG_FILE", config_path.string());
  EXPECT_EQ(resolve_credentials("prod")->access_key_id, "AKIACREDS");
  auto c = resolve_credentials("confonly");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIACONFONLY");
  EXPECT_EQ(c->source, "profile confonly (" + config_path.string() + ")");
  EXPECT_EQ(*resolve_region("prod"), "ap-south-1");
}

TEST_F(AwsCredentials, CredentialProcessRunsByArgvAndParsesJson) {
  auto script = tmp->path() / "bin dir" / "print creds.sh";
  write(script,
        "#!/bin/sh\n"
        "[ \"$1\" = \"--role\" ] && [ \"$2\" = \"deploy role\" ] || { echo \"bad args: $*\" >&2; exit 3; }\n"
        "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": \"processsecret\", "
        "\"SessionToken\": \"processtoken\", \"Expiration\": \"2999-01-01T00:00:00Z\"}'\n",
        /*executable=*/true);
  write_config("[profile proc]\nregion = eu-north-1\ncredential_process = '" + script.string() +
               "' --role \"deploy role\"\n");
  auto c = resolve_credentials("proc");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAPROCESS");
  EXPECT_EQ(c->secret_access_key, "processsecret");
  EXPECT_EQ(c->session_token, "processtoken");
  EXPECT_EQ(c->expiration, "2999-01-01T00:00:00Z");
  EXPECT_EQ(c->source, "credential_process (profile proc)");
  EXPECT_EQ(redact("processtoken"), "****");
}

TEST_F(AwsCredentials, CredentialProcessFailuresAreExplained) {
  auto failing = tmp->path() / "fail.sh";
  write(failing, "#!/bin/sh\necho 'partial {\"SecretAccessKey\": \"leak\"' ; echo 'SSO session expired' >&2; exit 2\n", true);
  write_config("[profile failing]\ncredential_process = " + failing.string() + "\n");
  auto r = resolve_credentials("failing");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("SSO session expired"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("exit code 2"), std::string::npos);
  EXPECT_EQ(r.error().message.find("leak"), std::string::npos);  // stdout is never shown

  auto wrong_version = tmp->path() / "v2.sh";
  write(wrong_version, "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"B\"}'\n", true);
  write_config("[profile v2]\ncredential_process = " + wrong_version.string() + "\n");
  r = resolve_credentials("v2");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Version"), std::string::npos);

  EXPECT_FALSE(parse_credential_process_output("{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\","
                                               "\"Expiration\":\"2001-01-01T00:00:00Z\"}",
                                               "test")
                   .ok());
  EXPECT_TRUE(parse_credential_process_output("{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\"}", "t").ok());
}

TEST_F(AwsCredentials, MissingCredentialsNameEveryPlaceLooked) {
  write_config("[default]\nregion = eu-west-1\n");
  auto r = resolve_credentials();
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("AWS_ACCESS_KEY_ID"), std::string::npos) << m;
  EXPECT_NE(m.find("~/.aws/credentials (no such file)"), std::string::npos) << m;
  EXPECT_NE(m.find("~/.aws/config [default]"), std::string::npos) << m;
  EXPECT_NE(r.error().hint.find("aws configure"), std::string::npos);
  EXPECT_EQ(r.error().code, ExitCode::Usage);
}

TEST_F(AwsCredentials, UnknownProfileSuggestsTheClosest) {
  write_credentials("[production]\naws_access_key_id = A\naws_secret_access_key = B\n");
  auto r = resolve_credentials("prodution");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("prodution not found"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("did you mean profile production"), std::string::npos) << r.error().hint;
}

TEST_F(AwsCredentials, HalfSetCredentialsAreErrors) {
  env.set("AWS_ACCESS_KEY_ID", "AKIAONLY");
  auto r = resolve_credentials();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos);
  env.unset("AWS_ACCESS_KEY_ID");
  write_credentials("[half]\naws_access_key_id = AKIAHALF\n");
  r = resolve_credentials("half");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("aws_secret_access_key"), std::string::npos);
}

TEST_F(AwsCredentials, RoleAndSsoProfileMistakesAreUsageErrorsBeforeAnyNetwork) {
  write_config("[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
               "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n"
               "[profile nosource]\nrole_arn = arn:aws:iam::1:role/a\n"
               "[profile ghost]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = nowhere\n"
               "[profile sso]\nsso_session = corp\nsso_account_id = 123\nsso_role_name = R\n"
               "[profile halfsso]\nsso_account_id = 123\n");
  struct Case {
    const char* profile;
    const char* says;
  };
  for (const Case& c : {Case{"loop1", "loop"}, Case{"nosource", "neither source_profile"},
                        Case{"ghost", "does not exist"}, Case{"sso", "sso-session \"corp\" does not exist"},
                        Case{"halfsso", "sso_start_url"}}) {
    auto r = resolve_credentials(c.profile);
    ASSERT_FALSE(r.ok()) << c.profile;
    EXPECT_EQ(r.error().code, ExitCode::Usage) << c.profile;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
}

TEST_F(AwsCredentials, SsoWithoutATokenSaysHowToLogIn) {
  write_config("[profile dev]\nsso_session = corp\nsso_account_id = 777788889999\nsso_role_name = Deployer\n"
               "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n");
  auto r = resolve_credentials("dev");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::CannotStart);
  EXPECT_NE(r.error().hint.find("aws sso login --profile dev"), std::string::npos) << r.error().hint;
  // The file `aws sso login` would have written: SHA-1 of the session name.
  EXPECT_NE(r.error().message.find("ee0bfd2552fbd840c02cc48b6e823320543c450f.json"), std::string::npos)
      << r.error().message;

  write(home / ".aws" / "sso" / "cache" / "ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        R"({"accessToken": "tok", "expiresAt": "2020-01-01T00:00:00Z"})");
  r = resolve_credentials("dev");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::CannotStart);
  EXPECT_NE(r.error().message.find("expired at 2020-01-01T00:00:00Z"), std::string::npos) << r.error().message;
}

TEST_F(AwsCredentials, CachedAssumedRoleCredentialsAreUsedWithoutSts) {
  write_credentials("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n");
  write_config("[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\nsource_profile = base\n");
  // What the AWS CLI leaves in ~/.aws/cli/cache (its Expiration format included); STS points
  // nowhere, so a call would fail.
  env.set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
  write(home / ".aws" / "cli" / "cache" / "36c7d393cf27fa7aa5e80b005ae3ae5a11562a4e.json",
        R"({"Credentials": {"AccessKeyId": "ASIACACHED", "SecretAccessKey": "cachedsecret",
            "SessionToken": "cachedtoken", "Expiration": "2999-01-01T00:00:00UTC"}})");
  auto c = resolve_credentials("deploy");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIACACHED");
  EXPECT_EQ(c->session_token, "cachedtoken");
  EXPECT_NE(c->source.find("assume-role arn:aws:iam::111122223333:role/deploy"), std::string::npos) << c->source;
  EXPECT_TRUE(static_cast<bool>(c->refresh));
  EXPECT_EQ(redact("x cachedsecret y").find("cachedsecret"), std::string::npos);  // registered as a secret
}

TEST_F(AwsCredentials, StsFailureWhileAssumingCannotStart) {
  write_credentials("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n");
  write_config("[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\nsource_profile = base\n");
  env.set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");  // nothing listens on the discard port
  env.set("AWS_MAX_ATTEMPTS", "1");
  env.set("AWS_REGION", "us-east-1");
  auto r = resolve_credentials("deploy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::CannotStart);
  EXPECT_NE(r.error().message.find("cannot assume role arn:aws:iam::111122223333:role/deploy for profile deploy"),
            std::string::npos)
      << r.error().message;
}

TEST(AwsCredentialCache, KeysMatchBotocore) {
  // Expected values: hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest().
  AssumeRoleCacheArgs plain;
  plain.role_arn = "arn:aws:iam::111122223333:role/deploy";
  EXPECT_EQ(assume_role_cache_key(plain), "36c7d393cf27fa7aa5e80b005ae3ae5a11562a4e");
  AssumeRoleCacheArgs full = plain;
  full.role_session_name = "oncall";
  full.external_id = "ext-42";
  full.duration_seconds = 1800;
  full.serial_number = "arn:aws:iam::111122223333:mfa/me";
  EXPECT_EQ(assume_role_cache_key(full), "5b9ad7126fe3742d8f411a716e7fb496102d6ef6");
  AssumeRoleCacheArgs odd;
  odd.role_arn = "arn:aws:iam::1:role/\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\"\\\n";
  EXPECT_EQ(assume_role_cache_key(odd), "3367681f30fa8e1858c67333a6085c3ff3289059");
  EXPECT_EQ(python_json_string("\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\"\\\n\x01"),
            R"("\u00e9\u2603\ud83d\ude00\"\\\n\u0001")");
  // json.dumps(args, sort_keys=True, separators=(',', ':')) for SSO.
  EXPECT_EQ(sso_credentials_cache_key("Deployer", "777788889999", "corp", ""), "4db00591fe3f399f1d178178808c449ba3a17c90");
  EXPECT_EQ(sso_credentials_cache_key("ReadOnly", "123412341234", "", "https://legacy.awsapps.com/start"),
            "35796854d77d8fd8a3935d8cbdc51231ba93dc17");
  EXPECT_EQ(sso_token_cache_file_name("corp"), "ee0bfd2552fbd840c02cc48b6e823320543c450f.json");
  EXPECT_EQ(sso_token_cache_file_name("https://legacy.awsapps.com/start"), "79e435d7a515078e81c9dffc35f38d5687ebd3a7.json");
}

TEST(AwsCredentialExpiry, ParsesEveryFormatTheSourcesWrite) {
  EXPECT_EQ(parse_iso8601("2026-01-01T00:00:00Z"), std::optional<std::time_t>(1767225600));
  EXPECT_EQ(parse_iso8601("2026-01-01T00:00:00UTC"), std::optional<std::time_t>(1767225600));  // botocore's cache
  EXPECT_EQ(parse_iso8601("2026-01-01T01:00:00.123+01:00"), std::optional<std::time_t>(1767225600));
  EXPECT_FALSE(parse_iso8601("tomorrow").has_value());
}

TEST(AwsCredentialExpiry, RefreshWindowsAreBotocores) {
  const std::time_t now = 1767225600;
  Credentials c;
  EXPECT_EQ(refresh_need(c, now), RefreshNeed::None);  // long-term keys never expire
  c.expires_at = now + 16 * 60;
  EXPECT_EQ(refresh_need(c, now), RefreshNeed::None);
  c.expires_at = now + 14 * 60;
  EXPECT_EQ(refresh_need(c, now), RefreshNeed::Advisory);
  c.expires_at = now + 9 * 60;
  EXPECT_EQ(refresh_need(c, now), RefreshNeed::Mandatory);
  c.expires_at = now - 1;
  EXPECT_EQ(refresh_need(c, now), RefreshNeed::Mandatory);
}

TEST(AwsContainerCredentials, OnlyLoopbackAndTheEcsEksHosts) {
  EXPECT_TRUE(container_url_allowed("http://169.254.170.2/v2/credentials/abc"));
  EXPECT_TRUE(container_url_allowed("http://169.254.170.23/v1/credentials"));
  EXPECT_TRUE(container_url_allowed("http://[fd00:ec2::23]/v1/credentials"));
  EXPECT_TRUE(container_url_allowed("http://127.0.0.1:8080/creds"));
  EXPECT_TRUE(container_url_allowed("http://127.9.9.9/creds"));
  EXPECT_TRUE(container_url_allowed("http://localhost/creds"));
  EXPECT_TRUE(container_url_allowed("https://creds.example.com/x"));
  EXPECT_FALSE(container_url_allowed("http://192.0.2.10/creds"));
  EXPECT_FALSE(container_url_allowed("http://169.254.169.254/latest"));
  EXPECT_FALSE(container_url_allowed("file:///etc/passwd"));
}

TEST_F(AwsCredentials, RegionPrecedence) {
  write_config("[default]\nregion = eu-west-1\n[profile other]\n");
  EXPECT_EQ(*resolve_region({}, "us-west-2"), "eu-west-1");   // the profile's region beats the fallback
  EXPECT_EQ(*resolve_region("other", "us-west-2"), "us-west-2");
  env.set("AWS_DEFAULT_REGION", "ca-central-1");
  EXPECT_EQ(*resolve_region({}, "us-west-2"), "ca-central-1");
  env.set("AWS_REGION", "sa-east-1");
  EXPECT_EQ(*resolve_region({}, "us-west-2"), "sa-east-1");
  env.unset("AWS_REGION");
  env.unset("AWS_DEFAULT_REGION");
  auto none = resolve_region("other", "");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().hint.find("AWS_REGION"), std::string::npos);
}

TEST(AwsEndpoint, ResolvesOverridesLikeTheCli) {
  ScopedEnv env;
  env.clear_aws();
  EXPECT_EQ(endpoint_url("ecs", "eu-west-1"), "https://ecs.eu-west-1.amazonaws.com");
  EXPECT_EQ(endpoint_url("s3", "us-east-1"), "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(endpoint_url("dynamodb", "cn-north-1"), "https://dynamodb.cn-north-1.amazonaws.com.cn");
  env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/");
  EXPECT_EQ(endpoint_url("ecs", "eu-west-1"), "http://127.0.0.1:5000");
  env.set("AWS_ENDPOINT_URL_S3", "http://localhost:9000");
  env.set("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000");
  EXPECT_EQ(endpoint_url("s3", "eu-west-1"), "http://localhost:9000");
  EXPECT_EQ(endpoint_url("dynamodb", "eu-west-1"), "http://localhost:8000");
  EXPECT_EQ(endpoint_url("ecs", "eu-west-1"), "http://127.0.0.1:5000");
  env.set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
  EXPECT_EQ(endpoint_url("s3", "eu-west-1"), "https://s3.eu-west-1.amazonaws.com");

  EXPECT_TRUE(is_aws_endpoint("https://s3.eu-west-1.amazonaws.com"));
  EXPECT_FALSE(is_aws_endpoint("http://127.0.0.1:5000"));
}

// CloudWatch and ELBv2: the override is named after the serviceId, the host after the
// endpointPrefix (botocore's models), as the AWS CLI does.
TEST(AwsEndpoint, ServiceIdOverridesAndEndpointPrefixHosts) {
  ScopedEnv env;
  env.clear_aws();
  EXPECT_EQ(endpoint_url("cloudwatch", "eu-west-1", "monitoring"), "https://monitoring.eu-west-1.amazonaws.com");
  EXPECT_EQ(endpoint_url("elastic load balancing v2", "us-east-1", "elasticloadbalancing"),
            "https://elasticloadbalancing.us-east-1.amazonaws.com");
  env.set("AWS_ENDPOINT_URL_CLOUDWATCH", "http://cw.local:4566/");
  env.set("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "http://elb.local:4566");
  EXPECT_EQ(endpoint_url("cloudwatch", "eu-west-1", "monitoring"), "http://cw.local:4566");
  EXPECT_EQ(endpoint_url("elastic load balancing v2", "eu-west-1", "elasticloadbalancing"), "http://elb.local:4566");
  EXPECT_EQ(endpoint_url("monitoring", "eu-west-1"), "https://monitoring.eu-west-1.amazonaws.com");  // not its name
}
