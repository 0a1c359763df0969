"""Shared helpers for the end-to-end tests: they run the real `rollback` binary against real
substitutes (the moto sandbox, git repositories, PostgreSQL + Alembic) and check what it left
behind, not only what it printed."""

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SOURCE_DIR = os.environ.get("ROLLBACK_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("ROLLBACK_BIN") or os.path.join(SOURCE_DIR, "build", "dev", "rollback")
SHARED_DIR = os.environ.get("ROLLBACK_SHARED_DIR") or os.path.abspath(os.path.join(SOURCE_DIR, "..", "shared"))

# Credentials planted to prove they never leak: long enough to be recognisable anywhere.
PLANTED_SECRET_KEY = "PLANTEDsecretKEY0123456789abcdefghijklmnopq"
PLANTED_SESSION_TOKEN = "PLANTEDsessionTOKEN/IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIFAKE"

# Every secret a test plants (plant() adds more: database passwords, URL tokens, webhook URLs).
# With ROLLBACK_E2E_CAPTURE=DIR, everything the tool printed and every file of every test's state
# folder is copied there, and the planted secrets are listed in DIR/planted-<pid>.json, so that
# tests/reliability/reliability.py can search the whole suite's output for them (figure R6).
PLANTED = [PLANTED_SECRET_KEY, PLANTED_SESSION_TOKEN]
CAPTURE_DIR = os.environ.get("ROLLBACK_E2E_CAPTURE")


def plant(*secrets):
    for s in secrets:
        if s not in PLANTED:
            PLANTED.append(s)


def _write_planted():
    if CAPTURE_DIR:
        os.makedirs(CAPTURE_DIR, exist_ok=True)
        with open(os.path.join(CAPTURE_DIR, f"planted-{os.getpid()}.json"), "w") as f:
            json.dump(PLANTED, f)


if CAPTURE_DIR:
    import atexit
    atexit.register(_write_planted)
    _capture_seq = [0]


def capture(kind, name, data):
    """Keeps a copy of something the tool wrote (for R6); does nothing without ROLLBACK_E2E_CAPTURE."""
    if not CAPTURE_DIR or data is None:
        return
    _capture_seq[0] += 1
    folder = os.path.join(CAPTURE_DIR, f"{os.getpid()}", kind)
    os.makedirs(folder, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:80]
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(folder, f"{_capture_seq[0]:06d}-{safe}"), mode) as f:
        f.write(data)

# prod's verification bake is 1 s here instead of the 60 s default of a protected environment
# (test_core_config covers the default): the suites roll prod back many times, and the gate's
# own tests (test_ecs_modern) choose their windows.
RUNBOOK_CONFIG = """app: connect2-api
region: us-east-1
environments:
  dev:     { branch: development }
  staging: { branch: staging }
  prod:    { branch: main, protected: true, verify: { bake: 1s } }
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_text(path):
    with open(path) as f:
        return f.read()


class Sandbox:
    """The moto server extended to behave like ECS (sandbox/server.py), on a free loopback port."""

    def __init__(self, task_start_delay=0.5, seed=True):
        self.dir = tempfile.mkdtemp(prefix="rollback-sandbox-")
        port_file = os.path.join(self.dir, "port")
        args = [sys.executable, os.path.join(SOURCE_DIR, "sandbox", "server.py"), "--port", "0",
                "--port-file", port_file, "--task-start-delay", str(task_start_delay), "--quiet", "--check-shapes"]
        if seed:
            args.append("--seed")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 180  # moto imports slowly on a loaded machine
        while time.time() < deadline:
            if os.path.exists(port_file) and read_text(port_file).strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("sandbox exited: " + read_text(os.path.join(self.dir, "server.log")))
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("sandbox did not start in 180 s")
        self.port = int(read_text(port_file).strip())
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        try:
            found = self.control("shapes") if self.proc.poll() is None else None
        except Exception:  # noqa: BLE001 - a sandbox that does not answer has nothing to report
            found = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        if found and found.get("violations"):
            # sandbox/shapes.py: an answer outside botocore's model would let the tool pass here and
            # fail on AWS. Fix the sandbox (or the tool, if it relied on the invented member).
            lines = [f"{v['service']} {v['operation']}: {p}" for v in found["violations"] for p in v["problems"]]
            raise AssertionError("the sandbox answered outside botocore's model:\n  " + "\n  ".join(lines[:40]))

    def client(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def control(self, path, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_sandbox/" + path, data=data,
                                     method=method or ("POST" if body is not None else "GET"),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return json.loads(text) if text.strip() else None


class RollbackTestCase(unittest.TestCase):
    """A temporary working folder with rollback.yaml, its own state dir (journal, locks) and HOME."""

    config_text = RUNBOOK_CONFIG

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rollback-e2e-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.home = os.path.join(self.work, "home")
        self.state = os.path.join(self.work, "state")
        os.makedirs(self.home)
        self.write_config(self.config_text)
        self.addCleanup(self._capture_state)  # runs before the folder is removed

    def _capture_state(self):
        if not CAPTURE_DIR or not os.path.isdir(self.state):
            return
        for root, _, files in os.walk(self.state):
            for name in files:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as f:
                        # The file's name too: backups are named after what they hold.
                        capture("state", self.id() + "." + os.path.relpath(path, self.state), f.read())
                except OSError:
                    pass

    def write_config(self, text, name="rollback.yaml"):
        with open(os.path.join(self.work, name), "w") as f:
            f.write(text)

    def env(self, sandbox=None, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"HOME": self.home, "XDG_STATE_HOME": self.state, "ROLLBACK_USER": "e2e-tester",
                    "AWS_ACCESS_KEY_ID": "AKIAE2ETESTKEY000001", "AWS_SECRET_ACCESS_KEY": PLANTED_SECRET_KEY,
                    "AWS_SESSION_TOKEN": PLANTED_SESSION_TOKEN, "AWS_REGION": "us-east-1",
                    # No instance metadata here: never let the credential chain wait on 169.254.169.254.
                    "AWS_EC2_METADATA_DISABLED": "true"})
        if sandbox is not None:
            env["AWS_ENDPOINT_URL"] = sandbox.url
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def rollback(self, *args, sandbox=None, input=None, timeout=120, env=None, cwd=None):
        r = subprocess.run([BINARY, *args], cwd=cwd or self.work, env=env or self.env(sandbox),
                           input=input, capture_output=True, text=True, timeout=timeout)
        capture("output", f"{self.id()}.{args[0] if args else ''}.stdout", r.stdout)
        capture("output", f"{self.id()}.{args[0] if args else ''}.stderr", r.stderr)
        return r

    def start_rollback(self, *args, sandbox=None, env=None, cwd=None):
        return subprocess.Popen([BINARY, *args], cwd=cwd or self.work, env=env or self.env(sandbox),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def journal_path(self):
        return os.path.join(self.state, "rollback", "journal.db")

    @contextlib.contextmanager
    def journal_connection(self):
        """A connection to the journal, or None while there is nothing recorded: no file yet, or
        the file polled in the moment before the first run creates its tables."""
        if not os.path.exists(self.journal_path()):
            yield None
            return
        con = sqlite3.connect(self.journal_path(), timeout=30)  # a busy CI machine: wait out a writer
        try:
            has_tables = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()[0] > 0
            yield con if has_tables else None
        finally:
            con.close()

    def journal(self, undecodable="strict"):
        """Rows of the journal, newest first, as dicts (details parsed). `undecodable="replace"`
        reads text that is not UTF-8 as U+FFFD instead of failing."""
        with self.journal_connection() as con:
            if con is None:
                return []
            if undecodable != "strict":
                con.text_factory = lambda b: b.decode("utf-8", undecodable)
            con.row_factory = sqlite3.Row
            rows = [dict(r) for r in con.execute("SELECT * FROM rollbacks ORDER BY started_at DESC, rowid DESC")]
            for r in rows:
                r["details"] = json.loads(r["details"])
                r["events"] = [e[0] for e in con.execute(
                    "SELECT message FROM events WHERE rollback_id = ? ORDER BY seq", (r["id"],))]
            return rows

    def journal_events(self):
        """Every event message of the journal, oldest first."""
        with self.journal_connection() as con:
            return [] if con is None else [m for (m,) in con.execute("SELECT message FROM events ORDER BY seq")]

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code,
                         f"exit {proc.returncode}, expected {code}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")

    def assertNoSecrets(self, *texts, also=()):
        """The planted AWS secrets (and the `also` ones) appear neither in the texts nor in any file
        of the state folder (journal, locks, backups)."""
        secrets = (PLANTED_SECRET_KEY, PLANTED_SESSION_TOKEN, *also)
        for t in texts:
            for secret in secrets:
                self.assertNotIn(secret, t)
        for root, _, files in os.walk(self.state):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                for secret in secrets:
                    self.assertNotIn(secret.encode(), data, name)


class SharedSandboxTestCase(RollbackTestCase):
    """A RollbackTestCase whose tests share one seeded sandbox (started once per class); faults a
    test injects are cleared after it."""

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(task_start_delay=0.2)

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()

    def setUp(self):
        super().setUp()
        self.addCleanup(self.sandbox.control, "faults", method="DELETE")


class EcsSandboxTestCase(RollbackTestCase):
    """A RollbackTestCase with its own seeded sandbox and a boto3 ECS client on it."""

    task_start_delay = 0.5
    default_service = ("connect2-api-cluster-prod", "connect2-api-service-prod")

    def setUp(self):
        super().setUp()
        self.sandbox = Sandbox(task_start_delay=self.task_start_delay)
        self.addCleanup(self.sandbox.stop)
        self.ecs = self.sandbox.client("ecs")

    def service(self, which=None):
        cluster, name = which or self.default_service
        return self.ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def register(self, env, tag):
        """A new revision of connect2-api-<env>: revision 4 with its image tagged `tag` (the sandbox
        reads "bad" and "unhealthy" in a tag). Returns the revision number."""
        td = self.ecs.describe_task_definition(taskDefinition=f"connect2-api-{env}:4")["taskDefinition"]
        container = dict(td["containerDefinitions"][0])
        container["image"] = container["image"].rsplit(":", 1)[0] + ":" + tag
        out = self.ecs.register_task_definition(family=td["family"], containerDefinitions=[container],
                                                requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                                cpu="256", memory="512")
        return out["taskDefinition"]["revision"]

    def deploy_crashing_revision(self, failed_tasks=1):
        """Deploys to prod a revision whose image crashes on start, with the circuit breaker's
        rollback off so the failing deployment stays one of the service's deployments however
        slow the machine is; returns once it has `failed_tasks` failed tasks. Returns its revision."""
        revision = self.register("prod", "abc1234-bad")
        cluster, name = self.default_service
        self.ecs.update_service(cluster=cluster, service=name, taskDefinition=f"connect2-api-prod:{revision}",
                                deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False, "rollback": False}})
        wait_for(lambda: any(d["taskDefinition"].endswith(f":{revision}") and d.get("failedTasks", 0) >= failed_tasks
                             for d in self.service()["deployments"]), message="failed tasks of the crashing image")
        return revision


def wait_for(predicate, timeout=30, interval=0.1, message="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


def git(cwd, *args, check=True, env=None):
    full_env = dict(os.environ)
    full_env.update({"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
                     "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
                     "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"})
    if env:
        full_env.update(env)
    r = subprocess.run(["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


class GitRepos:
    """A bare `origin` and a developer clone with the runbook's branches, and helpers that merge
    pull requests the three ways GitHub does (merge commit, squash, rebase)."""

    def __init__(self, root):
        self.origin = os.path.join(root, "origin.git")
        self.clone = os.path.join(root, "clone")
        git(root, "init", "--bare", "-b", "main", self.origin)
        git(root, "clone", self.origin, self.clone)
        git(self.clone, "config", "user.name", "Dev")
        git(self.clone, "config", "user.email", "dev@example.com")
        self.write("app/main.py", "def handler():\n    return 'ok'\n")
        self.write("alembic/versions/0001_init.py", "revision = '0001'\ndown_revision = None\n")
        self.write("infrastructure/terraform/main.tf", "resource \"null_resource\" \"a\" {}\n")
        git(self.clone, "add", "-A")
        git(self.clone, "commit", "-m", "Initial commit")
        git(self.clone, "push", "origin", "main")
        for branch in ("development", "staging"):
            git(self.clone, "push", "origin", f"main:{branch}")
        self.next_pr = 100

    def write(self, path, text):
        full = os.path.join(self.clone, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def _feature(self, branch, base, files, subject):
        git(self.clone, "fetch", "origin")
        git(self.clone, "checkout", "-B", branch, f"origin/{base}")
        for path, text in files.items():
            self.write(path, text)
        git(self.clone, "add", "-A")
        git(self.clone, "commit", "-m", subject)

    def merge_pr(self, files, subject="Change things", base="main"):
        """A PR merged with a merge commit; returns (number, merge sha)."""
        number = self.next_pr
        self.next_pr += 1
        self._feature(f"feature-{number}", base, files, subject)
        git(self.clone, "checkout", "-B", base, f"origin/{base}")
        git(self.clone, "merge", "--no-ff", f"feature-{number}", "-m",
            f"Merge pull request #{number} from team/feature-{number}")
        git(self.clone, "push", "origin", base)
        return number, git(self.clone, "rev-parse", "HEAD")

    def squash_pr(self, files, subject="Squashed change", base="main", number=None):
        if number is None:
            number = self.next_pr
            self.next_pr += 1
        git(self.clone, "fetch", "origin")
        git(self.clone, "checkout", "-B", base, f"origin/{base}")
        for path, text in files.items():
            self.write(path, text)
        git(self.clone, "add", "-A")
        git(self.clone, "commit", "-m", f"{subject} (#{number})")
        git(self.clone, "push", "origin", base)
        return number, git(self.clone, "rev-parse", "HEAD")

    def rebase_pr(self, changes, base="main"):
        """Several plain commits landed one after another; returns (A, B) for A..B."""
        git(self.clone, "fetch", "origin")
        git(self.clone, "checkout", "-B", base, f"origin/{base}")
        start = git(self.clone, "rev-parse", "HEAD")
        for i, files in enumerate(changes):
            for path, text in files.items():
                self.write(path, text)
            git(self.clone, "add", "-A")
            git(self.clone, "commit", "-m", f"Rebased step {i + 1}")
        git(self.clone, "push", "origin", base)
        return start, git(self.clone, "rev-parse", "HEAD")

    def origin_log(self, branch="main", n=5):
        return git(self.origin, "log", "--format=%H %s", f"-{n}", branch).splitlines()

    def origin_message(self, branch="main"):
        return git(self.origin, "log", "-1", "--format=%B", branch)

    def origin_file(self, path, branch="main"):
        r = subprocess.run(["git", "show", f"{branch}:{path}"], cwd=self.origin, capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else None
