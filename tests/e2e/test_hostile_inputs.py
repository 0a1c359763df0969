"""Hostile inputs through the real `rollback` binary (issue 8): huge, non-UTF-8, control-character,
out-of-range and malformed values on the command line, in rollback.yaml, in the environment and
from AWS. Every row asserts the exit code, that the message names the problem, and that nothing
changed: no lock held, no journal entry left `running`, no file written outside the state folder,
no secret in the output or the state folder.

The table is data: add a Row to ROWS and a test method is generated for it (test_<name>).
Rows that need ECS get their own sandbox (moto extended like ECS); rows that revert need git
repositories, which `repos=True` creates (a bare origin and a clone, see harness.GitRepos).
"""

import http.server
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import threading
import unittest
from dataclasses import dataclass, field
from typing import Callable, Optional

from harness import RUNBOOK_CONFIG, GitRepos, RollbackTestCase, Sandbox

# A byte that is not UTF-8 (Latin-1 e-acute), passed through argv/env with surrogateescape.
LATIN1_E = "\udce9"
ESC = "\x1b"
LONG_URL_REASON = "see https://" + "a" * 50_000  # "://" then 50 KB without spaces: the stack overflow
HEALTH_SECRET = "HEALTHtokenSECRET0123456789"
REASON_SECRET = "REASONapiKEYsecret9876543210"
PASSWORD_SECRET = "DBpassWORDsecret55555"

LONG_HOLDER_COMMAND = "rollback ecs --env prod --reason https://" + "b" * 60_000


@dataclass
class Row:
    name: str
    args: list                      # after `rollback`; "{cfg}", "{work}", "{sandbox}" are filled in
    exit: int
    says: list = field(default_factory=list)   # regexes that must match stdout+stderr
    config: Optional[str] = None    # rollback.yaml text (default: the runbook's)
    sandbox: bool = False           # start a sandbox and point AWS_ENDPOINT_URL at it
    repos: bool = False             # git repositories; the config gets `repo: clone`
    env: dict = field(default_factory=dict)
    prepare: Optional[Callable] = None    # prepare(test) before the command
    then: list = field(default_factory=list)   # later commands that must exit 0 (e.g. unlock)
    check: Optional[Callable] = None      # check(test, result) after the standard checks
    journal_rows: Optional[int] = 0       # expected journal rows (None: any number)
    secrets: tuple = ()                   # texts that must appear nowhere


def write_stale_lock(test, env="prod", command=LONG_HOLDER_COMMAND):
    """A lock left by a dead process whose holder is hostile text (as an older version wrote it)."""
    locks = os.path.join(test.state, "rollback", "locks")
    os.makedirs(locks, exist_ok=True)
    holder = {"user": "e2e-tester", "host": socket.gethostname(), "pid": 2_000_000_000, "command": command,
              "since": "2026-11-30T00:00:00Z", "rollback_id": ""}
    with open(os.path.join(locks, f"connect2-api.{env}.lock"), "w") as f:
        f.write(json.dumps(holder) + "\n")


def write_mistyped_lock(test, env="prod"):
    """A lock file whose fields have the wrong JSON types (a hand edit, another tool)."""
    locks = os.path.join(test.state, "rollback", "locks")
    os.makedirs(locks, exist_ok=True)
    with open(os.path.join(locks, f"connect2-api.{env}.lock"), "w") as f:
        f.write(json.dumps({"user": 5, "host": ["h"], "pid": "12", "command": {"a": 1}, "rollback_id": 7}) + "\n")


def write_journal_with_bytes(test):
    """A journal holding text that is not UTF-8 (written by another tool or an older version)."""
    os.makedirs(os.path.dirname(test.journal_path()), exist_ok=True)
    con = sqlite3.connect(test.journal_path())
    con.executescript(JOURNAL_SCHEMA)
    # CAST: stored as TEXT holding the raw bytes, as a C program would write them.
    con.execute("INSERT INTO rollbacks(id, app, env, layer, user, host, from_ref, to_ref, reason, started_at, "
                "ended_at, outcome, details) VALUES(" + ",".join(["CAST(? AS TEXT)"] * 13) + ")",
                (b"20261130-000000-aaaa", b"connect2-api", b"prod", b"ecs", b"jos\xe9", b"h\x1b[2Jost",
                 b"a", b"b", b"caf\xe9\nrollback 1 succeeded", b"2026-11-30T00:00:00Z", b"2026-11-30T00:01:00Z",
                 b"failed", b"{}"))
    con.commit()
    con.close()


# The journal's tables as src/core/journal_sqlite.cpp creates them.
JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollbacks (
  id TEXT PRIMARY KEY, app TEXT NOT NULL, env TEXT NOT NULL, layer TEXT NOT NULL,
  user TEXT NOT NULL, host TEXT NOT NULL, from_ref TEXT NOT NULL, to_ref TEXT NOT NULL, reason TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS events (rollback_id TEXT NOT NULL REFERENCES rollbacks(id),
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, message TEXT NOT NULL);
"""


def no_raw_escape(test, r):
    test.assertNotIn(ESC, r.stdout + r.stderr, "a raw ESC reached the terminal")


def history_is_clean(test, r):
    """`history` and `history --id` show hostile journal text escaped, on one line each."""
    h = test.rollback("history")
    test.assertExit(h, 0)
    test.assertNotIn(ESC, h.stdout + h.stderr)
    entry = test.journal()[0]["id"]
    one = test.rollback("history", "--id", entry)
    test.assertExit(one, 0)
    test.assertNotIn(ESC, one.stdout)
    test.assertIn("\N{REPLACEMENT CHARACTER}", one.stdout)
    for line in one.stdout.splitlines():
        test.assertFalse(line.startswith("rollback 1 succeeded"), f"forged line: {line!r}")
    j = test.rollback("history", "--id", entry, "--output", "json")
    test.assertExit(j, 0)
    json.loads(j.stdout)


def journal_reason_is_valid_utf8(test, r):
    [entry] = test.journal()
    test.assertEqual(entry["outcome"], "started")
    test.assertIn("\N{REPLACEMENT CHARACTER}", entry["reason"])
    history_is_clean(test, r)


def long_reason_recorded(test, r):
    [entry] = test.journal()
    test.assertEqual(entry["outcome"], "started")
    test.assertGreaterEqual(len(entry["reason"]), 50_000)


def forged_reason_escaped(test, r):
    [entry] = test.journal()
    h = test.rollback("history", "--id", entry["id"])
    test.assertExit(h, 0)
    test.assertNotIn(ESC, h.stdout)
    test.assertIn("\\x1b[31m", h.stdout)
    test.assertIn("red\\nrollback 1 succeeded", h.stdout)
    for line in h.stdout.splitlines():
        test.assertFalse(line.startswith("rollback 1 succeeded"), f"forged line: {line!r}")


def masked_in_output_and_journal(key):
    def check(test, r):
        test.assertIn(f"{key}=****", r.stdout + r.stderr + json.dumps(test.journal()))
    return check


def nothing_outside_work(test, r):
    """`--env ../../x` named a lock file two folders up: nothing may exist there or anywhere."""
    for base in (os.path.dirname(test.work), test.work, os.path.join(test.state, "rollback")):
        test.assertFalse(os.path.exists(os.path.join(base, "x.lock")), base)
    for root, _, files in os.walk(test.work):
        for name in files:
            test.assertFalse(name.endswith(".lock"), os.path.join(root, name))


def no_config_written(test, r):
    test.assertFalse(os.path.exists(os.path.join(test.work, "new.yaml")))


def many_environments():
    return "app: connect2-api\nenvironments:\n" + "".join(f"  e{i}: {{ branch: main }}\n" for i in range(1001))


def huge_config(test):
    with open(os.path.join(test.work, "huge.yaml"), "w") as f:
        f.write(RUNBOOK_CONFIG + "# " + "x" * (2 << 20) + "\n")


def config_dir(test):
    os.makedirs(os.path.join(test.work, "conf.d"))


def runbook_with(env_line):
    return "app: connect2-api\nregion: us-east-1\nenvironments:\n" + env_line + "\n"


def merged_pr_102(test):
    test.repos.merge_pr({"app/main.py": "def handler():\n    return 'broken'\n"}, "Break it")
    test.repos.next_pr = 102
    test.repos.merge_pr({"app/other.py": "x = 2\n"}, "PR 102")


def pr_102_not_reverted(test, r):
    log = test.repos.origin_log("main", 3)
    test.assertFalse(any(line.split(" ", 1)[1].startswith("Revert") for line in log), log)


ROWS = [
    # 1. A long --reason: redaction is linear, nothing crashes, and every later command works.
    Row("long_url_reason_rolls_back_and_later_commands_work",
        ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--no-wait", "--reason", LONG_URL_REASON],
        0, [r"rollback \S+ started"], sandbox=True, journal_rows=1, check=long_reason_recorded,
        then=[["history"], ["status", "--env", "staging"], ["unlock", "--env", "staging", "--yes"]]),
    Row("long_url_reason_on_a_usage_error",
        ["ecs", "--env", "nope", "--reason", LONG_URL_REASON], 2, [r"unknown environment 'nope'"]),
    Row("stale_lock_with_huge_holder_can_be_inspected_and_broken",
        ["unlock", "--env", "prod", "--yes"], 0, [r"stale lock", r"lock of prod is broken"],
        prepare=write_stale_lock, then=[["history"]]),
    Row("stale_lock_with_huge_holder_refuses_a_rollback_cleanly",
        ["ecs", "--env", "prod", "--reason", "500s after deploy", "--yes"], 4, [r"prod", r"rollback unlock --env prod"],
        prepare=write_stale_lock, sandbox=True),

    Row("mistyped_lock_file_can_be_broken", ["unlock", "--env", "prod", "--yes"], 0,
        [r"stale lock", r"lock of prod is broken"], prepare=write_mistyped_lock, then=[["history"]]),

    # 2 + 3. Numbers: decimal only, range-checked, refused before any lock or journal entry.
    Row("to_revision_past_int_range", ["ecs", "--env", "staging", "--to-revision", "2147483648", "--yes"],
        2, [r"--to-revision 2147483648 is too large: it must be at most 100000000"], sandbox=True),
    Row("to_revision_of_30_digits", ["ecs", "--env", "staging", "--to-revision", "9" * 30, "--yes"],
        2, [r"--to-revision 9+ is too large"], sandbox=True),
    Row("to_revision_zero", ["ecs", "--env", "staging", "--to-revision", "0", "--yes"],
        2, [r"--to-revision 0 is too small: it must be at least 1"], sandbox=True),
    Row("pr_negative", ["app", "--env", "prod", "--pr", "-1", "--dry-run"], 2, [r"--pr -1 is too small: it must be at least 1"]),
    Row("pr_hex", ["app", "--env", "prod", "--pr", "0x66", "--dry-run"], 2, [r"--pr '0x66' is not a decimal number"]),
    Row("pr_exponent", ["app", "--env", "prod", "--pr", "1e3", "--dry-run"], 2, [r"--pr '1e3' is not a decimal number"]),
    Row("pr_past_64_bits", ["app", "--env", "prod", "--pr", "18446744073709551616", "--dry-run"], 2,
        [r"--pr 18446744073709551616 is too large: it must be at most 2147483647"]),
    Row("pr_with_leading_zero_is_decimal_not_octal", ["app", "--env", "prod", "--pr", "0146", "--dry-run"], 2,
        [r"claims PR #146"], repos=True, prepare=merged_pr_102, check=pr_102_not_reverted),
    Row("steps_zero", ["db", "--env", "prod", "--steps", "0", "--dry-run"], 2, [r"--steps 0 is too small"]),
    Row("steps_negative", ["db", "--env", "prod", "--steps", "-3", "--dry-run"], 2, [r"--steps -3 is too small"]),
    Row("steps_float", ["db", "--env", "prod", "--steps", "1.5", "--dry-run"], 2, [r"--steps '1.5' is not a decimal number"]),
    Row("history_limit_zero", ["history", "--limit", "0"], 2, [r"--limit 0 is too small"]),
    Row("history_limit_huge", ["history", "--limit", "99999999999999999999"], 2, [r"--limit 9+ is too large"]),
    Row("state_list_limit_negative", ["state", "list", "--env", "prod", "--limit", "-5"], 2, [r"--limit -5 is too small"]),
    Row("timeout_overflow", ["ecs", "--env", "staging", "--timeout", "999999999999999999h", "--dry-run"], 2,
        [r"--timeout: duration '999999999999999999h' is too large, at most 8784h"]),
    Row("timeout_zero", ["ecs", "--env", "staging", "--timeout", "0s", "--dry-run"], 2, [r"--timeout must be positive"]),

    # 4. Text that is not UTF-8 is stored and shown as U+FFFD, never an abort.
    Row("latin1_reason", ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--no-wait",
                          "--reason", "caf" + LATIN1_E + " broke"],
        0, [r"started"], sandbox=True, journal_rows=1, check=journal_reason_is_valid_utf8),
    Row("latin1_user_name", ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--no-wait"],
        0, [r"started"], sandbox=True, journal_rows=1, env={"ROLLBACK_USER": "jos" + LATIN1_E},
        check=lambda t, r: t.assertIn("\N{REPLACEMENT CHARACTER}", t.journal()[0]["user"])),
    Row("latin1_reason_json_output", ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--no-wait",
                                      "--output", "json", "--reason", LATIN1_E],
        0, [r'"ok": true'], sandbox=True, journal_rows=1, check=lambda t, r: json.loads(r.stdout)),
    Row("latin1_env_name", ["ecs", "--env", "pr" + LATIN1_E + "d", "--dry-run"], 2,
        [r"--env: the environment name 'pr\N{REPLACEMENT CHARACTER}d' contains a non-ASCII character"]),
    Row("journal_with_invalid_bytes_and_escapes", ["history"], 0, [r"\N{REPLACEMENT CHARACTER}"],
        prepare=write_journal_with_bytes, journal_rows=1, check=history_is_clean),

    # 5. Terminal escapes and forged lines are shown, not acted on; names are validated.
    Row("reason_with_escape_and_forged_line",
        ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--no-wait",
         "--reason", ESC + "[31mred\nrollback 1 succeeded"],
        0, [r"started"], sandbox=True, journal_rows=1, check=forged_reason_escaped),
    Row("env_path_traversal", ["ecs", "--env", "../../x", "--yes"], 2,
        [r"--env: the environment name '\.\./\.\./x' must start with a letter or digit"],
        sandbox=True, check=nothing_outside_work),
    Row("env_with_slash", ["unlock", "--env", "a/../../x", "--yes"], 2, [r"contains '/'"], check=nothing_outside_work),
    Row("env_with_semicolon", ["status", "--env", "prod;rm -rf ~"], 2, [r"contains ';', which is not allowed"]),
    Row("env_with_escape", ["history", "--env", ESC + "[2Jprod"], 2, [r"must start with a letter or digit"],
        check=no_raw_escape),
    Row("config_env_traversal", ["status", "--env", "prod"], 2,
        [r"rollback\.yaml:5:3: the environment name '\.\./\.\./x' must start with a letter or digit"],
        config=runbook_with("  prod: { branch: main }\n  ../../x: { branch: main }")),
    Row("config_env_semicolon", ["status", "--env", "prod"], 2, [r"rollback\.yaml:4:3: .*contains ';'"],
        config=runbook_with("  'prod;curl evil.sh': { branch: main }")),
    Row("config_env_escape", ["history"], 2, [r"rollback\.yaml:4:3: the environment name '\\x1b\[2J"],
        config=runbook_with('  "\\e[2J": { branch: main }'), check=no_raw_escape),
    Row("init_app_with_newline", ["init", "--app", "x\ninjected: true", "--config", "{work}/new.yaml"], 2,
        [r"--app: the application name 'x\\ninjected: true' contains"], check=no_config_written),
    Row("init_app_with_semicolon", ["init", "--app", "a;b", "--config", "{work}/new.yaml"], 2,
        [r"contains ';'"], check=no_config_written),

    # 7. Secrets in URL query strings are masked everywhere (keys kept).
    Row("health_url_token_masked",
        ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--timeout", "60s"],
        0, [r"succeeded", r"token=\*\*\*\*"], sandbox=True, journal_rows=1, secrets=(HEALTH_SECRET,),
        config=runbook_with("  staging: { branch: staging, health_url: "
                            "\"{sandbox}/_sandbox/health/connect2-api-cluster-staging/connect2-api-service-staging"
                            "?token=" + HEALTH_SECRET + "\" }")),
    Row("reason_url_query_masked", ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--no-wait",
                                    "--reason", "see https://grafana.example.com/d/x?api_key=" + REASON_SECRET],
        0, [r"started"], sandbox=True, journal_rows=1, secrets=(REASON_SECRET,),
        check=masked_in_output_and_journal("api_key")),
    Row("reason_url_password_masked", ["ecs", "--env", "staging", "--to-revision", "2", "--yes", "--no-wait",
                                       "--reason", "db postgres://app:" + PASSWORD_SECRET + "@db/x is fine"],
        0, [r"started"], sandbox=True, journal_rows=1, secrets=(PASSWORD_SECRET,),
        then=[["history"]]),

    # 12. Bounded reads with clear errors.
    Row("config_dev_zero", ["status", "--env", "prod", "--config", "/dev/zero"], 2, [r"/dev/zero.*not a regular file"]),
    Row("config_directory", ["status", "--env", "prod", "--config", "{work}/conf.d"], 2,
        [r"conf\.d: it is a directory"], prepare=config_dir),
    Row("config_too_large", ["status", "--env", "prod", "--config", "{work}/huge.yaml"], 2,
        [r"huge\.yaml: it is larger than 1 MiB"], prepare=huge_config),
    Row("config_too_many_environments", ["status", "--env", "e1"], 2,
        [r"lists 1001 environments, more than the 1000 allowed"], config=many_environments()),

    # 17. Malformed configuration is a clear error with file:line.
    Row("config_map_as_key", ["status", "--env", "prod"], 2,
        [r"rollback\.yaml:5:5: a key in 'environments' is a mapping instead of a name"],
        config=runbook_with("  prod: { branch: main }\n  ? { a: 1 }\n  : { branch: x }")),
    Row("config_list_as_key", ["history"], 2, [r"rollback\.yaml:1:3: a key in the top level is a list instead of a name"],
        config="? [a, b]\n: 1\n" + RUNBOOK_CONFIG),
    Row("config_duplicate_environment", ["status", "--env", "prod"], 2,
        [r"rollback\.yaml:6:3: duplicate key 'prod' in 'environments' \(first given on line 4\)"],
        config=runbook_with("  prod: { branch: main }\n  dev: { branch: development }\n  prod: { branch: other }")),
]


class ByteTolerantJournal:
    def journal(self):
        """The harness's journal(), reading text that is not UTF-8 as U+FFFD instead of failing."""
        return super().journal(undecodable="replace")


class HostileInputsTest(ByteTolerantJournal, RollbackTestCase):
    def run_row(self, row):
        sandbox = None
        if row.sandbox:
            sandbox = Sandbox(task_start_delay=0.2)
            self.addCleanup(sandbox.stop)
        fill = lambda s: (s.replace("{work}", self.work).replace("{sandbox}", sandbox.url if sandbox else "")
                          if isinstance(s, str) else s)
        if row.config is not None:
            self.write_config(fill(row.config) + ("repo: clone\n" if row.repos else ""))
        elif row.repos:
            self.write_config(self.config_text + "repo: clone\n")
        if row.repos:
            self.repos = GitRepos(self.work)
        if row.prepare:
            row.prepare(self)
        before = self.files_outside_state()
        env = self.env(sandbox, **row.env)
        r = self.rollback(*[fill(a) for a in row.args], env=env, timeout=120)
        self.assertExit(r, row.exit)
        text = r.stdout + r.stderr
        for pattern in row.says:
            self.assertRegex(text, pattern)
        self.assertNotIn("internal error", text)
        self.assert_nothing_left(row, before)
        self.assertNoSecrets(r.stdout, r.stderr, also=row.secrets)
        if row.check:
            row.check(self, r)
        for later in row.then:
            lr = self.rollback(*later, env=env)
            self.assertExit(lr, 0)
            self.assertNoSecrets(lr.stdout, lr.stderr, also=row.secrets)

    def files_outside_state(self):
        out = set()
        for root, dirs, files in os.walk(self.work):
            if root.startswith(self.state):
                continue
            for name in files:
                out.add(os.path.join(root, name))
        return out

    def assert_nothing_left(self, row, before):
        """No lock held, no entry `running`, nothing new outside the state folder (but what the
        command is meant to write, which none of these rows is)."""
        locks = os.path.join(self.state, "rollback", "locks")
        if os.path.isdir(locks) and row.prepare not in (write_stale_lock, write_mistyped_lock):
            for name in os.listdir(locks):
                with open(os.path.join(locks, name)) as f:
                    self.assertEqual(f.read(), "", f"lock {name} is still held")
        rows = self.journal()
        self.assertFalse([e for e in rows if e["outcome"] == "running"], "a journal entry is left running")
        if row.journal_rows is not None:
            self.assertEqual(len(rows), row.journal_rows, [e["id"] for e in rows])
        after = self.files_outside_state()
        new = {p for p in after - before
               if not p.startswith((os.path.join(self.work, "clone"), os.path.join(self.work, "origin.git")))}
        self.assertFalse(new, f"files written outside the state folder: {sorted(new)[:5]}")


def _make_test(row):
    def test(self):
        self.run_row(row)
    test.__doc__ = row.name
    return test


for _row in ROWS:
    assert not hasattr(HostileInputsTest, f"test_{_row.name}"), _row.name
    setattr(HostileInputsTest, f"test_{_row.name}", _make_test(_row))


class ResponseBodyLimitTest(ByteTolerantJournal, RollbackTestCase):
    """An AWS endpoint that answers with more than 64 MiB: the transfer is cut off with a clear
    error, not read into memory."""

    def test_huge_aws_response_is_refused(self):
        chunk = b"x" * (1 << 20)

        class Huge(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.end_headers()  # no Content-Length: the client only learns the size by reading
                try:
                    for _ in range(200):
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Huge)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        env = self.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{server.server_address[1]}")
        r = self.rollback("ecs", "--env", "staging", "--yes", env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(r.returncode, (1, 5))
        self.assertIn("larger than 64 MiB", r.stderr)
        self.assertFalse([e for e in self.journal() if e["outcome"] == "running"])


class ReadOnlyJournalTest(ByteTolerantJournal, RollbackTestCase):
    """`history` and `status` open the journal read-only: a journal the user cannot write (a
    shared, read-only copy; a full disk) can still be read."""

    def test_history_reads_a_read_only_journal(self):
        write_journal_with_bytes(self)
        os.chmod(self.journal_path(), 0o444)
        os.chmod(os.path.dirname(self.journal_path()), 0o555)
        self.addCleanup(os.chmod, os.path.dirname(self.journal_path()), 0o755)
        if os.geteuid() == 0:
            # root ignores file modes: run as `nobody`, who can read but not write.
            for p in (self.work, self.home, self.state, os.path.dirname(self.journal_path())):
                os.chmod(p, 0o755)
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            if shutil.which("setpriv") is None:
                self.skipTest("setpriv is not installed")
        else:
            cmd = []
        from harness import BINARY
        r = subprocess.run(cmd + [BINARY, "history"], cwd=self.work, env=self.env(), capture_output=True, text=True,
                           timeout=60)
        self.assertExit(r, 0)
        self.assertIn("20261130-000000-aaaa", r.stdout)
        self.assertNotIn(ESC, r.stdout)
        self.assertEqual(len(self.journal()), 1)


if __name__ == "__main__":
    unittest.main()
