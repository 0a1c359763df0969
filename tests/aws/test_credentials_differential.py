#!/usr/bin/env python3
"""Differential tests of credential resolution: rollback's resolver against botocore's own
(`botocore.session.Session(profile=...).get_credentials()`), both pointed at the same HOME
(~/.aws/config, ~/.aws/credentials, ~/.aws/sso/cache, ~/.aws/cli/cache), the same environment
and the same local fake endpoints (fake_signin_endpoints.py: STS, the SSO portal, the container
endpoint, IMDSv2). Each case asserts that both resolve the SAME access key, secret and session
token (or that both refuse), plus what reached the endpoints.

Usage: test_credentials_differential.py PATH/TO/rollback_print_credentials
"""

import hashlib
import json
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_signin_endpoints import FakeSignIn, IMDS_ROLE, SSO_EXPIRED_ON_SERVER  # noqa: E402

HELPER = None  # set from argv
PROCESS_TIMEOUT_S = 60

BOTOCORE_SCRIPT = r"""
import hashlib, json, os, sys
import botocore.session
from botocore.utils import JSONFileCache
profile = sys.argv[1] or None
session = botocore.session.Session(profile=profile)
resolver = session.get_component('credential_provider')
if os.environ.get('T_CLI_CACHE'):
    # What the AWS CLI does: assumed-role and SSO credentials cached in ~/.aws/cli/cache.
    for name in ('assume-role', 'assume-role-with-web-identity', 'sso'):
        resolver.get_provider(name).cache = JSONFileCache(os.path.expanduser('~/.aws/cli/cache'))
if os.environ.get('T_MFA'):
    resolver.get_provider('assume-role')._prompter = lambda prompt: os.environ['T_MFA']
try:
    creds = session.get_credentials()
    if creds is None:
        print(json.dumps({'none': True}))
    else:
        f = creds.get_frozen_credentials()
        print(json.dumps({'access_key_id': f.access_key,
                          'secret_sha256': hashlib.sha256(f.secret_key.encode()).hexdigest(),
                          'token_sha256': hashlib.sha256((f.token or '').encode()).hexdigest(),
                          'method': creds.method}))
except Exception as e:
    print(json.dumps({'error': type(e).__name__ + ': ' + str(e)}))
"""


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


class Differential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeSignIn()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rollback-creds-diff-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.home = os.path.join(self.work, "home")
        os.makedirs(os.path.join(self.home, ".aws"))
        self.fake.container_authorization = None
        self.fake.take()

    # ---- scene -------------------------------------------------------------------------------

    def write(self, relative, text, mode=0o600):
        path = os.path.join(self.home, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def config(self, text):
        self.write(".aws/config", text)

    def credentials(self, text):
        self.write(".aws/credentials", text)

    def sso_token(self, key, access_token="sso-access-token-1", expires_in=3600, start_url=None):
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + expires_in))
        token = {"accessToken": access_token, "expiresAt": when}
        if start_url:
            token.update({"startUrl": start_url, "region": "us-east-1"})
        return self.write(os.path.join(".aws/sso/cache", sha1(key) + ".json"), json.dumps(token))

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"HOME": self.home, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_ENDPOINT_URL_STS": self.fake.url, "AWS_ENDPOINT_URL_SSO": self.fake.url})
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    # ---- the two resolvers ---------------------------------------------------------------------

    def ours(self, profile="", env=None, tty_input=None):
        env = env or self.env()
        if tty_input is None:
            p = subprocess.run([HELPER, profile], env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S,
                               stdin=subprocess.DEVNULL)
            out, code = p.stdout, p.returncode
        else:
            # The MFA prompt needs a terminal: run the helper on a pseudo-terminal and type the code.
            master, slave = pty.openpty()
            p = subprocess.Popen([HELPER, profile], env=env, stdin=slave, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            os.close(slave)
            os.write(master, (tty_input + "\n").encode())
            out, _ = p.communicate(timeout=PROCESS_TIMEOUT_S)
            os.close(master)
            code = p.returncode
        result = json.loads(out.strip().splitlines()[-1])
        result["exit"] = code
        return result

    def botocore(self, profile="", env=None, cli_cache=False, mfa=None):
        env = dict(env or self.env())
        if cli_cache:
            env["T_CLI_CACHE"] = "1"
        if mfa:
            env["T_MFA"] = mfa
        p = subprocess.run([sys.executable, "-c", BOTOCORE_SCRIPT, profile], env=env, capture_output=True, text=True,
                           timeout=PROCESS_TIMEOUT_S, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def assertSame(self, profile="", env=None, mfa=None):
        """Both resolvers return the same credentials; returns (ours, botocore's, requests)."""
        theirs = self.botocore(profile, env, mfa=mfa)
        self.fake.take()
        mine = self.ours(profile, env, tty_input=mfa)
        requests = self.fake.take()
        self.assertNotIn("error", theirs, theirs)
        self.assertNotIn("none", theirs, theirs)
        self.assertEqual(mine["exit"], 0, mine)
        for key in ("access_key_id", "secret_sha256", "token_sha256"):
            self.assertEqual(mine[key], theirs[key], f"{key} differs: ours {mine} botocore {theirs}")
        return mine, theirs, requests

    def assertBothRefuse(self, profile="", env=None, exit_code=None, message=None):
        theirs = self.botocore(profile, env)
        self.assertTrue("error" in theirs or "none" in theirs, theirs)
        mine = self.ours(profile, env)
        self.assertNotEqual(mine["exit"], 0, mine)
        if exit_code is not None:
            self.assertEqual(mine["exit"], exit_code, mine)
        if message is not None:
            self.assertIn(message, mine["error"] + " " + mine.get("hint", ""))
        return mine, theirs

    # ---- assume-role -------------------------------------------------------------------------

    def test_assume_role_with_source_profile_and_all_options(self):
        self.credentials("[base]\naws_access_key_id = AKIABASE000000000001\naws_secret_access_key = base-secret\n")
        self.config("[profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\nsource_profile = base\n"
                    "external_id = ext-42\nrole_session_name = oncall\nduration_seconds = 1800\n")
        mine, _, requests = self.assertSame("deploy")
        sts = [r for r in requests if r.get("form", {}).get("Action") == "AssumeRole"]
        self.assertEqual(len(sts), 1)
        self.assertEqual(sts[0]["caller"], "AKIABASE000000000001")
        self.assertEqual(sts[0]["form"]["ExternalId"], "ext-42")
        self.assertEqual(sts[0]["form"]["DurationSeconds"], "1800")
        self.assertEqual(sts[0]["form"]["RoleSessionName"], "oncall")
        self.assertIn("deploy", mine["source"])
        self.assertTrue(mine["refreshable"])

    def test_assume_role_generated_session_name(self):
        self.credentials("[base]\naws_access_key_id = AKIABASE000000000002\naws_secret_access_key = s2\n")
        self.config("[profile r]\nrole_arn = arn:aws:iam::111122223333:role/r\nsource_profile = base\n")
        _, _, requests = self.assertSame("r")
        self.assertRegex(requests[-1]["form"]["RoleSessionName"], r"^botocore-session-\d+$")

    def test_assume_role_chain_of_three_profiles(self):
        self.credentials("[root]\naws_access_key_id = AKIAROOT000000000001\naws_secret_access_key = root-secret\n"
                         "aws_session_token = root-token\n")
        self.config("[profile hop]\nrole_arn = arn:aws:iam::111111111111:role/hop\nsource_profile = root\n"
                    "[profile target]\nrole_arn = arn:aws:iam::222222222222:role/target\nsource_profile = hop\n")
        _, _, requests = self.assertSame("target")
        callers = [r["caller"] for r in requests if r.get("form", {}).get("Action") == "AssumeRole"]
        self.assertEqual(len(callers), 2)
        self.assertEqual(callers[0], "AKIAROOT000000000001")
        self.assertTrue(callers[1].startswith("ASIA"))  # the second hop is signed with the first role

    def test_assume_role_self_referencing_profile_with_keys(self):
        self.credentials("[selfref]\naws_access_key_id = AKIASELF000000000001\naws_secret_access_key = self-secret\n")
        self.config("[profile selfref]\nrole_arn = arn:aws:iam::111122223333:role/self\nsource_profile = selfref\n")
        self.assertSame("selfref")

    def test_assume_role_cycle_is_refused(self):
        self.config("[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
                    "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n")
        mine, theirs = self.assertBothRefuse("a", exit_code=2, message="loop")
        self.assertIn("InfiniteLoop", theirs["error"])
        self.assertEqual(self.fake.take(), [])

    def test_assume_role_missing_source_is_refused(self):
        self.config("[profile lonely]\nrole_arn = arn:aws:iam::1:role/x\n")
        self.assertBothRefuse("lonely", exit_code=2, message="source_profile")
        self.config("[profile both]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = a\n"
                    "credential_source = Environment\n[profile a]\naws_access_key_id = A\naws_secret_access_key = B\n")
        self.assertBothRefuse("both", exit_code=2, message="both")
        self.config("[profile bad]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Laptop\n")
        self.assertBothRefuse("bad", exit_code=2, message="Laptop")

    def test_credential_source_environment(self):
        self.config("[profile ci]\nrole_arn = arn:aws:iam::333333333333:role/ci\ncredential_source = Environment\n")
        env = self.env(AWS_ACCESS_KEY_ID="AKIAENVSOURCE0000001", AWS_SECRET_ACCESS_KEY="env-secret",
                       AWS_SESSION_TOKEN="env-token")
        _, _, requests = self.assertSame("ci", env)
        self.assertEqual(requests[-1]["caller"], "AKIAENVSOURCE0000001")
        self.assertEqual(requests[-1]["headers"].get("x-amz-security-token"), "env-token")

    def test_credential_source_ecs_container(self):
        self.config("[profile task]\nrole_arn = arn:aws:iam::333333333333:role/t\ncredential_source = EcsContainer\n")
        self.fake.container_authorization = "container-auth-token"
        env = self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.fake.url + "/container/task",
                       AWS_CONTAINER_AUTHORIZATION_TOKEN="container-auth-token")
        _, _, requests = self.assertSame("task", env)
        self.assertEqual([r["path"] for r in requests], ["/container/task", "/"])

    def test_credential_source_ec2_instance_metadata(self):
        self.config("[profile bastion]\nrole_arn = arn:aws:iam::333333333333:role/b\n"
                    "credential_source = Ec2InstanceMetadata\n")
        env = self.env(AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=self.fake.url)
        _, _, requests = self.assertSame("bastion", env)
        self.assertEqual(requests[0]["method"], "PUT")  # IMDSv2: the token first

    def test_mfa_code_is_asked_on_the_terminal(self):
        self.credentials("[base]\naws_access_key_id = AKIAMFA0000000000001\naws_secret_access_key = mfa-secret\n")
        self.config("[profile mfa]\nrole_arn = arn:aws:iam::111122223333:role/admin\nsource_profile = base\n"
                    "mfa_serial = arn:aws:iam::111122223333:mfa/me\n")
        _, _, requests = self.assertSame("mfa", mfa="123456")
        self.assertEqual(requests[-1]["form"]["SerialNumber"], "arn:aws:iam::111122223333:mfa/me")
        self.assertEqual(requests[-1]["form"]["TokenCode"], "123456")

    def test_mfa_without_a_terminal_is_refused(self):
        self.credentials("[base]\naws_access_key_id = AKIAMFA0000000000002\naws_secret_access_key = mfa-secret\n")
        self.config("[profile mfa]\nrole_arn = arn:aws:iam::111122223333:role/admin\nsource_profile = base\n"
                    "mfa_serial = arn:aws:iam::111122223333:mfa/me\n")
        mine = self.ours("mfa")
        self.assertEqual(mine["exit"], 5, mine)
        self.assertIn("MFA", mine["error"])
        self.assertEqual(self.fake.take(), [])

    # ---- the AWS CLI's cache -----------------------------------------------------------------

    def test_cache_written_by_botocore_is_used_without_calling_sts(self):
        self.credentials("[base]\naws_access_key_id = AKIACACHE00000000001\naws_secret_access_key = c-secret\n")
        self.config("[profile cached]\nrole_arn = arn:aws:iam::111122223333:role/c\nsource_profile = base\n"
                    "external_id = e1\n")
        theirs = self.botocore("cached", cli_cache=True)
        self.assertEqual(len(self.fake.take()), 1)
        files = os.listdir(os.path.join(self.home, ".aws/cli/cache"))
        self.assertEqual(len(files), 1, files)
        mine = self.ours("cached")
        self.assertEqual(self.fake.take(), [], "rollback called STS although the AWS CLI's cache was valid")
        self.assertEqual(mine["access_key_id"], theirs["access_key_id"])
        self.assertEqual(mine["token_sha256"], theirs["token_sha256"])

    def test_cache_written_by_rollback_is_used_by_botocore(self):
        self.credentials("[base]\naws_access_key_id = AKIACACHE00000000002\naws_secret_access_key = c-secret\n")
        self.config("[profile cached]\nrole_arn = arn:aws:iam::111122223333:role/c\nsource_profile = base\n"
                    "role_session_name = me\nduration_seconds = 3600\n")
        mine = self.ours("cached")
        self.assertEqual(len(self.fake.take()), 1)
        cache_dir = os.path.join(self.home, ".aws/cli/cache")
        files = os.listdir(cache_dir)
        self.assertEqual(len(files), 1, files)
        self.assertEqual(os.stat(os.path.join(cache_dir, files[0])).st_mode & 0o777, 0o600)
        theirs = self.botocore("cached", cli_cache=True)
        self.assertEqual(self.fake.take(), [], "botocore did not find rollback's cache file")
        self.assertEqual(mine["access_key_id"], theirs["access_key_id"])
        self.assertEqual(mine["secret_sha256"], theirs["secret_sha256"])

    def test_expiring_cache_entry_is_not_used(self):
        self.credentials("[base]\naws_access_key_id = AKIACACHE00000000003\naws_secret_access_key = c-secret\n")
        self.config("[profile cached]\nrole_arn = arn:aws:iam::111122223333:role/c\nsource_profile = base\n")
        self.ours("cached")
        cache_dir = os.path.join(self.home, ".aws/cli/cache")
        path = os.path.join(cache_dir, os.listdir(cache_dir)[0])
        with open(path) as f:
            data = json.load(f)
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))  # inside the 15-minute window
        data["Credentials"]["Expiration"] = soon
        data["Credentials"]["AccessKeyId"] = "ASIASTALESTALESTALE0"
        with open(path, "w") as f:
            json.dump(data, f)
        self.fake.take()
        mine = self.ours("cached")
        self.assertEqual(len(self.fake.take()), 1)
        self.assertNotEqual(mine["access_key_id"], "ASIASTALESTALESTALE0")

    # ---- web identity ------------------------------------------------------------------------

    def test_web_identity_from_environment(self):
        token = self.write("oidc-token", "eyJhbGciOiJSUzI1NiJ9.ci-job-token.sig")
        env = self.env(AWS_WEB_IDENTITY_TOKEN_FILE=token, AWS_ROLE_ARN="arn:aws:iam::444455556666:role/gha",
                       AWS_ROLE_SESSION_NAME="ci-run-17")
        _, _, requests = self.assertSame("", env)
        self.assertEqual(len(requests), 1)
        self.assertNotIn("authorization", requests[0]["headers"])  # unsigned
        self.assertEqual(requests[0]["form"]["WebIdentityToken"], "eyJhbGciOiJSUzI1NiJ9.ci-job-token.sig")
        self.assertEqual(requests[0]["form"]["RoleSessionName"], "ci-run-17")

    def test_web_identity_from_profile(self):
        token = self.write("oidc-token", "profile-oidc-token")
        self.config(f"[profile oidc]\nrole_arn = arn:aws:iam::444455556666:role/k8s\nweb_identity_token_file = {token}\n")
        self.assertSame("oidc")

    def test_web_identity_without_role_is_refused(self):
        token = self.write("oidc-token", "t")
        env = self.env(AWS_WEB_IDENTITY_TOKEN_FILE=token)
        self.assertBothRefuse("", env, exit_code=2, message="AWS_ROLE_ARN")

    # ---- IAM Identity Center -----------------------------------------------------------------

    def test_sso_session_profile(self):
        self.config("[profile dev]\nsso_session = corp\nsso_account_id = 777788889999\nsso_role_name = Deployer\n"
                    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
                    "sso_registration_scopes = sso:account:access\n")
        self.sso_token("corp", access_token="corp-access-token", start_url="https://corp.awsapps.com/start")
        _, _, requests = self.assertSame("dev")
        self.assertEqual(requests[0]["path"], "/federation/credentials?role_name=Deployer&account_id=777788889999")
        self.assertEqual(requests[0]["headers"]["x-amz-sso_bearer_token"], "corp-access-token")

    def test_legacy_sso_profile(self):
        url = "https://legacy.awsapps.com/start"
        self.config(f"[profile old]\nsso_start_url = {url}\nsso_region = eu-west-1\nsso_account_id = 123412341234\n"
                    "sso_role_name = ReadOnly\n")
        self.sso_token(url, access_token="legacy-token")
        self.assertSame("old")

    def test_sso_expired_token_says_how_to_log_in(self):
        self.config("[profile dev]\nsso_session = corp\nsso_account_id = 777788889999\nsso_role_name = Deployer\n"
                    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n")
        self.sso_token("corp", expires_in=-60)
        mine, _ = self.assertBothRefuse("dev", exit_code=5, message="aws sso login --profile dev")
        self.assertEqual(self.fake.take(), [])

    def test_sso_missing_token_says_how_to_log_in(self):
        url = "https://legacy.awsapps.com/start"
        self.config(f"[profile old]\nsso_start_url = {url}\nsso_region = eu-west-1\nsso_account_id = 123412341234\n"
                    "sso_role_name = ReadOnly\n")
        self.assertBothRefuse("old", exit_code=5, message="aws sso login --profile old")

    def test_sso_token_refused_by_the_portal(self):
        url = "https://legacy.awsapps.com/start"
        self.config(f"[profile old]\nsso_start_url = {url}\nsso_region = eu-west-1\nsso_account_id = 123412341234\n"
                    "sso_role_name = ReadOnly\n")
        self.sso_token(url, access_token=SSO_EXPIRED_ON_SERVER)
        self.assertBothRefuse("old", exit_code=5, message="aws sso login --profile old")

    def test_sso_profile_missing_keys_is_refused(self):
        self.config("[profile half]\nsso_account_id = 777788889999\nsso_role_name = Deployer\n")
        self.assertBothRefuse("half", exit_code=2, message="sso_start_url")

    # ---- container and instance metadata -----------------------------------------------------

    def test_container_full_uri_with_token_file(self):
        self.fake.container_authorization = "eks-pod-identity-token"
        token_file = self.write("pod-token", "eks-pod-identity-token")
        env = self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.fake.url + "/container/pod",
                       AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token_file)
        self.assertSame("", env)

    def test_container_endpoint_on_another_host_is_refused(self):
        env = self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.10/creds")
        self.assertBothRefuse("", env, exit_code=2, message="192.0.2.10")

    def test_instance_metadata_v2(self):
        env = self.env(AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=self.fake.url)
        mine, _, requests = self.assertSame("", env)
        self.assertEqual([(r["method"], r["path"]) for r in requests],
                         [("PUT", "/latest/api/token"),
                          ("GET", "/latest/meta-data/iam/security-credentials/"),
                          ("GET", "/latest/meta-data/iam/security-credentials/" + IMDS_ROLE)])
        self.assertIn(IMDS_ROLE, mine["source"])

    def test_instance_metadata_disabled_tries_nothing(self):
        env = self.env(AWS_EC2_METADATA_DISABLED="true", AWS_EC2_METADATA_SERVICE_ENDPOINT=self.fake.url)
        self.assertBothRefuse("", env, exit_code=2)
        self.assertEqual(self.fake.take(), [])

    # ---- precedence --------------------------------------------------------------------------

    def test_environment_keys_win_over_a_role_profile_named_by_aws_profile(self):
        self.credentials("[base]\naws_access_key_id = AKIABASE000000000009\naws_secret_access_key = b\n")
        self.config("[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n")
        env = self.env(AWS_PROFILE="r", AWS_ACCESS_KEY_ID="AKIAENVWINS000000001", AWS_SECRET_ACCESS_KEY="e")
        mine, _, requests = self.assertSame("", env)
        self.assertEqual(mine["access_key_id"], "AKIAENVWINS000000001")
        self.assertEqual(requests, [])

    def test_explicit_profile_skips_environment_keys_and_web_identity_variables(self):
        token = self.write("oidc-token", "t")
        self.credentials("[named]\naws_access_key_id = AKIANAMED00000000001\naws_secret_access_key = n\n")
        env = self.env(AWS_ACCESS_KEY_ID="AKIAENV0000000000001", AWS_SECRET_ACCESS_KEY="e",
                       AWS_WEB_IDENTITY_TOKEN_FILE=token, AWS_ROLE_ARN="arn:aws:iam::1:role/x")
        mine, _, _ = self.assertSame("named", env)
        self.assertEqual(mine["access_key_id"], "AKIANAMED00000000001")


def main():
    global HELPER
    if len(sys.argv) < 2:
        print("usage: test_credentials_differential.py PATH/TO/rollback_print_credentials", file=sys.stderr)
        return 2
    HELPER = sys.argv.pop(1)
    try:
        import botocore  # noqa: F401
    except ImportError:
        print("SKIPPED: botocore is not installed for", sys.executable)
        return 1
    unittest.main(verbosity=2)


if __name__ == "__main__":
    sys.exit(main())
