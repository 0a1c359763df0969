"""rollback state list|show|diff|restore against the sandbox's versioned S3 buckets and DynamoDB
lock table, and rollback infra (revert the infrastructure PR; plan and apply a known-good Terraform
folder with a stand-in terraform) against real git repositories.

What is checked is what Terraform will find afterwards: the serial, lineage and bytes of the
current state object, the digest item (MD5 computed here with hashlib), the version list, the lock
item and the .tflock object, plus the journal and the backup file."""

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import time
import unittest
import uuid

from harness import SOURCE_DIR, GitRepos, RollbackTestCase, Sandbox, git, wait_for

# The project's own fixtures (tests/fixtures/terraform/), so these tests run on a clone alone.
TFSTATE = os.path.join(SOURCE_DIR, "tests", "fixtures", "terraform", "tfstate")
PLANS = os.path.join(SOURCE_DIR, "tests", "fixtures", "terraform", "plans")
FAKE_TERRAFORM = os.path.join(SOURCE_DIR, "tests", "infra", "fake-terraform")
TABLE = "connect2-api-terraform-locks"
LINEAGE = "7d3c2a51-9b6e-4f0a-8c1d-2e5f6a7b8c90"  # simple.tfstate and modules.tfstate share it


def load_state(name):
    with open(os.path.join(TFSTATE, name)) as f:
        return json.load(f)


def state_bytes(doc, serial):
    doc = dict(doc)
    doc["serial"] = serial
    return (json.dumps(doc, indent=2) + "\n").encode()


def lock_info(who, operation, minutes_ago=7, path=""):
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - minutes_ago * 60))
    return json.dumps({"ID": str(uuid.uuid4()), "Operation": operation, "Info": "", "Who": who,
                       "Version": "1.9.5", "Created": created, "Path": path})


class StateSandbox:
    """One sandbox per test class, with S3 and DynamoDB clients (the state bucket and lock table)."""

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox()
        cls.s3 = cls.sandbox.client("s3")
        cls.ddb = cls.sandbox.client("dynamodb")

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()


class StateTest(StateSandbox, RollbackTestCase):
    """One sandbox for the class; every test uses its own state key, so tests cannot see each other."""

    def setUp(self):
        super().setUp()
        self.key = f"api/{self._testMethodName}.tfstate"
        self.use_lockfile = False
        self.configure()
        self.addCleanup(self.sandbox.control, "faults", method="DELETE")

    def configure(self, workspace="default", table=TABLE, use_lockfile=False):
        self.use_lockfile = use_lockfile
        state = f"key: {self.key}, workspace: {workspace}, use_lockfile: {'true' if use_lockfile else 'false'}"
        if table:
            state += f", dynamodb_table: {table}"
        self.write_config(f"""app: connect2-api
region: us-east-1
environments:
  dev:  {{ branch: development, terraform: {{ state: {{ {state} }} }} }}
  prod: {{ branch: main, protected: true, terraform: {{ state: {{ {state} }} }} }}
""")

    # -- the bucket and the table, read with boto3 -------------------------------------------
    def bucket(self, env="dev"):
        return f"connect2-api-terraform-state-{env}"

    def put_versions(self, docs, env="dev", key=None, digest=True):
        """Writes each (doc, serial) or raw bytes as successive versions; returns their ids."""
        ids = []
        body = b""
        for item in docs:
            body = item if isinstance(item, bytes) else state_bytes(*item)
            ids.append(self.s3.put_object(Bucket=self.bucket(env), Key=key or self.key, Body=body)["VersionId"])
        if digest:
            self.set_digest(hashlib.md5(body).hexdigest(), env)
        return ids

    def lock_id(self, env="dev"):
        return f"{self.bucket(env)}/{self.key}"

    def set_digest(self, value, env="dev"):
        self.ddb.put_item(TableName=TABLE, Item={"LockID": {"S": self.lock_id(env) + "-md5"}, "Digest": {"S": value}})

    def digest(self, env="dev"):
        item = self.ddb.get_item(TableName=TABLE, Key={"LockID": {"S": self.lock_id(env) + "-md5"}},
                                 ConsistentRead=True).get("Item")
        return item["Digest"]["S"] if item else None

    def lock_item(self, env="dev"):
        item = self.ddb.get_item(TableName=TABLE, Key={"LockID": {"S": self.lock_id(env)}}, ConsistentRead=True).get("Item")
        return json.loads(item["Info"]["S"]) if item else None

    def versions(self, env="dev", key=None):
        """[(version id, is latest)] of exactly the key, newest first, delete markers excluded."""
        r = self.s3.list_object_versions(Bucket=self.bucket(env), Prefix=key or self.key)
        return [(v["VersionId"], v["IsLatest"]) for v in r.get("Versions", []) if v["Key"] == (key or self.key)]

    def current(self, env="dev"):
        return self.s3.get_object(Bucket=self.bucket(env), Key=self.key)["Body"].read()

    def tflock_exists(self, env="dev"):
        try:
            self.s3.head_object(Bucket=self.bucket(env), Key=self.key + ".tflock")
            return True
        except self.s3.exceptions.ClientError:
            return False

    def snapshot(self, env="dev"):
        return (self.versions(env), self.current(env), self.digest(env), self.lock_item(env), self.tflock_exists(env))

    def restore(self, *args, env="dev", **kw):
        return self.rollback("state", "restore", "--env", env, *args, sandbox=self.sandbox, **kw)

    def three_versions(self):
        """serial 1: simple without foo, 2: modules, 3: simple; one lineage."""
        simple = load_state("simple.tfstate")
        smaller = dict(simple)
        smaller["resources"] = [r for r in simple["resources"] if r["name"] != "foo"]
        self.first = smaller
        return self.put_versions([(smaller, 1), (load_state("modules.tfstate"), 2), (simple, 3)])

    # -- restore ------------------------------------------------------------------------------
    def test_restore_leaves_serial_lineage_digest_and_versions_as_terraform_expects(self):
        v1, v2, v3 = self.three_versions()
        replaced = self.current()
        r = self.restore("--version-id", v1, "--reason", "state corrupted by a bad import")
        self.assertExit(r, 0)
        self.assertNoSecrets(r.stdout, r.stderr)

        body = self.current()
        doc = json.loads(body)
        self.assertEqual(doc["serial"], 4)  # old current (3) + 1, above every version Terraform saw
        self.assertEqual(doc["lineage"], LINEAGE)
        target = json.loads(state_bytes(self.first, 1))
        self.assertEqual(doc["resources"], target["resources"])
        self.assertEqual(doc["outputs"], target["outputs"])
        self.assertEqual(self.digest(), hashlib.md5(body).hexdigest())
        versions = self.versions()
        self.assertEqual(len(versions), 4)
        self.assertTrue(versions[0][1])
        self.assertEqual([v for v, _ in versions[1:]], [v3, v2, v1])  # the old versions all stay
        self.assertIsNone(self.lock_item())
        self.assertFalse(self.tflock_exists())

        # Orphans (in the replaced state, not in the restored one) and the reverse are named.
        self.assertIn("Orphaned", r.stdout)
        self.assertIn("null_resource.foo[0]", r.stdout)
        self.assertIn("saved plans made before the restore are stale", r.stderr)

        [entry] = self.journal()
        self.assertEqual(entry["layer"], "state")
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["from_ref"], v3)
        self.assertEqual(entry["to_ref"], v1)
        self.assertEqual(entry["reason"], "state corrupted by a bad import")
        self.assertEqual(entry["details"]["steps_done"],
                         ["lock", "read_current", "read_target", "backup", "write", "digest", "unlock"])
        self.assertEqual(entry["details"]["new_version_id"], versions[0][0])
        backup = entry["details"]["backup"]
        self.assertIn(backup, r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(backup).st_mode), 0o600)
        with open(backup, "rb") as f:
            self.assertEqual(f.read(), replaced)
        for step in ("took Terraform's lock", "saved the current state", "wrote the restored state",
                     "updated the digest", "released Terraform's lock"):
            self.assertTrue(any(step in e for e in entry["events"]), step)

    def test_restore_json_output_and_lockfile_backend(self):
        self.configure(use_lockfile=True)
        v1, v2, v3 = self.three_versions()
        r = self.restore("--version-id", v2, "--output", "json")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertTrue(result["ok"])
        self.assertEqual(result["version_id"], v2)
        self.assertEqual(result["replaced_version_id"], v3)
        self.assertEqual(result["serial"], {"replaced": 3, "target": 2, "new": 4})
        self.assertEqual(result["new_version_id"], self.versions()[0][0])
        self.assertEqual(result["md5"], hashlib.md5(self.current()).hexdigest())
        self.assertEqual(result["md5"], self.digest())
        self.assertIn('module.modB.null_resource.bar["a"]', result["only_in_restored"])
        self.assertEqual(result["steps_done"][-1], "unlock")
        # The .tflock object was taken and released: only a delete marker is left, and `state list`
        # never shows it.
        self.assertFalse(self.tflock_exists())
        self.assertIsNone(self.lock_item())
        listed = self.rollback("state", "list", "--env", "dev", "--output", "json", sandbox=self.sandbox)
        self.assertExit(listed, 0)
        ids = [v["version_id"] for v in json.loads(listed.stdout)["versions"]]
        self.assertEqual(ids, [v for v, _ in self.versions()])

    def test_held_terraform_lock_refuses_with_its_holder_and_changes_nothing(self):
        v1, _, _ = self.three_versions()
        info = lock_info("alice@ops-laptop", "OperationTypeApply", path=self.lock_id())
        self.ddb.put_item(TableName=TABLE, Item={"LockID": {"S": self.lock_id()}, "Info": {"S": info}})
        before = self.snapshot()
        r = self.restore("--version-id", v1)
        self.assertExit(r, 4)
        self.assertIn("alice@ops-laptop", r.stderr)
        self.assertIn("OperationTypeApply", r.stderr)
        self.assertIn("since", r.stderr)
        self.assertIn("terraform force-unlock -force " + json.loads(info)["ID"], r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.lock_item()["Who"], "alice@ops-laptop")
        [entry] = self.journal()
        self.assertEqual(entry["details"]["steps_done"], [])
        # The dry run reports the same.
        r = self.restore("--version-id", v1, "--dry-run")
        self.assertExit(r, 4)
        self.assertIn("alice@ops-laptop", r.stderr)

    def test_held_tflock_object_refuses(self):
        self.configure(use_lockfile=True)
        v1, _, _ = self.three_versions()
        self.s3.put_object(Bucket=self.bucket(), Key=self.key + ".tflock",
                           Body=lock_info("ci@runner-7", "OperationTypePlan", path=self.lock_id()).encode())
        before = self.snapshot()
        r = self.restore("--version-id", v1)
        self.assertExit(r, 4)
        self.assertIn("ci@runner-7", r.stderr)
        self.assertIn(".tflock", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_lineage_mismatch_refuses_and_changes_nothing(self):
        foreign = load_state("other-lineage.tfstate")
        foreign["lineage"] = str(uuid.uuid4())  # another state's history
        simple = load_state("simple.tfstate")
        vf, _, _ = self.put_versions([(foreign, 9), (simple, 1), (load_state("modules.tfstate"), 2)])
        before = self.snapshot()
        r = self.restore("--version-id", vf)
        self.assertExit(r, 3)
        self.assertIn("lineage", r.stderr)
        self.assertIn("--force-lineage", r.stderr)
        self.assertEqual(self.snapshot(), before)
        backups = os.path.join(self.state, "rollback", "backups", "terraform-state")
        self.assertEqual(os.listdir(backups) if os.path.isdir(backups) else [], [])
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "refused")
        self.assertEqual(entry["details"]["steps_done"], ["lock", "read_current"])
        # --force-lineage needs the typed confirmation: without a terminal and without --yes, refused.
        r = self.restore("--version-id", vf, "--force-lineage")
        self.assertExit(r, 3)
        self.assertIn("needs confirmation", r.stderr)
        self.assertEqual(self.snapshot(), before)
        r = self.restore("--version-id", vf, "--force-lineage", "--yes")
        self.assertExit(r, 0)
        doc = json.loads(self.current())
        self.assertEqual(doc["lineage"], foreign["lineage"])
        self.assertEqual(doc["serial"], 10)  # above both 2 and 9

    def test_encrypted_state_refuses(self):
        encrypted = json.dumps({"meta": {"key_provider.pbkdf2.main": "eyJzYWx0IjoiIn0="},
                                "encrypted_data": "ZW5jcnlwdGVk", "encryption_version": "v0"}).encode()
        simple = load_state("simple.tfstate")
        ve, _ = self.put_versions([encrypted, (simple, 3)])
        before = self.snapshot()
        r = self.restore("--version-id", ve)
        self.assertExit(r, 3)
        self.assertIn("encrypted", r.stderr)
        self.assertIn("tofu state push", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_digest_mismatch_refuses_unless_forced(self):
        v1, _, _ = self.three_versions()
        self.set_digest("0" * 32)
        before = self.snapshot()
        r = self.restore("--version-id", v1)
        self.assertExit(r, 3)
        self.assertIn("does not match its digest", r.stderr)
        self.assertIn("--force", r.stderr)
        self.assertEqual(self.snapshot(), before)
        r = self.restore("--version-id", v1, "--force")
        self.assertExit(r, 0)
        self.assertEqual(self.digest(), hashlib.md5(self.current()).hexdigest())

    def test_target_equal_to_current_content_is_refused(self):
        simple = load_state("simple.tfstate")
        v1, _ = self.put_versions([(simple, 1), (simple, 2)])
        before = self.snapshot()
        r = self.restore("--version-id", v1)
        self.assertExit(r, 3)
        self.assertIn("would change nothing", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_dry_run_changes_nothing(self):
        v1, _, _ = self.three_versions()
        before = self.snapshot()
        self.sandbox.control("calls/reset", {})
        r = self.restore("--version-id", v1[:12], "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("serial 4", r.stdout)
        self.assertIn("dry run: nothing was changed", r.stdout)
        self.assertEqual(self.snapshot(), before)
        calls = self.sandbox.control("calls")["calls"]
        self.assertEqual([c for c in calls if c["method"] in ("PUT", "DELETE") or
                          c["operation"] in ("PutItem", "DeleteItem", "UpdateItem")], [])
        self.assertEqual(self.journal(), [])
        r = self.restore("--version-id", v1, "--dry-run", "--output", "json")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertTrue(result["dry_run"])
        self.assertEqual(result["serial"]["new"], 4)
        self.assertEqual(result["steps_done"], ["read_current", "read_target"])

    def test_protected_environment_needs_confirmation(self):
        simple = load_state("simple.tfstate")
        modules = load_state("modules.tfstate")
        v1, _ = self.put_versions([(simple, 1), (modules, 2)], env="prod")
        before = self.snapshot("prod")
        r = self.restore("--version-id", v1, "--reason", "the apply corrupted the state", env="prod")
        self.assertExit(r, 3)
        self.assertIn("protected environment", r.stderr)
        self.assertEqual(self.snapshot("prod"), before)
        self.assertIsNone(self.lock_item("prod"))

    def wait_for_call(self, predicate, what):
        return wait_for(lambda: [c for c in self.sandbox.control("calls")["calls"] if predicate(c)],
                        timeout=30, interval=0.05, message=what)

    def test_ctrl_c_during_the_write_completes_it_and_leaves_no_lock(self):
        v1, _, _ = self.three_versions()
        self.sandbox.control("calls/reset", {})
        self.sandbox.control("faults", {"rules": [{"operation": "PUT /connect2-api-terraform-state-*", "kind": "latency",
                                                   "ms": 3000, "count": 1}]})
        p = self.start_rollback("state", "restore", "--env", "dev", "--version-id", v1, sandbox=self.sandbox)
        self.wait_for_call(lambda c: c["method"] == "PUT" and c["path"].endswith(self.key), "the state PutObject")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, out + err)
        self.assertIn("the restore is complete", err)
        # Consistent: the new state is current, its digest matches, no lock is left.
        body = self.current()
        self.assertEqual(json.loads(body)["serial"], 4)
        self.assertEqual(self.digest(), hashlib.md5(body).hexdigest())
        self.assertIsNone(self.lock_item())
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "interrupted")
        self.assertEqual(entry["details"]["steps_done"],
                         ["lock", "read_current", "read_target", "backup", "write", "digest", "unlock"])

    def test_ctrl_c_before_the_write_changes_nothing_and_leaves_no_lock(self):
        v1, _, _ = self.three_versions()
        before = self.snapshot()
        self.sandbox.control("calls/reset", {})
        # The digest read of step 2 is slow; Ctrl-C arrives during it.
        self.sandbox.control("faults", {"rules": [{"operation": "GetItem", "kind": "latency", "ms": 3000, "count": 1}]})
        p = self.start_rollback("state", "restore", "--env", "dev", "--version-id", v1, sandbox=self.sandbox)
        self.wait_for_call(lambda c: c["operation"] == "GetItem", "the digest GetItem")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, out + err)
        self.assertIn("nothing was written", err)
        self.assertEqual(self.snapshot(), before)
        self.assertIsNone(self.lock_item())
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "interrupted")
        self.assertEqual(entry["details"]["steps_done"], ["lock", "read_current"])

    def test_killed_restore_leaves_a_lock_the_next_one_names(self):
        v1, _, _ = self.three_versions()
        self.sandbox.control("calls/reset", {})
        self.sandbox.control("faults", {"rules": [{"operation": "PUT /connect2-api-terraform-state-*", "kind": "latency",
                                                   "ms": 2000, "count": 1}]})
        p = self.start_rollback("state", "restore", "--env", "dev", "--version-id", v1, sandbox=self.sandbox)
        self.wait_for_call(lambda c: c["method"] == "PUT" and c["path"].endswith(self.key), "the state PutObject")
        p.kill()
        p.communicate(timeout=30)
        time.sleep(2.5)  # the server finishes the PUT it had received
        held = self.lock_item()
        self.assertEqual(held["Operation"], "rollback state restore")
        # Our own environment lock was left too; `rollback unlock` breaks it, Terraform's stays.
        r = self.restore("--version-id", v1)
        self.assertExit(r, 4)
        r = self.rollback("unlock", "--env", "dev", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 0)
        r = self.restore("--version-id", v1)
        self.assertExit(r, 4)
        self.assertIn("rollback state restore", r.stderr)
        self.assertIn(held["ID"], r.stderr)
        self.assertIn("did not finish", r.stderr)

    # -- list / show / diff ---------------------------------------------------------------------
    def test_list_show_and_diff(self):
        v1, v2, v3 = self.three_versions()
        # Neighbours the listing must not show: the lock object and a "-backup" key.
        self.s3.put_object(Bucket=self.bucket(), Key=self.key + ".tflock", Body=b"{}")
        self.s3.put_object(Bucket=self.bucket(), Key=self.key + "-backup", Body=b"{}")
        r = self.rollback("state", "list", "--env", "dev", "--details", sandbox=self.sandbox)
        self.assertExit(r, 0)
        lines = [l for l in r.stdout.splitlines() if any(v in l for v in (v1, v2, v3))]
        self.assertEqual(len(lines), 3)
        self.assertIn(v3, lines[0])
        self.assertIn("<- current", lines[0])
        self.assertIn(v1, lines[2])
        self.assertNotIn(".tflock", r.stdout.replace("Terraform's lock", ""))
        self.assertIn("7d3c2a51", lines[0])
        r = self.rollback("state", "list", "--env", "dev", "--details", "--output", "json", sandbox=self.sandbox)
        result = json.loads(r.stdout)
        self.assertEqual([v["version_id"] for v in result["versions"]], [v3, v2, v1])
        self.assertEqual([v["serial"] for v in result["versions"]], [3, 2, 1])
        self.assertEqual([v["current"] for v in result["versions"]], [True, False, False])
        self.assertEqual([v["resources"] for v in result["versions"]], [3, 4, 1])
        self.assertEqual(result["versions"][0]["lineage"], LINEAGE)
        self.assertEqual(result["versions"][0]["terraform_version"], "0.12.0")

        r = self.rollback("state", "show", "--env", "dev", "--version-id", v2, "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        shown = json.loads(r.stdout)
        self.assertEqual(shown["serial"], 2)
        self.assertEqual(shown["lineage"], LINEAGE)
        self.assertEqual(shown["terraform_version"], "0.12.0")
        self.assertIn("module.modA.null_resource.resource", shown["resources"])
        self.assertFalse(shown["current"])
        r = self.rollback("state", "show", "--env", "dev", "--version-id", v2, sandbox=self.sandbox)
        self.assertIn("serial     2", r.stdout)
        self.assertIn('module.modB.null_resource.bar["a"]', r.stdout)

        r = self.rollback("state", "diff", "--env", "dev", "--version-id", v1, "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        d = json.loads(r.stdout)["diff"]
        self.assertEqual(d["only_in_a"], ["null_resource.foo[0]", "null_resource.foo[1]"])  # orphaned by a restore
        self.assertEqual(d["only_in_b"], [])
        r = self.rollback("state", "diff", "--env", "dev", "--version-id", v3, "--against", v2, sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("- module.modA.null_resource.resource", r.stdout)
        self.assertIn("+ null_resource.foo[0]", r.stdout)

        r = self.rollback("state", "show", "--env", "dev", "--version-id", "not-a-version", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn(v3, r.stderr)  # names the versions that exist

    def test_workspace_state_lives_under_env_prefix(self):
        self.configure(workspace="blue")
        ws_key = f"env:/blue/{self.key}"
        simple = load_state("simple.tfstate")
        ids = self.put_versions([(simple, 1), (load_state("modules.tfstate"), 2)], key=ws_key, digest=False)
        r = self.rollback("state", "list", "--env", "dev", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertEqual(result["key"], ws_key)
        self.assertEqual([v["version_id"] for v in result["versions"]], list(reversed(ids)))
        r = self.restore("--version-id", ids[0])
        self.assertExit(r, 0)
        body = self.s3.get_object(Bucket=self.bucket(), Key=ws_key)["Body"].read()
        self.assertEqual(json.loads(body)["serial"], 3)
        item = self.ddb.get_item(TableName=TABLE, Key={"LockID": {"S": f"{self.bucket()}/{ws_key}-md5"}})["Item"]
        self.assertEqual(item["Digest"]["S"], hashlib.md5(body).hexdigest())


class InfraRepoCase(RollbackTestCase):
    """A repository with Terraform environments and a stand-in terraform; no tests of its own."""

    def setUp(self):
        super().setUp()
        self.repos = GitRepos(self.work)
        self.cfg = os.path.join(self.work, "rollback.yaml")
        self.tf_log = os.path.join(self.work, "terraform.log")
        self.seen = os.path.join(self.work, "main.tf.seen")
        # A terraform that records which main.tf it was run on, then behaves like the stand-in.
        self.wrapper = os.path.join(self.work, "terraform-wrapper")
        with open(self.wrapper, "w") as f:
            f.write(f"#!/bin/sh\n[ \"$1\" = plan ] && cat main.tf > '{self.seen}'\n"
                    f"[ \"$1\" = plan ] && ls > '{self.seen}.files'\nexec '{FAKE_TERRAFORM}' \"$@\"\n")
        os.chmod(self.wrapper, 0o755)
        self.write_config(self.config_text + f"repo: clone\nterraform: {{ binary: {self.wrapper} }}\n")
        self.good = self.repos.squash_pr({"infrastructure/terraform/environments/prod/main.tf": "# good\n",
                                           "infrastructure/terraform/environments/dev/main.tf": "# good\n"},
                                          "Terraform environments")[1]
        for branch in ("development", "staging"):
            git(self.repos.clone, "push", "-f", "origin", f"main:{branch}")

    def infra(self, *args, plan="delete.plan.json", **kw):
        env = self.env(FAKE_TF_LOG=self.tf_log, FAKE_TF_PLAN_JSON=os.path.join(PLANS, plan))
        return self.rollback("infra", "--config", self.cfg, *args, env=env, **kw)

    def tf_calls(self):
        if not os.path.exists(self.tf_log):
            return []
        with open(self.tf_log) as f:
            return [l.split(" ", 1)[1].split() for l in f.read().splitlines()]

    def break_infra(self, env_dir="prod", base="main"):
        return self.repos.merge_pr({f"infrastructure/terraform/environments/{env_dir}/main.tf": "# bad\n",
                                    f"infrastructure/terraform/environments/{env_dir}/redis.tf": "# new\n"},
                                   "Move Redis", base=base)



class InfraTest(InfraRepoCase):
    """rollback infra: Method 1 (revert the PR) and Method 2 (known-good folder, stand-in terraform)."""

    # -- Method 2 -------------------------------------------------------------------------------
    def test_known_good_deletes_need_typed_confirmation_and_apply_runs_the_saved_plan(self):
        self.break_infra()
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--known-good", self.good)
        self.assertExit(r, 3)
        self.assertIn("destroys local_file.local_file", r.stderr)
        self.assertIn("Plan: 0 to add, 0 to change, 1 to destroy.", r.stdout)
        self.assertEqual([c[0] for c in self.tf_calls()], ["init", "plan", "show"])  # apply never ran
        with open(self.seen) as f:
            self.assertEqual(f.read(), "# good\n")  # planned on the known-good folder
        with open(self.seen + ".files") as f:
            self.assertNotIn("redis.tf", f.read())  # files added since are gone too (--no-overlay)
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "refused")

        os.remove(self.tf_log)
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--known-good", self.good, "--yes", "--output", "json")
        self.assertExit(r, 0)
        calls = self.tf_calls()
        self.assertEqual([c[0] for c in calls], ["init", "plan", "show", "apply"])
        plan_out = [a for a in calls[1] if a.startswith("-out=")][0][len("-out="):]
        self.assertEqual(calls[3][-1], plan_out)  # the saved plan, never a fresh one
        self.assertEqual(calls[2], ["show", "-json", plan_out])
        self.assertTrue(calls[0] and "-input=false" in calls[0])
        with open(self.tf_log) as f:
            cwd = f.readline().split(" ", 1)[0]
        self.assertTrue(cwd.endswith("/infrastructure/terraform/environments/prod"), cwd)
        self.assertFalse(os.path.exists(os.path.dirname(plan_out)))  # private temp dir removed
        result = json.loads(r.stdout)
        self.assertTrue(result["applied"])
        self.assertEqual(result["plan"]["deletes"], ["local_file.local_file"])
        self.assertEqual(result["plan"]["to_destroy"], 1)
        self.assertEqual(result["plan"]["reasons"]["local_file.local_file"].split()[0:2], ["no", "longer"])
        self.assertIn(f"git checkout --no-overlay {self.good} -- infrastructure/terraform/", result["follow_up"])
        self.assertIn("git commit", result["follow_up"])
        [entry] = [e for e in self.journal() if e["outcome"] != "refused"]
        self.assertEqual(entry["layer"], "infra")
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["to_ref"], self.good)
        self.assertTrue(entry["details"]["applied"])
        # The scratch worktree is gone; the user's clone is untouched.
        self.assertEqual(len(git(self.repos.clone, "worktree", "list").splitlines()), 1)

    def test_known_good_replacement_summary_and_update_without_confirmation(self):
        self.break_infra(env_dir="dev", base="development")
        r = self.infra("--env", "dev", "--known-good", self.good, plan="replace_tainted.plan.json")
        self.assertExit(r, 3)
        self.assertIn("-/+ null_resource.example", r.stdout)
        self.assertIn("replaces null_resource.example", r.stderr)
        self.assertNotIn("apply", [c[0] for c in self.tf_calls()])
        os.remove(self.tf_log)
        # An in-place update destroys nothing: an unprotected environment needs no confirmation.
        r = self.infra("--env", "dev", "--known-good", self.good, plan="update.plan.json")
        self.assertExit(r, 0)
        self.assertIn("~ tfcoremock_list.list", r.stdout)
        self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", r.stdout)
        self.assertEqual([c[0] for c in self.tf_calls()], ["init", "plan", "show", "apply"])
        self.assertIn(f"git checkout --no-overlay {self.good} -- infrastructure/terraform/", r.stdout)

    def test_known_good_when_git_already_matches_gives_no_git_advice(self):
        # Nothing changed the folder since the known-good commit: git already matches what is
        # applied, so the "make git match" commands would commit nothing and are not printed.
        r = self.infra("--env", "dev", "--known-good", self.good, plan="update.plan.json")
        self.assertExit(r, 0)
        self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", r.stdout)
        self.assertIn("git already matches", r.stdout)
        self.assertNotIn("git checkout --no-overlay", r.stdout)
        self.assertNotIn("Next: make git match", r.stdout)
        os.remove(self.tf_log)
        r = self.infra("--env", "dev", "--known-good", self.good, "--output", "json", plan="update.plan.json")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertTrue(result["git_matches"])
        self.assertNotIn("follow_up", result)
        self.assertTrue(result["applied"])
        self.assertEqual(result["rollback_id"], self.journal()[0]["id"])
        self.assertEqual(r.stderr, "")

    def test_known_good_dry_run_stops_after_the_plan(self):
        self.break_infra()
        r = self.infra("--env", "prod", "--known-good", self.good, "--dry-run", plan="read_and_create.plan.json")
        self.assertExit(r, 0)
        self.assertIn("Plan: 3 to add, 0 to change, 0 to destroy.", r.stdout)
        self.assertIn("dry run", r.stdout)
        self.assertEqual([c[0] for c in self.tf_calls()], ["init", "plan", "show"])
        self.assertEqual(self.journal(), [])

    def test_known_good_terraform_failure_is_reported_and_journaled(self):
        env = self.env(FAKE_TF_LOG=self.tf_log, FAKE_TF_PLAN_JSON=os.path.join(PLANS, "delete.plan.json"),
                       FAKE_TF_FAIL="plan")
        r = self.rollback("infra", "--config", self.cfg, "--env", "dev", "--known-good", self.good, env=env)
        self.assertExit(r, 1)
        self.assertIn("simulated failure of plan", r.stderr)
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "failed")

    def test_known_good_without_a_terraform_binary(self):
        self.write_config(self.config_text + "repo: clone\nterraform: { binary: no-such-terraform }\n")
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--known-good", self.good, "--yes")
        self.assertExit(r, 2)
        self.assertIn("no-such-terraform", r.stderr)
        self.assertEqual(self.journal(), [])

    def test_known_good_unknown_commit(self):
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--known-good", "0123456789abcdef", "--yes")
        self.assertExit(r, 2)
        self.assertEqual(self.tf_calls(), [])

    # -- Method 1 -------------------------------------------------------------------------------
    def test_reverts_an_infrastructure_pr_and_says_what_ci_applies(self):
        number, merge = self.break_infra()
        r = self.infra("--env", "prod", "--pr", str(number), "--yes", "--reason", "Redis unreachable", "--no-wait")
        self.assertExit(r, 0)
        _, subject = self.repos.origin_log()[0].split(" ", 1)
        self.assertEqual(subject, f'Revert "Merge pull request #{number} from team/feature-{number}"')
        self.assertEqual(self.repos.origin_file("infrastructure/terraform/environments/prod/main.tf"), "# good\n")
        self.assertIsNone(self.repos.origin_file("infrastructure/terraform/environments/prod/redis.tf"))
        self.assertIn("CI should now plan and apply infrastructure/terraform/environments/prod", r.stdout)
        self.assertIn("not waiting for CI's apply (--no-wait)", r.stdout)
        self.assertIn("--known-good", r.stdout)
        [entry] = self.journal()
        self.assertEqual(entry["layer"], "infra")
        self.assertFalse(entry["details"]["apply_seen"])
        self.assertEqual(entry["details"]["reverted_commits"][0]["sha"], merge)
        self.assertEqual(self.tf_calls(), [])  # CI applies, not us

    def test_pure_application_pr_is_refused(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"})
        before = self.repos.origin_log()
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--pr", str(number), "--yes")
        self.assertExit(r, 3)
        self.assertIn("application code", r.stderr)
        self.assertIn("rollback app", r.stderr)
        self.assertEqual(self.repos.origin_log(), before)

    def test_mixed_pr_warns_and_reverts(self):
        number, _ = self.repos.merge_pr({"app/main.py": "new\n",
                                         "infrastructure/terraform/environments/prod/main.tf": "# bad\n"})
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--pr", str(number), "--yes", "--no-wait")
        self.assertExit(r, 0)
        self.assertIn("also changes application code", r.stderr)
        self.assertEqual(self.repos.origin_file("app/main.py"), "def handler():\n    return 'ok'\n")

    def test_known_good_and_pr_are_exclusive(self):
        r = self.infra("--env", "prod", "--pr", "1", "--known-good", self.good)
        self.assertExit(r, 2)



class InfraApplyWaitTest(StateSandbox, InfraRepoCase):
    """rollback infra --pr waits for CI's Terraform apply: a new state version after the push, the lock free.
    "CI" here is a thread that sees the revert land on the remote branch, takes Terraform's DynamoDB
    lock, writes the next state version and releases the lock, as an apply does."""

    def setUp(self):
        super().setUp()
        self.key = f"api/{self._testMethodName}.tfstate"
        self.bucket = "connect2-api-terraform-state-prod"
        prod = (f"prod: {{ branch: main, protected: true, verify: {{ bake: 1s }}, "
                f"terraform: {{ state: {{ key: {self.key}, dynamodb_table: {TABLE} }} }} }}")
        self.write_config(self.config_text.replace(
            "prod:    { branch: main, protected: true, verify: { bake: 1s } }", prod) +
            f"repo: clone\nterraform: {{ binary: {self.wrapper} }}\n")
        self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=state_bytes({"serial": 1}, 1))

    def infra(self, *args, plan="delete.plan.json", tf_env=None, **kw):
        env = self.env(self.sandbox, FAKE_TF_LOG=self.tf_log, FAKE_TF_PLAN_JSON=os.path.join(PLANS, plan),
                       **(tf_env or {}))
        return self.rollback("infra", "--config", self.cfg, *args, env=env, **kw)

    def revert_while_ci_applies(self, *extra, hold_lock=1.0, **kw):
        """`infra --pr N` of a broken-infra PR on prod while the fake CI applies the revert; returns
        the result and what CI wrote."""
        number, _ = self.break_infra()
        ci, wrote = self.fake_ci(self.repos.origin_log()[0], hold_lock=hold_lock)
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--pr", str(number), "--yes",
                       *extra, timeout=180, **kw)
        ci.join(30)
        return r, wrote

    def versions(self):
        r = self.s3.list_object_versions(Bucket=self.bucket, Prefix=self.key)
        return [v["VersionId"] for v in r.get("Versions", []) if v["Key"] == self.key]

    def fake_ci(self, before, hold_lock=6.0):
        """Applies once the remote branch moves past `before`; returns the thread and what it wrote.
        The lock is held `hold_lock` seconds before and after the write: longer than the tool's 5 s
        poll, so a poll sees it held in each phase."""
        wrote = {}

        def run():
            deadline = time.time() + 60
            while time.time() < deadline and self.repos.origin_log()[0] == before:
                time.sleep(0.2)
            lock_id = f"{self.bucket}/{self.key}"
            info = json.dumps({"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Who": "ci@runner",
                               "Version": "1.9.5", "Created": "2026-11-30T10:00:00Z", "Path": lock_id})
            self.ddb.put_item(TableName=TABLE, Item={"LockID": {"S": lock_id}, "Info": {"S": info}})
            time.sleep(hold_lock)
            wrote["version"] = self.s3.put_object(Bucket=self.bucket, Key=self.key,
                                                  Body=state_bytes({"serial": 2}, 2))["VersionId"]
            time.sleep(hold_lock)
            self.ddb.delete_item(TableName=TABLE, Key={"LockID": {"S": lock_id}})

        import threading
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, wrote

    def test_waits_until_ci_wrote_a_new_state_version_and_released_the_lock(self):
        r, wrote = self.revert_while_ci_applies("--output", "json", hold_lock=6.0)
        self.assertExit(r, 0)
        self.assertIn("version", wrote)
        result = json.loads(r.stdout)
        self.assertEqual(result["outcome"], "succeeded")
        self.assertTrue(any("CI applied the revert" in v and wrote["version"] in v for v in result["verified"]),
                        result["verified"])
        [entry] = self.journal()
        self.assertTrue(entry["details"]["apply_seen"])
        self.assertEqual(entry["details"]["applied_state_version"], wrote["version"])
        events = entry["events"]
        self.assertTrue(any("held by ci@runner (OperationTypeApply)" in m for m in events), events)
        self.assertTrue(any(f"wrote state version {wrote['version']}" in m for m in events), events)

    def test_an_apply_that_never_comes_fails_the_rollback_after_the_timeout(self):
        number, _ = self.break_infra()
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--pr", str(number), "--yes", "--timeout", "3s")
        self.assertExit(r, 1)
        self.assertIn("CI's Terraform apply was not seen within 3s", r.stderr)
        self.assertIn("before the push", r.stderr)
        # The revert itself is pushed (nothing to undo); the journal says the apply was not seen.
        self.assertIsNone(self.repos.origin_file("infrastructure/terraform/environments/prod/redis.tf"))
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "failed")
        self.assertEqual(len(self.versions()), 1)  # read only: the watch wrote nothing

    # -- the plan of the reverted folder after the apply (real terraform: terraform_data needs no provider)
    def use_real_terraform(self):
        tf = shutil.which("terraform") or "/usr/local/bin/terraform"
        if not os.access(tf, os.X_OK):
            self.skipTest("terraform is not installed")
        with open(self.cfg) as f:
            text = f.read()
        self.write_config(text.replace(self.wrapper, tf))

    def test_a_plan_of_the_reverted_folder_without_changes_completes_the_wait(self):
        self.use_real_terraform()
        r, _ = self.revert_while_ci_applies()
        self.assertExit(r, 0)
        self.assertIn("shows no changes", r.stdout)
        [entry] = self.journal()
        check = entry["details"]["plan_check"]
        self.assertEqual(check["result"], "pass", check)
        self.assertIn("infrastructure/terraform/environments/prod", check["evidence"])

    def test_a_plan_that_still_shows_changes_after_the_apply_fails_the_step(self):
        self.use_real_terraform()
        # The reverted folder declares a resource the state does not hold: the plan would create it.
        self.repos.squash_pr({"infrastructure/terraform/environments/prod/main.tf": 'resource "terraform_data" "cache" {}\n'},
                             "Declare the cache")
        r, wrote = self.revert_while_ci_applies()
        self.assertExit(r, 1)
        self.assertIn("still shows 1 change", r.stderr)
        self.assertIn("terraform_data.cache", r.stderr)
        self.assertRegex(r.stderr, r'rollback infra --env prod --known-good [0-9a-f]+ --reason "…"')  # what to run
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "failed")
        self.assertEqual(entry["details"]["plan_check"]["result"], "fail")
        self.assertEqual(entry["details"]["applied_state_version"], wrote["version"])  # the apply itself was seen

    def test_a_folder_that_cannot_be_planned_is_recorded_as_skipped(self):
        r, _ = self.revert_while_ci_applies(tf_env={"FAKE_TF_FAIL": "init"})
        self.assertExit(r, 0)
        [entry] = self.journal()
        check = entry["details"]["plan_check"]
        self.assertEqual(check["result"], "skipped", check)
        self.assertIn("terraform init failed", check["evidence"])
        self.assertTrue(any("plan check after the apply was skipped" in e for e in entry["events"]), entry["events"])

    def test_no_wait_skips_the_wait_and_the_plan(self):
        number, _ = self.break_infra()
        r = self.infra("--env", "prod", "--reason", "the Redis change broke sessions", "--pr", str(number), "--yes",
                       "--no-wait")
        self.assertExit(r, 0)
        [entry] = self.journal()
        self.assertNotIn("plan_check", entry["details"])
        self.assertEqual(self.tf_calls(), [])  # terraform never ran


if __name__ == "__main__":
    unittest.main()
