"""Signing in: the identity `rollback status` shows, the account_id check that refuses a
rollback from the wrong account before anything changes, assume-role and SSO profiles, all
through the real binary against the sandbox (moto's STS answers GetCallerIdentity and
AssumeRole; its account is 123456789012)."""

import hashlib
import json
import os
import time
import unittest

from harness import RollbackTestCase, Sandbox

PROD = ("connect2-api-cluster-prod", "connect2-api-service-prod")
MOTO_ACCOUNT = "123456789012"


def config_with(prod_extra):
    # A 1 s verification bake instead of a protected environment's 60 s default: these tests
    # are about signing in (harness.RUNBOOK_CONFIG does the same).
    return ("app: connect2-api\nregion: us-east-1\nenvironments:\n"
            "  dev:     { branch: development }\n"
            f"  prod:    {{ branch: main, protected: true, verify: {{ bake: 1s }}{prod_extra} }}\n")


class SignInTest(RollbackTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox = Sandbox()
        self.addCleanup(self.sandbox.stop)
        self.ecs = self.sandbox.client("ecs")

    def service(self):
        return self.ecs.describe_services(cluster=PROD[0], services=[PROD[1]])["services"][0]

    def write_aws(self, name, text):
        path = os.path.join(self.home, ".aws", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def test_wrong_account_is_refused_before_anything_changes(self):
        self.write_config(config_with(', account_id: "999999999999"'))
        before = self.service()
        r = self.rollback("ecs", "--env", "prod", "--reason", "500s after deploy", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 5)
        self.assertIn("999999999999", r.stderr)
        self.assertIn(MOTO_ACCOUNT, r.stderr)
        self.assertIn("profile default", r.stderr)
        self.assertIn("nothing was changed", r.stderr)
        after = self.service()
        self.assertEqual([d["taskDefinition"] for d in after["deployments"]],
                         [d["taskDefinition"] for d in before["deployments"]])
        self.assertEqual(self.sandbox.control("calls?operation=UpdateService")["calls"], [])
        self.assertEqual(self.journal(), [])
        self.assertNoSecrets(r.stdout, r.stderr)

    def test_status_shows_the_identity_when_the_account_matches(self):
        self.write_config(config_with(f', account_id: "{MOTO_ACCOUNT}"'))
        r = self.rollback("status", "--env", "prod", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn(f"identity arn:aws:sts::{MOTO_ACCOUNT}:user/moto (account {MOTO_ACCOUNT}, credentials from "
                      "environment)", r.stdout)
        r = self.rollback("status", "--env", "prod", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        identity = json.loads(r.stdout)["identity"]
        self.assertEqual(identity["account"], MOTO_ACCOUNT)
        self.assertEqual(identity["credential_source"], "environment")
        self.assertNoSecrets(r.stdout, r.stderr)

    def test_bad_account_id_in_the_configuration(self):
        self.write_config(config_with(", account_id: 12345"))
        r = self.rollback("status", "--env", "prod", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn("12-digit", r.stderr)

    def test_assume_role_profile_through_moto_sts(self):
        self.write_aws("credentials", "[base]\naws_access_key_id = AKIABASEKEY000000001\n"
                                      "aws_secret_access_key = base-secret-key-for-e2e\n")
        self.write_aws("config", "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deployer\n"
                                 "source_profile = base\nrole_session_name = oncall\n")
        self.write_config(config_with(', aws_profile: deploy, account_id: "123456789012"'))
        env = self.env(self.sandbox)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(k)
        r = self.rollback("status", "--env", "prod", "--output", "json", env=env)
        self.assertExit(r, 0)
        identity = json.loads(r.stdout)["identity"]
        self.assertEqual(identity["arn"], "arn:aws:sts::123456789012:assumed-role/deployer/oncall")
        self.assertEqual(identity["account"], "123456789012")
        self.assertIn("assume-role arn:aws:iam::123456789012:role/deployer", identity["credential_source"])
        cache = os.path.join(self.home, ".aws", "cli", "cache")
        [name] = os.listdir(cache)
        self.assertEqual(os.stat(os.path.join(cache, name)).st_mode & 0o777, 0o600)
        with open(os.path.join(cache, name)) as f:
            secret = json.load(f)["Credentials"]["SecretAccessKey"]
        self.assertNoSecrets(r.stdout, r.stderr, also=(secret, "base-secret-key-for-e2e"))

    def test_expired_sso_session_cannot_start(self):
        self.write_aws("config", "[profile sso-prod]\nsso_session = corp\nsso_account_id = 123456789012\n"
                                 "sso_role_name = Deployer\n[sso-session corp]\n"
                                 "sso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n")
        expired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        self.write_aws(os.path.join("sso", "cache", hashlib.sha1(b"corp").hexdigest() + ".json"),
                       json.dumps({"accessToken": "expired-sso-token-value", "expiresAt": expired}))
        self.write_config(config_with(", aws_profile: sso-prod"))
        before = self.service()
        r = self.rollback("ecs", "--env", "prod", "--reason", "500s after deploy", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 5)
        self.assertIn("aws sso login --profile sso-prod", r.stderr)
        self.assertEqual(self.service()["deployments"][0]["taskDefinition"], before["deployments"][0]["taskDefinition"])
        self.assertNoSecrets(r.stdout, r.stderr, also=("expired-sso-token-value",))


if __name__ == "__main__":
    unittest.main()
