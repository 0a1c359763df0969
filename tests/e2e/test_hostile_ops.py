"""Hostile and broken inputs on the operational paths (git, locks and state files, the journal,
Terraform, the database checkout), through the real binary against real git repositories, the
sandbox and SQLite. Each row of the table: the command, the exit code, a fragment of the message,
and the proof that nothing changed (origin's branches, the victim files, the journal, the clone).

Separate tests cover what a table row cannot: a journal that fails after the rollback succeeded
(exit 6 and the next command recording it), a state restore killed mid-write (the write-ahead
steps), and signals during a Terraform plan (forwarded; worktree, plan file and lock released)."""

import json
import os
import signal
import stat
import subprocess
import textwrap
import time
import unittest

from harness import GitRepos, RollbackTestCase, SharedSandboxTestCase, git, wait_for

NOBODY = 65534
FAKE_TF = textwrap.dedent("""\
    #!/bin/bash
    # A Terraform stand-in that holds a "state lock" file during plan and releases it on a signal,
    # as Terraform does on Ctrl-C; or fails like Terraform when that lock is held.
    case "$1" in
      init) echo "Terraform has been successfully initialized!" ;;
      plan)
        if [ -e "$FAKE_TF_LOCK" ]; then
          printf '\\nError: Error acquiring the state lock\\n\\nLock Info:\\n  ID:        %s\\n  Operation: OperationTypePlan\\n' \\
            "$(cat "$FAKE_TF_LOCK")" >&2
          exit 1
        fi
        echo "3f0c2a8e-5b7d-4e61-9a2b-1c3d4e5f6a7b" > "$FAKE_TF_LOCK"
        for sig in INT TERM HUP; do
          trap "echo $sig >> '$FAKE_TF_SIGNALS'; rm -f '$FAKE_TF_LOCK'; exit 1" $sig
        done
        i=0
        while [ $i -lt 2000 ]; do i=$((i + 1)); echo "plan progress line $i"; sleep 0.02; done
        rm -f "$FAKE_TF_LOCK"
        ;;
      *) echo "fake terraform: $*" >&2; exit 1 ;;
    esac
""")


def minimal_state(serial, lineage, names):
    return (json.dumps({
        "version": 4, "terraform_version": "1.9.5", "serial": serial, "lineage": lineage, "outputs": {},
        "resources": [{"mode": "managed", "type": "null_resource", "name": n, "provider":
                       "provider[\"registry.terraform.io/hashicorp/null\"]",
                       "instances": [{"schema_version": 0, "attributes": {"id": str(i)}}]}
                      for i, n in enumerate(names)],
        "check_results": None}, indent=2) + "\n").encode()


class HostileOpsTest(RollbackTestCase):
    """Rows without the sandbox: git repositories, the state folder, an SQLite database."""

    def setUp(self):
        super().setUp()
        self.repos = GitRepos(self.work)
        self.marker = os.path.join(self.work, "pwned")
        self.victim = os.path.join(self.work, "victim.txt")
        with open(self.victim, "w") as f:
            f.write("precious\n")
        self.number, self.merge = self.repos.merge_pr({"app/main.py": "def handler():\n    return 'broken'\n"}, "Break it")
        self.write_yaml()

    def write_yaml(self, remote=None, extra=""):
        text = self.config_text + "repo: clone\n"
        if remote is not None:
            text += f"remote: {json.dumps(remote)}\n"
        self.write_config(text + extra)

    # -- proofs that nothing changed ------------------------------------------------------------
    def origin_refs(self):
        return git(self.repos.origin, "for-each-ref", "--format=%(refname) %(objectname)")

    def clone_state(self):
        return (git(self.repos.clone, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"),
                git(self.repos.clone, "status", "--porcelain"),
                git(self.repos.clone, "worktree", "list", "--porcelain"))

    def snapshot(self):
        with open(self.victim) as f:
            victim = f.read()
        journal = None if os.path.islink(self.journal_path()) else [(j["id"], j["outcome"]) for j in self.journal()]
        return (self.origin_refs(), self.clone_state(), victim, os.path.exists(self.marker), journal)

    # -- scene setters ----------------------------------------------------------------------------
    def lock_dir(self):
        d = os.path.join(self.state, "rollback", "locks")
        os.makedirs(d, mode=0o700, exist_ok=True)
        return d

    def lock_path(self, env="prod"):
        return os.path.join(self.lock_dir(), f"connect2-api.{env}.lock")

    def plant_lock_symlink(self):
        os.symlink(self.victim, self.lock_path())

    def plant_lock_hardlink(self):
        os.link(self.victim, self.lock_path())

    def plant_stale_lock(self):
        with open(self.lock_path(), "w") as f:
            json.dump({"user": "bob", "host": "laptop", "pid": 999999, "command": "rollback app --env prod",
                       "since": "2026-11-30T01:00:00Z", "rollback_id": "20261130-010000-dead"}, f)

    def open_lock_dir(self):
        os.chmod(self.lock_dir(), 0o777)

    def foreign_state_dir(self):
        d = os.path.join(self.state, "rollback")
        os.makedirs(d, exist_ok=True)
        os.chown(d, NOBODY, NOBODY)

    def plant_journal_symlink(self):
        d = os.path.join(self.state, "rollback")
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.symlink(self.victim, os.path.join(d, "journal.db"))

    def lock_dir_symlink(self):
        real = os.path.join(self.work, "elsewhere")
        os.makedirs(real, mode=0o700)
        link = os.path.join(self.work, "locklink")
        os.symlink(real, link)
        return {"ROLLBACK_LOCK_DIR": link}

    def already_reverted(self):
        git(self.repos.clone, "fetch", "origin")
        git(self.repos.clone, "checkout", "-B", "main", "origin/main")
        git(self.repos.clone, "revert", "--no-edit", "-m", "1", self.merge)
        git(self.repos.clone, "push", "origin", "main")

    def conflicting_change(self):
        git(self.repos.clone, "fetch", "origin")
        git(self.repos.clone, "checkout", "-B", "main", "origin/main")
        self.repos.write("app/main.py", "def handler():\n    return 'rewritten since'\n")
        git(self.repos.clone, "commit", "-am", "Rewrite handler")
        git(self.repos.clone, "push", "origin", "main")

    def existing_remote_branch(self):
        git(self.repos.clone, "push", "origin", "main:refs/heads/hotfix")

    def live_lock(self):
        holder = subprocess.Popen(["python3", "-c", textwrap.dedent(f"""\
            import fcntl, json, os, sys, time
            fd = os.open({self.lock_path()!r}, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps({{"user": "alice", "host": "laptop", "pid": os.getpid(),
                                     "command": "rollback ecs --env prod", "since": "2026-11-30T03:00:00Z"}}).encode())
            print("held", flush=True)
            sys.stdin.read()
            """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.assertEqual(holder.stdout.readline().strip(), "held")
        self.addCleanup(holder.wait)
        self.addCleanup(holder.stdin.close)

    def stale_migrations(self):
        """origin/main reverted a migration; the clone did not pull."""
        self.repos.write("alembic/versions/0002_orders.py", "revision = '0002'\ndown_revision = '0001'\n")
        git(self.repos.clone, "add", "-A")
        git(self.repos.clone, "commit", "-m", "Add orders")
        git(self.repos.clone, "push", "origin", "HEAD:main")
        other = os.path.join(self.work, "other")
        git(self.work, "clone", self.repos.origin, other)
        git(other, "rm", "-q", "alembic/versions/0002_orders.py")
        git(other, "commit", "-m", "Revert orders")
        git(other, "push", "origin", "main")
        return {"DATABASE_URL": "sqlite:///" + os.path.join(self.work, "app.db")}

    def untracked_migration(self):
        git(self.repos.clone, "fetch", "origin")
        git(self.repos.clone, "checkout", "-B", "main", "origin/main")
        self.repos.write("alembic/versions/0003_local.py", "revision = '0003'\ndown_revision = '0001'\n")
        return {"DATABASE_URL": "sqlite:///" + os.path.join(self.work, "app.db")}

    # -- the table ----------------------------------------------------------------------------------
    def rows(self):
        pr = str(self.number)
        sha = self.merge
        m = self.marker
        app = ["app", "--env", "prod", "--reason", "the PR broke checkout", "--pr", pr]
        known_good = ["infra", "--env", "prod", "--known-good", sha[:12], "--dry-run"]
        R = lambda name, args, code, fragment, setup=None, remote=None, env=None: \
            dict(name=name, args=args, code=code, fragment=fragment, setup=setup, remote=remote, env=env)
        return [
            # Item 6: every value that reaches git's argument vector.
            R("remote --upload-pack in app --dry-run", app + ["--dry-run"], 2, "invalid git remote name",
              remote=f"--upload-pack=touch {m}"),
            R("remote --upload-pack in app (real run)", app + ["--yes"], 2, "would read it as an option",
              remote=f"--upload-pack=touch {m}"),
            R("remote -o", app + ["--dry-run"], 2, "invalid git remote name", remote="-o"),
            R("remote ext:: transport", app + ["--dry-run"], 2, "invalid git remote name", remote=f"ext::sh -c touch% {m}"),
            R("remote with a semicolon", app + ["--dry-run"], 2, "invalid git remote name", remote=f"origin;touch {m}"),
            R("remote with ..", app + ["--dry-run"], 2, "invalid git remote name", remote="../../origin"),
            R("remote --upload-pack in infra --known-good", known_good, 2, "invalid git remote name",
              remote=f"--upload-pack=touch {m}"),
            R("remote --upload-pack in infra --pr", ["infra", "--env", "prod", "--pr", pr, "--dry-run"], 2,
              "invalid git remote name", remote=f"--upload-pack=touch {m}"),
            R("remote --upload-pack in db status", ["db", "status", "--env", "prod"], 2, "invalid git remote name",
              remote=f"--upload-pack=touch {m}", env={"DATABASE_URL": "sqlite:///" + os.path.join(self.work, "x.db")}),
            R("--commit that is an option", ["app", "--env", "prod", f"--commit=--output={m}", "--dry-run"], 2,
              "is not a commit id"),
            R("--commit HEAD (symbolic)", ["app", "--env", "prod", "--commit", "HEAD", "--dry-run"], 2,
              "is not a commit id"),
            R("--range with an option", ["app", "--env", "prod", "--range", f"{sha[:8]}..--all", "--dry-run"], 2,
              "invalid range"),
            R("--range with revision syntax", ["app", "--env", "prod", "--range", "HEAD~1..HEAD", "--dry-run"], 2,
              "invalid range"),
            R("--known-good that is an option", ["infra", "--env", "prod", f"--known-good=--output={m}", "--dry-run"], 2,
              "is not a commit id"),
            R("--push-branch that is an option", app + ["--push-branch=--force", "--yes"], 2, "invalid branch name"),
            R("--push-branch with ..", app + ["--push-branch", "a..b", "--yes"], 2, "invalid branch name"),
            R("--push-branch ending .lock", app + ["--push-branch", "x.lock", "--yes"], 2, "invalid branch name"),
            R("--push-branch with a refspec colon", app + ["--push-branch", "x:main", "--yes"], 2, "invalid branch name"),
            # Item 17: --push-branch is a new branch, never an environment's.
            R("--push-branch main", app + ["--push-branch", "main", "--yes"], 3, "branch of a configured environment"),
            R("--push-branch another environment's branch", app + ["--push-branch", "staging", "--yes"], 3,
              "branch of a configured environment"),
            R("--push-branch main in a dry run", app + ["--push-branch", "main", "--dry-run"], 3,
              "branch of a configured environment"),
            R("--push-branch that exists on origin", app + ["--push-branch", "hotfix", "--yes"], 3, "already exists on origin",
              setup=self.existing_remote_branch),
            # Item 15: the dry run makes the real run's checks.
            R("dry run of an already reverted PR", app + ["--dry-run"], 3, "changes nothing", setup=self.already_reverted),
            R("dry run of a PR that no longer reverts cleanly", app + ["--dry-run"], 3, "conflicts",
              setup=self.conflicting_change),
            R("dry run while another rollback holds the lock", app + ["--dry-run"], 4, "alice@laptop", setup=self.live_lock),
            R("dry run with a stale lock", app + ["--dry-run"], 4, "left by a process that died",
              setup=self.plant_stale_lock),
            R("db dry run while another rollback holds the lock", ["db", "--env", "prod", "--dry-run"], 4, "alice@laptop",
              setup=self.live_lock, env={"DATABASE_URL": "sqlite:///" + os.path.join(self.work, "x.db")}),
            # Item 9: lock and state paths.
            R("unlock through a symlinked lock", ["unlock", "--env", "prod", "--yes"], 3, "symbolic link",
              setup=self.plant_lock_symlink),
            R("app through a symlinked lock", app + ["--yes"], 3, "symbolic link", setup=self.plant_lock_symlink),
            R("dry run through a symlinked lock", app + ["--dry-run"], 3, "symbolic link", setup=self.plant_lock_symlink),
            R("hard-linked lock file", app + ["--yes"], 3, "hard links", setup=self.plant_lock_hardlink),
            R("lock folder writable by others", app + ["--yes"], 3, "writable by others", setup=self.open_lock_dir),
            R("state folder of another user", app + ["--yes"], 3, f"uid {NOBODY}", setup=self.foreign_state_dir),
            R("journal that is a symlink", ["history"], 3, "symbolic link", setup=self.plant_journal_symlink),
            R("ROLLBACK_LOCK_DIR that is a symlink", app + ["--yes"], 3, "is a symbolic link", setup=self.lock_dir_symlink),
            # Item 16: db reads the migrations of the environment's branch, not a stale checkout.
            R("db status on a stale checkout", ["db", "status", "--env", "prod"], 3, "differ from origin/main",
              setup=self.stale_migrations),
            R("db downgrade dry run on a stale checkout", ["db", "--env", "prod", "--dry-run"], 3, "0002_orders.py",
              setup=self.stale_migrations),
            R("db status with an untracked migration", ["db", "status", "--env", "prod"], 3, "0003_local.py",
              setup=self.untracked_migration),
        ]

    def test_hostile_inputs_are_refused_and_change_nothing(self):
        rows = self.rows()
        self.assertGreaterEqual(len(rows), 30)
        for row in rows:
            with self.subTest(row["name"]):
                # A fresh scene for every row.
                self.tearDownScene()
                self.write_yaml(remote=row["remote"])
                extra_env = dict(row["env"] or {})
                if row["setup"]:
                    got = row["setup"]()
                    if isinstance(got, dict):
                        extra_env.update(got)
                before = self.snapshot()
                r = self.rollback(*row["args"], env=self.env(**extra_env))
                self.assertExit(r, row["code"])
                self.assertIn(row["fragment"], r.stderr)
                self.assertEqual(self.snapshot(), before, row["name"])
                self.assertFalse(os.path.exists(self.marker))

    def tearDownScene(self):
        """Undoes what a row's setup planted: state folder, extra clones, origin's branches."""
        import shutil
        if os.path.exists(self.state):
            for root, dirs, _ in os.walk(self.state):
                for d in dirs:
                    os.chmod(os.path.join(root, d), 0o700)
            shutil.rmtree(self.state)
        for extra in ("other", "elsewhere", "locklink"):
            p = os.path.join(self.work, extra)
            if os.path.islink(p):
                os.unlink(p)
            elif os.path.isdir(p):
                shutil.rmtree(p)
        shutil.rmtree(self.work + "/clone")
        shutil.rmtree(self.repos.origin)
        for name in os.listdir(self.work):
            if name not in ("home", "rollback.yaml", "victim.txt"):
                p = os.path.join(self.work, name)
                shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        with open(self.victim, "w") as f:
            f.write("precious\n")
        self.repos = GitRepos(self.work)
        self.number, self.merge = self.repos.merge_pr({"app/main.py": "def handler():\n    return 'broken'\n"}, "Break it")


class HostileOpsSignalTest(RollbackTestCase):
    """Item 13: `rollback infra --known-good SHA --dry-run | head` and other signals mid-plan."""

    def setUp(self):
        super().setUp()
        self.repos = GitRepos(self.work)
        self.tf = os.path.join(self.work, "fake-terraform")
        with open(self.tf, "w") as f:
            f.write(FAKE_TF)
        os.chmod(self.tf, 0o755)
        self.tmp = os.path.join(self.work, "tmp")
        os.makedirs(self.tmp)
        self.tf_lock = os.path.join(self.work, "tf.lock")
        self.tf_signals = os.path.join(self.work, "tf.signals")
        self.write_config(self.config_text + "repo: clone\n" +
                          f"terraform: {{ dir: infrastructure/terraform, binary: {self.tf} }}\n")
        self.good = git(self.repos.origin, "rev-parse", "main")

    def run_env(self):
        return self.env(TMPDIR=self.tmp, FAKE_TF_LOCK=self.tf_lock, FAKE_TF_SIGNALS=self.tf_signals)

    def start_plan(self):
        proc = self.start_rollback("infra", "--env", "prod", "--known-good", self.good[:12], "--dry-run",
                                   env=self.run_env())
        # Wait until Terraform is planning (its output is relayed to our stdout).
        while True:
            line = proc.stdout.readline()
            if line == "":
                self.fail("rollback ended before terraform planned: " + proc.stderr.read())
            if "plan progress line" in line:
                return proc

    def assert_cleaned_up(self, proc, forwarded):
        stderr = proc.stderr.read()
        self.assertEqual(proc.returncode, 130, stderr)
        self.assertIn("interrupt", stderr.lower())
        with open(self.tf_signals) as f:
            self.assertEqual(f.read().split(), [forwarded])
        self.assertFalse(os.path.exists(self.tf_lock), "Terraform's lock was left held")
        worktrees = [l for l in git(self.repos.clone, "worktree", "list", "--porcelain").splitlines()
                     if l.startswith("worktree ")]
        self.assertEqual(len(worktrees), 1, worktrees)
        self.assertEqual(os.listdir(self.tmp), [], "temporary files left behind")

    def test_sigpipe_on_stdout_stops_terraform_and_cleans_up(self):
        proc = self.start_plan()
        proc.stdout.close()  # `| head` exits: our next write gets EPIPE / SIGPIPE
        proc.wait(120)
        self.assert_cleaned_up(proc, "INT")

    def test_sigterm_and_sighup_are_forwarded_and_clean_up(self):
        for sig, name in ((signal.SIGTERM, "TERM"), (signal.SIGHUP, "HUP"), (signal.SIGINT, "INT")):
            with self.subTest(name):
                if os.path.exists(self.tf_signals):
                    os.unlink(self.tf_signals)
                proc = self.start_plan()
                proc.send_signal(sig)
                proc.stdout.read()
                proc.wait(120)
                self.assert_cleaned_up(proc, name)

    def test_held_terraform_lock_names_the_exact_force_unlock_command(self):
        with open(self.tf_lock, "w") as f:
            f.write("3f0c2a8e-5b7d-4e61-9a2b-1c3d4e5f6a7b\n")
        r = self.rollback("infra", "--env", "prod", "--known-good", self.good[:12], "--dry-run", env=self.run_env())
        self.assertExit(r, 1)
        self.assertIn("force-unlock -force 3f0c2a8e-5b7d-4e61-9a2b-1c3d4e5f6a7b", r.stderr)
        self.assertEqual(os.listdir(self.tmp), [])


class JournalFailureTest(SharedSandboxTestCase):
    """Item 10: the journal fails after UpdateService; item 11: a restore killed mid-write."""

    def primary_revision(self, env="prod"):
        ecs = self.sandbox.client("ecs")
        svc = ecs.describe_services(cluster=f"connect2-api-cluster-{env}", services=[f"connect2-api-service-{env}"])
        primary = [d for d in svc["services"][0]["deployments"] if d["status"] == "PRIMARY"][0]
        return int(primary["taskDefinition"].rsplit(":", 1)[1])

    def test_succeeded_rollback_whose_journal_fails_exits_6_and_is_recorded_by_the_next(self):
        r = self.rollback("ecs", "--env", "dev", "--to-revision", "4", "--yes", sandbox=self.sandbox,
                          env=self.env(self.sandbox, ROLLBACK_TEST_JOURNAL_FAIL_FINISH="1"))
        self.assertExit(r, 6)
        self.assertIn("DID succeed", r.stderr)
        self.assertIn("rollback status", r.stderr)
        self.assertEqual(self.primary_revision("dev"), 4)  # it did succeed
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "running")
        sidecar = os.path.join(self.state, "rollback", "unrecorded", entry["id"] + ".json")
        self.assertEqual(os.stat(sidecar).st_mode & 0o777, 0o600)
        with open(sidecar) as f:
            self.assertEqual(json.load(f)["outcome"], "succeeded")
        self.assertNoSecrets(r.stdout, r.stderr)
        # The next rollback of the environment records it.
        r = self.rollback("ecs", "--env", "dev", "--restart", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn(f"rollback {entry['id']} ended as succeeded", r.stdout)
        first = [e for e in self.journal() if e["id"] == entry["id"]][0]
        self.assertEqual(first["outcome"], "succeeded")
        self.assertFalse(os.path.exists(sidecar))

    def test_state_restore_killed_mid_write_shows_the_steps_it_took(self):
        bucket, key, table = "connect2-api-terraform-state-dev", "api/killed.tfstate", "connect2-api-terraform-locks"
        self.write_config(textwrap.dedent(f"""\
            app: connect2-api
            region: us-east-1
            environments:
              dev: {{ branch: development, terraform: {{ state: {{ key: {key}, dynamodb_table: {table} }} }} }}
            """))
        s3 = self.sandbox.client("s3")
        lineage = "5d0b7b6e-0c55-4b8e-9a63-3f1e2d4c5b6a"
        v1 = s3.put_object(Bucket=bucket, Key=key, Body=minimal_state(1, lineage, ["a"]))["VersionId"]
        s3.put_object(Bucket=bucket, Key=key, Body=minimal_state(2, lineage, ["a", "b"]))
        self.sandbox.control("faults", {"rules": [{"operation": f"PUT /{bucket}/{key}", "kind": "latency",
                                                    "ms": 60000}]})
        proc = self.start_rollback("state", "restore", "--env", "dev", "--version-id", v1, "--yes",
                                   sandbox=self.sandbox)
        wait_for(lambda: any("started:write" in m for e in self.journal() for m in e["events"]),
                 timeout=60, message="the write to start")
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        [entry] = self.journal()
        self.assertEqual(entry["details"]["steps_done"], ["lock", "read_current", "read_target", "backup"])
        self.assertEqual(entry["details"]["last_step"], "started:write")
        self.assertTrue(os.path.exists(entry["details"]["backup"]))
        r = self.rollback("history", "--id", entry["id"])
        self.assertExit(r, 0)
        self.assertIn("last step started:write", r.stdout)


if __name__ == "__main__":
    unittest.main()
