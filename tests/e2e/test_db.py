"""rollback db / db status against a real PostgreSQL server (started here, one for the whole
module), the real Alembic (Debian's /usr/bin/alembic) on a copy of tests/fixtures/migrations,
SQLite, and the sandbox for --via ecs-task. Every test checks the database left behind, not only
the exit code and the output.

The fixture's graph (tests/fixtures/migrations/README.md):

  a1f0c3e2b7d4 - 2b8e5d9c4a10 -+- 3c4d1e2f9a0b -+- merge_heads_20260130 - backfill_nicknames_v2 - 7a9b0c1d2e3f - 8b0c1d2e3f4a
   users          nickname     +- 5e6f7a8b9c0d -+   (pass)                (raise)                 DROP TABLE       drop_index,
                                  audit_log / phone                                                settings         depends_on 2b8e
"""

import atexit
import json
import os
import pwd
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.parse

import harness
from harness import SOURCE_DIR, RollbackTestCase, Sandbox, free_port

PG_BIN = "/usr/lib/postgresql/15/bin"
ALEMBIC = "/usr/bin/alembic"
FIXTURE = os.path.join(SOURCE_DIR, "tests", "fixtures", "migrations")
TOOL_TIMEOUT = 120

# The application role's password: planted to prove it never leaks, with characters a URL must
# encode so that the decoding is exercised too.
DB_PASSWORD = "PLANTED db:p@ss/Word-7f3a9c5e"
DB_PASSWORD_ENCODED = urllib.parse.quote(DB_PASSWORD, safe="")
SUPER_PASSWORD = "Super-Secret-e2e-Pw-4411"
harness.plant(DB_PASSWORD, DB_PASSWORD_ENCODED, SUPER_PASSWORD)

HEAD = "8b0c1d2e3f4a"
MERGE = "merge_heads_20260130"
IRREVERSIBLE = "backfill_nicknames_v2"

CONFIG = """app: connect2-api
region: us-east-1
migrations:
  path: project
  versions: project/alembic/versions
  command: [{alembic}]
environments:
  dev:     {{ branch: development }}
  staging: {{ branch: staging }}
  prod:    {{ branch: main, protected: true }}
""".format(alembic=ALEMBIC)


def have_postgres():
    return os.path.exists(os.path.join(PG_BIN, "initdb")) and os.path.exists(ALEMBIC)


class PostgresServer:
    """A throwaway PostgreSQL 15 cluster: initdb in a temporary folder (as the postgres user when
    running as root, since PostgreSQL refuses root), password (SCRAM) authentication, listening on
    127.0.0.1 at a free port and on a socket folder the server's user owns."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rollback-e2e-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.started = False
        self.owner = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self.owner = "postgres"
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        pwfile = os.path.join(self.dir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(SUPER_PASSWORD)
        if self.owner:
            pw = pwd.getpwnam(self.owner)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self._as_owner([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                        "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--pwfile=" + pwfile,
                        "-E", "UTF8", "--no-sync", "--no-instructions"])
        os.unlink(pwfile)
        self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                        "-l", os.path.join(self.dir, "log"),
                        "-o", f"-k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -p {self.port}", "start"])
        self.started = True
        self.psql_super(f"CREATE ROLE app LOGIN PASSWORD '{DB_PASSWORD}'")

    def _as_owner(self, argv):
        if self.owner:
            argv = ["runuser", "-u", self.owner, "--"] + argv
        r = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError(f"{argv} failed: {r.stdout}{r.stderr}")
        return r

    def stop(self):
        if self.started:
            try:
                self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"])
            except Exception:  # noqa: BLE001 - cleaning up whatever happens
                pass
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def _psql(self, user, password, dbname, sql):
        env = dict(os.environ, PGPASSWORD=password)
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", user, "-d", dbname, "-c", sql],
                           env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {r.stderr}")
        return r.stdout.strip()

    def psql_super(self, sql, dbname="postgres"):
        return self._psql("postgres", SUPER_PASSWORD, dbname, sql)

    def psql(self, dbname, sql):
        return self._psql("app", DB_PASSWORD, dbname, sql)

    def create_database(self, name):
        self.psql_super(f'CREATE DATABASE "{name}" OWNER app')

    def url(self, dbname):
        return f"postgresql+psycopg2://app:{DB_PASSWORD_ENCODED}@127.0.0.1:{self.port}/{dbname}"


SERVER = None


def setUpModule():
    global SERVER
    if not have_postgres():
        return
    try:
        SERVER = PostgresServer()
    except Exception:
        if SERVER is not None:
            SERVER.stop()
        raise
    atexit.register(SERVER.stop)  # also when the run is interrupted


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


class DbTestCase(RollbackTestCase):
    """A copy of the fixture project in the test's folder and helpers to drive Alembic directly."""

    config_text = CONFIG

    def setUp(self):
        super().setUp()
        self.project = os.path.join(self.work, "project")
        shutil.copytree(FIXTURE, self.project, ignore=shutil.ignore_patterns("__pycache__"))
        self.url = None

    def alembic(self, *args, url=None, check=True):
        env = dict(os.environ, DATABASE_URL=url or self.url, PYTHONDONTWRITEBYTECODE="1")
        r = subprocess.run([ALEMBIC, *args], cwd=self.project, env=env, capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT)
        if check and r.returncode != 0:
            raise AssertionError(f"alembic {args} failed: {r.stderr}")
        return r

    def db(self, *args, url=None, **kw):
        env = self.env(DATABASE_URL=url or self.url, PYTHONDONTWRITEBYTECODE="1")
        return self.rollback("db", *args, env=env, **kw)

    def assertNoPassword(self, *texts):
        """Neither the database password nor the AWS secrets appear in the texts or the state folder
        (journal, locks, backups)."""
        self.assertNoSecrets(*texts, also=(DB_PASSWORD, DB_PASSWORD_ENCODED))

    def printed_commands(self, text, program):
        """The restore commands printed after "To restore:", split like a shell would."""
        out = []
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(program + " "):
                out.append(shlex.split(line))
        return out


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class DbPostgresTest(DbTestCase):
    _counter = 0

    def setUp(self):
        super().setUp()
        DbPostgresTest._counter += 1
        self.dbname = f"e2e_{DbPostgresTest._counter}_{self._testMethodName[5:30]}".lower()
        SERVER.create_database(self.dbname)
        self.url = SERVER.url(self.dbname)

    # -- helpers --------------------------------------------------------------------------
    def sql(self, statement):
        return SERVER.psql(self.dbname, statement)

    def upgrade(self, revision="heads", data=True):
        """Migrates to `revision` and fills the tables the downgrades drop."""
        self.alembic("upgrade", revision)
        if not data:
            return
        tables = self.tables()
        if "users" in tables:
            cols = {c for c in self.sql("SELECT column_name FROM information_schema.columns "
                                        "WHERE table_name = 'users'").split()}
            extra = [c for c in ("nickname", "phone") if c in cols]
            values = {"nickname": ["'ada'", "NULL", "'g'"], "phone": ["'+44 1'", "'+1 2'", "NULL"]}
            rows = []
            for i, name in enumerate(["ada", "grace", "linus"]):
                rows.append("(" + ", ".join([str(i + 1), f"'{name}'"] + [values[c][i] for c in extra]) + ")")
            self.sql(f"INSERT INTO users (id, name{''.join(', ' + c for c in extra)}) VALUES {', '.join(rows)}")
        if "audit_log" in tables:
            self.sql("INSERT INTO audit_log (user_id, action) VALUES (1, 'login'), (2, 'login'), (3, 'logout'), "
                     "(1, 'logout')")
        if "settings" in tables:
            self.sql("INSERT INTO settings (key, value) VALUES ('theme', 'dark'), ('lang', 'en'), ('tz', 'UTC')")

    def rows(self):
        return sorted(self.sql("SELECT version_num FROM alembic_version").split())

    def tables(self):
        return sorted(self.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())

    def count(self, table):
        return int(self.sql(f"SELECT count(*) FROM {table}"))

    def snapshot(self):
        """Everything a downgrade could change: rows, tables, columns, indexes, row counts."""
        tables = self.tables()
        return {
            "rows": self.rows(),
            "tables": tables,
            "columns": self.sql("SELECT table_name || '.' || column_name FROM information_schema.columns "
                                "WHERE table_schema = 'public' ORDER BY 1"),
            "indexes": self.sql("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"),
            "counts": {t: self.count(t) for t in tables},
        }

    # -- plan only --------------------------------------------------------------------------
    def test_dry_run_shows_plan_risks_and_data_and_changes_nothing(self):
        self.upgrade()
        before = self.snapshot()
        r = self.db("--env", "dev", "--steps", "2", "--dry-run")
        self.assertExit(r, 0)
        out = r.stdout
        self.assertIn(f"Version table alembic_version: {HEAD}", out)
        self.assertIn("Plan: alembic downgrade backfill_nicknames_v2", out)
        self.assertIn("8b0c1d2e3f4a  index users.name", out)
        self.assertIn("op.drop_index users", out)
        self.assertIn("HIGH     DROP TABLE settings", out)
        self.assertIn("rows in settings: 3", out)
        self.assertIn("Afterwards the version table holds: 2b8e5d9c4a10, backfill_nicknames_v2", out)
        self.assertIn("Backup first: tables settings", out)
        self.assertIn("dry run: nothing was changed", out)
        self.assertNotIn("commits DDL as it goes", r.stderr)  # PostgreSQL: transactional DDL
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.journal(), [])
        self.assertFalse(os.path.exists(os.path.join(self.state, "rollback", "backups")))
        self.assertNoPassword(r.stdout, r.stderr)

    def test_dry_run_json_reports_what_would_be_refused(self):
        self.upgrade()
        r = self.db("--env", "dev", "--steps", "3", "--dry-run", "--output", "json")
        self.assertExit(r, 0)
        j = json.loads(r.stdout)
        self.assertTrue(j["dry_run"])
        self.assertEqual(j["would_refuse"]["tag"], "irreversible")
        self.assertEqual([s["revision"] for s in j["plan"]["steps"]], [HEAD, "7a9b0c1d2e3f", IRREVERSIBLE])
        self.assertEqual(j["plan"]["steps"][2]["severity"], "blocking")
        self.assertNotIn(DB_PASSWORD_ENCODED, j["database"])
        self.assertIn("***", j["database"])

    # -- refusals, nothing changed ----------------------------------------------------------
    def test_destructive_downgrade_without_backup_is_refused_and_nothing_changes(self):
        self.upgrade()
        before = self.snapshot()
        r = self.db("--env", "dev", "--steps", "2", "--no-backup", "--yes")
        self.assertExit(r, 3)
        self.assertIn("--no-backup on a downgrade that destroys data", r.stderr)
        self.assertIn("--accept-data-loss", r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.count("settings"), 3)
        self.assertEqual(self.journal(), [])

    def test_irreversible_migration_in_the_plan_is_refused_before_any_change(self):
        self.upgrade()
        before = self.snapshot()
        r = self.db("--env", "dev", "--to", "2b8e", "--yes")
        self.assertExit(r, 3)
        self.assertIn("irreversible", r.stderr)
        self.assertIn(IRREVERSIBLE, r.stderr)
        self.assertIn("raise NotImplementedError", r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.journal(), [])

    def test_merge_point_is_refused_with_the_choices_spelled_out(self):
        self.upgrade(MERGE)
        before = self.snapshot()
        r = self.db("--env", "dev", "--yes")
        self.assertExit(r, 3)
        self.assertIn("Ambiguous walk", r.stderr)
        self.assertIn("--to 3c4d1e2f9a0b", r.stderr)
        self.assertIn("(same as 5e6f7a8b9c0d)", r.stderr)  # undoing the merge only, either way
        self.assertIn("--to 2b8e5d9c4a10", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_protected_environment_without_yes_is_refused(self):
        self.upgrade()
        before = self.snapshot()
        # Past the staging gate (its own tests below), so that the confirmation is what refuses.
        r = self.db("--env", "prod", "--skip-staging-check", "--reason", "confirmation test")  # no terminal, no --yes
        self.assertExit(r, 3)
        self.assertIn("prod is a protected environment", r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.journal(), [])

    # -- staging first ----------------------------------------------------------------------
    def staging_database(self):
        """A second database for the staging environment, migrated to the head like prod's."""
        name = self.dbname + "_stg"
        SERVER.create_database(name)
        url = SERVER.url(name)
        self.alembic("upgrade", "heads", url=url)
        return url

    def test_protected_downgrade_is_refused_before_staging_and_allowed_after(self):
        self.upgrade()
        before = self.snapshot()
        target = "7a9b0c1d2e3f"  # -1 from the head
        r = self.db("--env", "prod", "--reason", "the migration broke orders", "--yes")
        self.assertExit(r, 3)
        self.assertIn("has not succeeded on dev or staging yet", r.stderr)
        self.assertIn(f"rollback db --env dev --to {target}", r.stderr)
        self.assertIn("--skip-staging-check", r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.journal(), [])
        dry = self.db("--env", "prod", "--dry-run", "--output", "json")
        self.assertExit(dry, 0)
        j = json.loads(dry.stdout)
        self.assertEqual(j["would_refuse"]["tag"], "staging-first")
        self.assertFalse(j["staging_check"]["passed"])

        # Staging is not protected: it has no gate of its own.
        staging_url = self.staging_database()
        r = self.db("--env", "staging", "--steps", "2", "--dry-run", url=staging_url)
        self.assertExit(r, 0)
        self.assertNotIn("Staging first", r.stdout)  # not protected: no gate

        r = self.db("--env", "staging", "--yes", "--reason", "rehearsal", url=staging_url)
        self.assertExit(r, 0)
        self.assertEqual(self.alembic("current", url=staging_url).stdout.split()[0], target)
        [staged] = self.journal()
        self.assertEqual(staged["details"]["from_heads"], [HEAD])

        dry = self.db("--env", "prod", "--dry-run")
        self.assertExit(dry, 0)
        self.assertIn(f"Staging first: passed: the same downgrade succeeded on staging at {staged['ended_at']} "
                      f"by e2e-tester@", dry.stdout)
        self.assertIn(staged["id"], dry.stdout)
        self.assertNotIn("would be refused", dry.stdout)
        self.assertEqual(self.snapshot(), before)

        # A different downgrade on prod (two steps) is still refused.
        r = self.db("--env", "prod", "--reason", "the migration broke orders", "--steps", "2", "--yes")
        self.assertExit(r, 3)
        self.assertIn("rollback db --env dev --to backfill_nicknames_v2", r.stderr)
        self.assertEqual(self.snapshot(), before)

        r = self.db("--env", "prod", "--reason", "the migration broke orders", "--yes")
        self.assertExit(r, 0)
        self.assertEqual(self.rows(), ["2b8e5d9c4a10", target])  # and Alembic's depends_on row
        entry = self.journal()[0]
        self.assertEqual(entry["env"], "prod")
        self.assertEqual(entry["details"]["staging_check"]["evidence"]["rollback_id"], staged["id"])
        self.assertFalse(entry["details"]["staging_check"]["skipped"])

    def test_skipping_the_staging_check_needs_a_reason_and_is_journaled_and_shown(self):
        self.upgrade()
        before = self.snapshot()
        r = self.db("--env", "prod", "--yes", "--skip-staging-check")
        self.assertExit(r, 2)
        self.assertIn("--skip-staging-check needs --reason", r.stderr)
        r = self.db("--env", "prod", "--yes", "--skip-staging-check", "--reason", "  ")
        self.assertExit(r, 2)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.journal(), [])

        dry = self.db("--env", "prod", "--dry-run", "--skip-staging-check", "--reason", "outage 42")
        self.assertExit(dry, 0)
        self.assertIn("Staging first: skipped (--skip-staging-check): outage 42", dry.stdout)
        self.assertNotIn("would be refused", dry.stdout)

        r = self.db("--env", "prod", "--yes", "--skip-staging-check", "--reason", "outage 42")
        self.assertExit(r, 0)
        [entry] = self.journal()
        self.assertEqual(entry["details"]["staging_check"]["skipped"], True)
        self.assertEqual(entry["details"]["staging_check"]["skip_reason"], "outage 42")
        self.assertTrue(any("staging check skipped" in e for e in entry["events"]))
        h = self.rollback("history", env=self.env())
        self.assertExit(h, 0)
        self.assertIn("(staging check skipped: outage 42)", h.stdout)
        h = self.rollback("history", "--id", entry["id"], env=self.env())
        self.assertExit(h, 0)
        self.assertIn("staging check skipped (--skip-staging-check): outage 42", h.stdout)

    def test_unknown_and_ambiguous_revisions_are_usage_errors_listing_candidates(self):
        # A second script whose id starts like 2b8e5d9c4a10, on a branch of its own.
        with open(os.path.join(self.project, "alembic", "versions", "2b8e0000beef_side_branch.py"), "w") as f:
            f.write('"""side branch\n\nRevision ID: 2b8e0000beef\n"""\nfrom alembic import op\n\n'
                    'revision = "2b8e0000beef"\ndown_revision = "a1f0c3e2b7d4"\nbranch_labels = None\n'
                    'depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n')
        self.upgrade(HEAD)
        before = self.snapshot()
        r = self.db("--env", "dev", "--to", "2b8e", "--yes")
        self.assertExit(r, 2)
        self.assertIn("2b8e5d9c4a10", r.stderr)
        self.assertIn("2b8e0000beef", r.stderr)
        r = self.db("--env", "dev", "--to", "feedface", "--yes")
        self.assertExit(r, 2)
        self.assertEqual(self.snapshot(), before)

    # -- the real thing ---------------------------------------------------------------------
    def test_downgrade_with_backup_then_the_printed_restore_brings_the_data_back(self):
        self.upgrade(MERGE)
        self.assertEqual(self.count("audit_log"), 4)
        r = self.db("--env", "dev", "--to", "2b8e", "--yes", "--reason", "bad audit migration")
        self.assertExit(r, 0)
        out = r.stdout
        # The plan: the merge (a no-op), then both branches, with the data at stake.
        self.assertIn("Plan: alembic downgrade 2b8e5d9c4a10  (3 migrations", out)
        self.assertIn("rows in audit_log: 4", out)
        self.assertIn("non-NULL values of users.phone: 2", out)
        self.assertIn("pass", out)
        self.assertIn("Running downgrade", out)  # alembic's own output, streamed
        # The database: at the target, audit_log gone, phone gone, users and its data still there.
        self.assertEqual(self.rows(), ["2b8e5d9c4a10"])
        self.assertNotIn("audit_log", self.tables())
        self.assertIn("users", self.tables())
        self.assertEqual(self.count("users"), 3)
        self.assertNotIn("phone", self.sql("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'users'").split())
        self.assertIn("verified: the version table holds 2b8e5d9c4a10", out)
        self.assertIn("verified: table audit_log is gone, as planned", out)
        # The backup: one custom-format dump per affected table, private.
        [entry] = self.journal()
        backup = entry["details"]["backup"]
        files = {f["table"]: f["path"] for f in backup["files"]}
        self.assertEqual(sorted(files), ["audit_log", "users"])
        for path in files.values():
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            self.assertIn(path, out)
        self.assertEqual(os.stat(os.path.dirname(files["audit_log"])).st_mode & 0o777, 0o700)
        # The printed restore command, run as printed, brings audit_log back with its rows.
        restores = [c for c in self.printed_commands(out, "pg_restore")
                    if c[-1] == files["audit_log"] and "--data-only" not in c]
        self.assertEqual(len(restores), 1, out)
        env = dict(os.environ, PGPASSWORD=DB_PASSWORD)
        done = subprocess.run(restores[0], env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.count("audit_log"), 4)
        self.assertEqual(self.sql("SELECT action FROM audit_log ORDER BY id"), "login\nlogin\nlogout\nlogout")
        # The journal entry.
        self.assertEqual(entry["layer"], "db")
        self.assertEqual(entry["env"], "dev")
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["reason"], "bad audit migration")
        self.assertEqual(entry["from_ref"], MERGE)
        self.assertEqual(entry["to_ref"], "2b8e5d9c4a10")
        self.assertEqual(entry["details"]["downgraded"], [MERGE, "3c4d1e2f9a0b", "5e6f7a8b9c0d"])
        self.assertEqual(entry["details"]["expected_rows"], ["2b8e5d9c4a10"])
        self.assertTrue(entry["details"]["verification"]["ok"])
        self.assertIn("***", entry["details"]["database"])
        self.assertTrue(any("backup:" in e for e in entry["events"]))
        self.assertTrue(any("Running downgrade" in e for e in entry["events"]))
        # The runbook's checklist: the plan analysed before, the database verified after.
        checklist = {i["item"]: i for i in entry["details"]["checklist"]}
        plan_item = checklist["Database rollback plan"]
        self.assertEqual(plan_item["result"], "pass", plan_item)
        self.assertIn("alembic downgrade 2b8e5d9c4a10", plan_item["evidence"])
        self.assertIn("table audit_log", plan_item["evidence"])
        self.assertIn("backed up first", plan_item["evidence"])
        integrity = checklist["Verify database integrity"]
        self.assertEqual(integrity["result"], "pass", integrity)
        self.assertIn("the version table holds 2b8e5d9c4a10", integrity["evidence"])
        self.assertIn("table audit_log is gone", integrity["evidence"])
        self.assertEqual(checklist["You have AWS access"]["result"], "skipped")  # a local downgrade
        self.assertEqual(checklist["Team is notified"]["result"], "given (--yes)")
        self.assertNoPassword(r.stdout, r.stderr, json.dumps(entry["details"]["checklist"]))

    def test_steps_two_from_head_with_depends_on_rows_and_raw_sql_drop(self):
        self.upgrade()
        r = self.db("--env", "dev", "--steps", "2", "--yes")
        self.assertExit(r, 0)
        # Alembic 1.8.1 leaves a row for the depends_on of 8b0c1d2e3f4a.
        self.assertEqual(self.rows(), ["2b8e5d9c4a10", IRREVERSIBLE])
        self.assertNotIn("settings", self.tables())
        self.assertEqual(self.count("users"), 3)
        # The next -1 starts from the real head, not from the stale depends_on row.
        r = self.db("--env", "dev", "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("Plan: alembic downgrade merge_heads_20260130", r.stdout)
        self.assertIn("also holds 2b8e5d9c4a10", r.stdout)

    def test_noop_downgrade_then_several_heads_are_refused(self):
        self.upgrade(MERGE)
        r = self.db("--env", "dev", "--to", "3c4d1e2f9a0b", "--yes")
        self.assertExit(r, 0)
        self.assertIn("the downgrade does nothing", r.stdout)
        self.assertNotIn("Backup first", r.stdout)
        self.assertEqual(self.rows(), ["3c4d1e2f9a0b", "5e6f7a8b9c0d"])
        self.assertEqual(self.count("audit_log"), 4)
        [entry] = self.journal()
        self.assertNotIn("backup", entry["details"])
        self.assertEqual(entry["details"]["severity"], "none")
        before = self.snapshot()
        r = self.db("--env", "dev", "--yes")
        self.assertExit(r, 3)
        self.assertIn("the database has 2 heads", r.stderr)
        self.assertIn("--to 3c4d1e2f9a0b@2b8e5d9c4a10", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_alembic_failure_is_reported_and_postgresql_rolled_it_all_back(self):
        self.upgrade()
        self.sql("DROP TABLE settings")  # someone dropped it by hand: the downgrade's DROP TABLE fails
        before = self.snapshot()
        r = self.db("--env", "dev", "--steps", "2", "--yes")
        self.assertExit(r, 1)
        self.assertIn('table "settings" does not exist', r.stderr)  # alembic's last lines
        self.assertIn("[SQL: DROP TABLE settings]", r.stderr)
        self.assertIn("nothing changed", r.stderr)
        self.assertIn(HEAD, r.stderr)
        # One transaction: the first step (drop_index) was rolled back too.
        self.assertEqual(self.snapshot(), before)
        self.assertIn("ix_users_name", before["indexes"])
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "failed")
        self.assertNoPassword(r.stdout, r.stderr)

    # -- fix forward ------------------------------------------------------------------------
    def schema(self):
        """Tables, columns and indexes: what a migration changes, without the data."""
        return {
            "tables": [t for t in self.tables() if t != "alembic_version"],
            "columns": self.sql("SELECT table_name || '.' || column_name || ' ' || data_type FROM "
                                "information_schema.columns WHERE table_schema = 'public' "
                                "AND table_name <> 'alembic_version' ORDER BY 1"),
            "indexes": self.sql("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                                "AND tablename <> 'alembic_version' ORDER BY 1"),
        }

    def test_fix_forward_is_valid_alembic_and_its_upgrade_restores_the_schema(self):
        # The schema the fix forward must bring back: before settings and ix_users_name.
        self.upgrade(MERGE, data=False)
        expected = self.schema()
        self.upgrade()
        self.assertNotEqual(self.schema(), expected)
        # Outside a git checkout there is no branch to write it on; other options are usage errors.
        r = self.db("--env", "dev", "--steps", "3", "--fix-forward")
        self.assertExit(r, 3)
        self.assertIn("is not a git checkout", r.stderr)
        r = self.db("--env", "dev", "--steps", "3", "--fix-forward", "--no-backup")
        self.assertExit(r, 2)
        scripts = lambda root: sorted(f for f in os.listdir(os.path.join(root, "alembic", "versions"))
                                      if f.endswith(".py"))
        self.assertEqual(scripts(self.project), scripts(FIXTURE))  # nothing written
        # The project in a git checkout, as an application repository is.
        harness.git(self.work, "init", "-q", "-b", "main")
        harness.git(self.work, "config", "user.name", "Dev")
        harness.git(self.work, "config", "user.email", "dev@example.com")
        harness.git(self.work, "add", "project", "rollback.yaml")
        harness.git(self.work, "commit", "-q", "-m", "the application")
        head = harness.git(self.work, "rev-parse", "HEAD")

        # The downgrade crosses the irreversible backfill: its refusal offers the fix forward.
        r = self.db("--env", "dev", "--steps", "3", "--yes")
        self.assertExit(r, 3)
        self.assertIn(f"rollback db --env dev --to {MERGE} --fix-forward", r.stderr)

        # A downgrade that destroys data (without crossing it) offers it in its plan.
        r = self.db("--env", "dev", "--steps", "2", "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("Or fix forward: `rollback db --env dev --to backfill_nicknames_v2 --fix-forward`", r.stdout)

        dry = self.db("--env", "dev", "--steps", "3", "--fix-forward", "--dry-run")
        self.assertExit(dry, 0)
        self.assertIn('op.drop_table("settings")', dry.stdout)
        self.assertIn("nothing was written", dry.stdout)
        self.assertEqual(harness.git(self.work, "branch", "--list", "rollback/*"), "")

        before = self.snapshot()
        r = self.db("--env", "dev", "--steps", "3", "--fix-forward")
        self.assertExit(r, 0)
        self.assertEqual(self.snapshot(), before)  # no database was touched
        out = r.stdout
        self.assertIn("drops table settings", out)
        self.assertIn("drops index ix_users_name on users", out)
        # The data migration cannot be reversed: a TODO in the output (and the file).
        self.assertIn("TODO, not derived (1)", out)
        self.assertIn("UPDATE users SET nickname = name", out)
        self.assertIn("not pushed", out)
        branch = next(w for line in out.splitlines() if " on branch " in line
                      for w in [line.split(" on branch ")[1].split()[0]])
        self.assertTrue(branch.startswith("rollback/fix-forward-"), branch)
        revision = branch[len("rollback/fix-forward-"):]
        # The user's checkout is as it was: same HEAD, nothing changed or added.
        self.assertEqual(harness.git(self.work, "rev-parse", "HEAD"), head)
        self.assertEqual(harness.git(self.work, "status", "--porcelain", "--", "project"), "")

        # Checked out, Alembic reads it as the new head on top of the database's.
        harness.git(self.work, "checkout", "-q", branch)
        [path] = [f for f in os.listdir(os.path.join(self.project, "alembic", "versions"))
                  if f.startswith(revision)]
        with open(os.path.join(self.project, "alembic", "versions", path)) as f:
            text = f.read()
        self.assertIn(f'down_revision = "{HEAD}"', text)
        self.assertIn("# TODO backfill_nicknames_v2", text)
        heads = self.alembic("heads").stdout
        self.assertEqual(heads.split()[0], revision, heads)
        # Its upgrade, run by Alembic on PostgreSQL, restores the schema.
        self.alembic("upgrade", "heads")
        self.assertEqual(self.rows(), [revision])
        self.assertEqual(self.schema(), expected)

    def test_json_output(self):
        self.upgrade()
        r = self.db("--env", "dev", "--steps", "2", "--yes", "--output", "json", "--full-backup")
        self.assertExit(r, 0)
        j = json.loads(r.stdout)
        self.assertTrue(j["ok"])
        self.assertEqual(j["outcome"], "succeeded")
        self.assertEqual(j["layer"], "db")
        self.assertEqual(j["plan"]["alembic_argument"], IRREVERSIBLE)
        self.assertEqual(j["plan"]["expected_rows"], ["2b8e5d9c4a10", IRREVERSIBLE])
        self.assertEqual(j["plan"]["data"][0]["count"], 3)
        self.assertEqual(j["command"], [ALEMBIC, "downgrade", IRREVERSIBLE])
        self.assertTrue(j["verification"]["ok"])
        self.assertTrue(j["backup"]["whole_database"])
        [whole] = j["backup"]["files"]
        self.assertEqual(whole["table"], "")
        self.assertTrue(os.path.exists(whole["path"]))
        self.assertNoPassword(r.stdout, r.stderr)

    def test_status(self):
        self.upgrade(MERGE)
        r = self.db("status", "--env", "dev")
        self.assertExit(r, 0)
        out = r.stdout
        self.assertIn(f"Version table alembic_version: {MERGE}", out)
        self.assertIn("Pending upgrades: heads 8b0c1d2e3f4a are not applied (3 migrations", out)
        self.assertIn("<- current", out)
        self.assertIn("3c4d1e2f9a0b", out)  # the graph below the merge point
        self.assertIn("+ ", out)            # pending revisions above it
        self.assertIn("would be refused: Ambiguous walk", out)
        r = self.db("status", "--env", "dev", "--output", "json")
        self.assertExit(r, 0)
        j = json.loads(r.stdout)
        self.assertEqual(j["rows"], [MERGE])
        self.assertEqual(j["pending_heads"], [HEAD])
        self.assertEqual(j["pending"], [IRREVERSIBLE, "7a9b0c1d2e3f", HEAD])
        self.assertTrue(j["next_downgrade"]["refused"])
        current = [n["revision"] for n in j["graph"] if n["current"]]
        self.assertEqual(current, [MERGE])
        # At the head: the next downgrade and its risk.
        self.alembic("upgrade", "heads")
        j = json.loads(self.db("status", "--env", "dev", "--output", "json").stdout)
        self.assertEqual(j["pending_heads"], [])
        self.assertEqual(j["next_downgrade"]["steps"][0]["revision"], HEAD)
        self.assertEqual(j["next_downgrade"]["severity"], "low")
        self.assertEqual(self.journal(), [])
        self.assertNoPassword(r.stdout, r.stderr)

    def test_no_database_url_is_a_usage_error(self):
        env = self.env()
        env.pop("DATABASE_URL", None)
        r = self.rollback("db", "--env", "dev", env=env)
        self.assertExit(r, 2)
        self.assertIn("DATABASE_URL", r.stderr)


@unittest.skipUnless(os.path.exists(ALEMBIC), "/usr/bin/alembic is needed")
class DbSqliteTest(DbTestCase):
    def setUp(self):
        super().setUp()
        self.file = os.path.join(self.work, "app.db")
        self.url = "sqlite:///" + self.file

    def query(self, sql):
        con = sqlite3.connect(self.file)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def test_downgrade_backup_and_restore_on_sqlite(self):
        self.alembic("upgrade", "heads")
        con = sqlite3.connect(self.file)
        con.execute("INSERT INTO settings (key, value) VALUES ('theme', 'dark'), ('lang', 'en'), ('tz', 'UTC')")
        con.commit()
        con.close()
        r = self.db("--env", "dev", "--steps", "2", "--yes")
        self.assertExit(r, 0)
        self.assertIn("commits DDL as it goes", r.stderr)
        self.assertIn("rows in settings: 3", r.stdout)
        self.assertIn("Backup first: a consistent copy of the SQLite file", r.stdout)
        self.assertEqual(sorted(v for (v,) in self.query("SELECT version_num FROM alembic_version")),
                         ["2b8e5d9c4a10", IRREVERSIBLE])
        tables = [t for (t,) in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
        self.assertNotIn("settings", tables)
        self.assertIn("users", tables)
        [entry] = self.journal()
        [backup] = entry["details"]["backup"]["files"]
        self.assertEqual(os.stat(backup["path"]).st_mode & 0o777, 0o600)
        # The printed restore of the table: its definition from the backup, then its rows.
        [schema_cmd] = [c for c in self.printed_commands(r.stdout, "sqlite3") if c[-1].startswith(".schema")]
        schema = subprocess.run(schema_cmd, capture_output=True, text=True, check=True).stdout
        self.assertIn("CREATE TABLE settings", schema)
        subprocess.run(["sqlite3", self.file, schema], check=True)
        [insert] = [c for c in self.printed_commands(r.stdout, "sqlite3") if "INSERT INTO" in c[-1]]
        subprocess.run(insert, check=True)
        self.assertEqual(self.query("SELECT count(*) FROM settings"), [(3,)])

    def test_dry_run_on_sqlite_changes_nothing(self):
        self.alembic("upgrade", "heads")
        with open(self.file, "rb") as f:
            before = f.read()
        r = self.db("--env", "dev", "--to", "7a9b", "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("Plan: alembic downgrade 7a9b0c1d2e3f", r.stdout)
        with open(self.file, "rb") as f:
            self.assertEqual(f.read(), before)


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class DbSnapshotTest(DbTestCase):
    """An RDS snapshot before a downgrade that destroys data on a protected environment: moto
    serves RDS (the instance is created there); the downgrade itself runs on the test's
    PostgreSQL."""

    config_text = CONFIG.replace("prod:    { branch: main, protected: true }",
                                 "prod:    { branch: main, protected: true, database: { rds_instance: connect2-prod } }\n"
                                 "  qa:      { branch: main, protected: true, database: { rds_instance: connect2-gone } }")

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(seed=False)
        cls.addClassCleanup(cls.sandbox.stop)
        cls.sandbox.client("rds").create_db_instance(
            DBInstanceIdentifier="connect2-prod", Engine="postgres", DBInstanceClass="db.t3.micro",
            AllocatedStorage=20, MasterUsername="app", MasterUserPassword="not-a-real-password-1")

    _counter = 0

    def setUp(self):
        super().setUp()
        DbSnapshotTest._counter += 1
        self.dbname = f"e2e_snapshot_{DbSnapshotTest._counter}"
        SERVER.create_database(self.dbname)
        self.url = SERVER.url(self.dbname)
        self.alembic("upgrade", "heads")
        SERVER.psql(self.dbname, "INSERT INTO settings (key, value) VALUES ('theme', 'dark')")

    def db(self, *args, **kw):
        env = self.env(self.sandbox, DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        return self.rollback("db", *args, env=env, **kw)

    def snapshots(self):
        rds = self.sandbox.client("rds")
        return sorted(s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"])

    def db_state(self):
        return (SERVER.psql(self.dbname, "SELECT version_num FROM alembic_version ORDER BY 1"),
                SERVER.psql(self.dbname, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"))

    def test_destructive_prod_downgrade_takes_one_snapshot_named_after_the_rollback(self):
        before = self.snapshots()
        dry = self.db("--env", "prod", "--steps", "2", "--dry-run")
        self.assertExit(dry, 0)
        self.assertIn("RDS snapshot of instance connect2-prod: taken first (the plan destroys data", dry.stdout)
        self.assertEqual(self.snapshots(), before)  # a dry run takes none

        r = self.db("--env", "prod", "--steps", "2", "--yes", "--skip-staging-check", "--reason", "snapshot test")
        self.assertExit(r, 0)
        [entry] = self.journal()
        name = "rollback-" + entry["id"]
        self.assertEqual(self.snapshots(), sorted(before + [name]))
        self.assertIn(f"snapshot {name}: available", r.stdout)
        snap = entry["details"]["snapshot"]
        self.assertEqual(snap["identifier"], name)
        self.assertEqual(snap["arn"], f"arn:aws:rds:us-east-1:123456789012:snapshot:{name}")
        self.assertTrue(any(e.startswith(f"snapshot {name} available: arn:aws:rds:") for e in entry["events"]))
        # Taken before the downgrade ran: its events come first.
        events = entry["events"]
        first_alembic = next(i for i, e in enumerate(events) if e.startswith("alembic:"))
        self.assertLess(events.index(f"taking snapshot {name} of RDS instance connect2-prod"), first_alembic)
        self.assertNotIn("settings", self.db_state()[1])

    def test_no_snapshot_when_asked_or_when_no_data_changes(self):
        before = self.snapshots()
        r = self.db("--env", "prod", "--steps", "2", "--yes", "--no-snapshot", "--skip-staging-check", "--reason", "t")
        self.assertExit(r, 0)
        self.assertIn("RDS snapshot of instance connect2-prod: not taken (--no-snapshot)", r.stdout)
        self.assertEqual(self.snapshots(), before)
        self.assertFalse(self.journal()[0]["details"]["snapshot_planned"])
        # --snapshot and --no-snapshot together, or --snapshot without `database:`, are usage errors.
        r = self.db("--env", "prod", "--snapshot", "--no-snapshot", "--dry-run")
        self.assertExit(r, 2)
        r = self.db("--env", "dev", "--snapshot", "--dry-run")
        self.assertExit(r, 2)
        self.assertIn("names no RDS database", r.stderr)

    def test_a_failed_snapshot_stops_the_downgrade_before_anything_changes(self):
        before = self.db_state()
        r = self.db("--env", "qa", "--steps", "2", "--yes", "--skip-staging-check", "--reason", "t")
        self.assertExit(r, 1)
        self.assertIn("the RDS snapshot failed, so the downgrade did not run", r.stderr)
        self.assertIn("DBInstanceNotFound", r.stderr)
        self.assertEqual(self.db_state(), before)
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "failed")
        self.assertFalse(any(e.startswith("alembic:") for e in entry["events"]))


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class DbTeamStagingTest(DbTestCase):
    """Team mode: the staging run recorded by one machine opens the gate for another, through the
    team table (moto's DynamoDB); each machine has its own local journal."""

    config_text = CONFIG.replace("environments:", "team:\n  table: rollback-team-db\nenvironments:")

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(seed=False)
        cls.addClassCleanup(cls.sandbox.stop)

    def setUp(self):
        super().setUp()
        self.urls = {}
        for env in ("staging", "prod"):
            name = f"e2e_team_{env}"
            SERVER.psql_super(f'DROP DATABASE IF EXISTS "{name}"')
            SERVER.create_database(name)
            self.urls[env] = SERVER.url(name)
            self.alembic("upgrade", "heads", url=self.urls[env])
        r = self.rollback("team", "init", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 0)

    def on(self, machine, env, *args):
        e = self.env(self.sandbox, DATABASE_URL=self.urls[env], PYTHONDONTWRITEBYTECODE="1",
                     XDG_STATE_HOME=os.path.join(self.work, "state-" + machine), ROLLBACK_USER=machine)
        return self.rollback("db", "--env", env, *args, env=e)

    def test_a_staging_run_on_one_machine_opens_the_gate_on_another(self):
        r = self.on("bob", "prod", "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("Staging first: not passed", r.stdout)
        r = self.on("alice", "staging", "--yes", "--reason", "rehearsal")
        self.assertExit(r, 0)
        r = self.on("bob", "prod", "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("Staging first: passed: the same downgrade succeeded on staging at ", r.stdout)
        self.assertIn(" by alice@", r.stdout)
        r = self.on("bob", "prod", "--yes", "--reason", "the migration broke orders")
        self.assertExit(r, 0)
        self.assertEqual(self.alembic("current", url=self.urls["prod"]).stdout.split()[0], "7a9b0c1d2e3f")


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class DbViaEcsTaskTest(DbTestCase):
    """--via ecs-task: the sandbox runs the RunTask command override as a real local process in
    the migrations folder (exec_dirs), with the database URL in its environment like a task
    definition's secret, so the task really downgrades the test's PostgreSQL."""

    @classmethod
    def setUpClass(cls):
        cls.dbname = "e2e_ecs_task"
        saved = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = SERVER.url(cls.dbname)  # what the task's container gets
        try:
            cls.sandbox = Sandbox(task_start_delay=0.2)
        finally:
            if saved is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = saved
        cls.addClassCleanup(cls.sandbox.stop)

    def setUp(self):
        super().setUp()
        # A fresh database under the name the sandbox's tasks were given.
        SERVER.psql_super(f'DROP DATABASE IF EXISTS "{self.dbname}"')
        SERVER.create_database(self.dbname)
        self.url = SERVER.url(self.dbname)
        self.sandbox.control("exec_dirs", {"connect2-api": self.project})
        self.sandbox.control("calls/reset", {})

    def sql(self, statement):
        return SERVER.psql(self.dbname, statement)

    def rows(self):
        return sorted(self.sql("SELECT version_num FROM alembic_version").split())

    def db_task(self, *args, url=True):
        env = self.env(self.sandbox, PYTHONDONTWRITEBYTECODE="1")
        if url:
            env["DATABASE_URL"] = self.url
        return self.rollback("db", "--env", "dev", "--via", "ecs-task", *args, env=env)

    def test_downgrade_runs_as_a_task_and_is_verified_here(self):
        self.alembic("upgrade", "heads")
        self.sql("INSERT INTO settings (key, value) VALUES ('theme', 'dark')")
        ecs = self.sandbox.client("ecs")

        # With the URL: planned from the real version table, run in the task, verified here.
        r = self.db_task("--yes", "--output", "json")
        self.assertExit(r, 0)
        j = json.loads(r.stdout)
        self.assertEqual(j["via"], "ecs-task")
        self.assertEqual(j["task"]["outcome"]["exit_code"], 0)
        self.assertTrue(j["verification"]["ok"])
        self.assertEqual(self.rows(), ["2b8e5d9c4a10", "7a9b0c1d2e3f"])
        arn = j["task"]["outcome"]["task_arn"]
        task = ecs.describe_tasks(cluster="connect2-api-cluster-dev", tasks=[arn])["tasks"][0]
        [override] = task["overrides"]["containerOverrides"]
        self.assertEqual(override["name"], "connect2-api")
        self.assertEqual(override["command"], [ALEMBIC, "downgrade", j["plan"]["alembic_argument"]])
        self.assertEqual(task["startedBy"], "rollback/" + j["rollback_id"])
        self.assertTrue(task["taskDefinitionArn"].endswith("connect2-api-dev:6"))  # what the service runs
        self.assertEqual(task["launchType"], "FARGATE")
        self.assertEqual(self.sandbox.control("calls?operation=RunTask")["counts"].get("RunTask"), 1)
        logs = self.sandbox.control("tasks/" + arn.split("/")[-1] + "/logs")
        self.assertEqual(logs["exitCode"], 0)
        self.assertEqual(logs["cwd"], self.project)
        self.assertIn("Running downgrade 8b0c1d2e3f4a -> 7a9b0c1d2e3f", logs["stderr"])
        [entry] = self.journal()
        self.assertEqual(entry["details"]["via"], "ecs-task")
        self.assertEqual(entry["details"]["task"]["task_arn"], arn)

        # Without a URL the version table cannot be read: --from is required...
        r = self.db_task("--yes", url=False)
        self.assertExit(r, 2)
        self.assertIn("--from", r.stderr)
        # ...and a downgrade that destroys data cannot be backed up from here: refused...
        r = self.db_task("--yes", "--from", "7a9b0c1d2e3f,2b8e5d9c4a10", url=False)
        self.assertExit(r, 3)
        self.assertIn("no database URL to back it up", r.stderr)
        self.assertEqual(self.sql("SELECT count(*) FROM settings"), "1")
        # ...unless the loss is accepted; the result cannot be verified from here, and says so.
        r = self.db_task("--yes", "--from", "7a9b0c1d2e3f,2b8e5d9c4a10", "--no-backup", "--accept-data-loss",
                         url=False)
        self.assertExit(r, 0)
        self.assertIn("not verified", r.stderr)
        self.assertEqual(self.rows(), ["2b8e5d9c4a10", IRREVERSIBLE])
        self.assertNotIn("settings", self.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())
        self.assertNoPassword(r.stdout, r.stderr)

    def test_failing_task_is_a_failure_with_its_exit_code(self):
        self.alembic("upgrade", "heads")
        self.alembic("downgrade", "7a9b0c1d2e3f")  # leaves {7a9b, 2b8e}
        self.sql("DROP TABLE settings")            # the task's DROP TABLE will fail
        r = self.db_task("--yes", "--no-backup", "--accept-data-loss")
        self.assertExit(r, 1)
        self.assertIn("exit code 1", r.stderr)
        self.assertIn("nothing changed", r.stderr)
        self.assertEqual(self.rows(), ["2b8e5d9c4a10", "7a9b0c1d2e3f"])


if __name__ == "__main__":
    unittest.main()
