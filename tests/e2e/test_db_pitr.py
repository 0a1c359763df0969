"""`rollback db pitr`: point-in-time recovery into a new RDS instance, never in place.

moto serves RDS, extended by sandbox/rds_sim.py: the restore checks RestoreTime against the
window, the new instance is `creating` for a moment, and its endpoint is pointed at a second real
PostgreSQL server holding the database as it was at the restore time (both rows of `settings`),
while the live database has since lost one (the incident). The comparison the tool prints is
computed from those two real databases.
"""

import datetime
import json
import time
import unittest

import test_db
from harness import Sandbox
from test_db import DB_PASSWORD, DbTestCase, have_postgres


def setUpModule():
    test_db.setUpModule()


def tearDownModule():
    test_db.tearDownModule()


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class DbPitrTest(DbTestCase):
    config_text = test_db.CONFIG.replace(
        "dev:     { branch: development }",
        "dev:     { branch: development, database: { rds_instance: connect2-dev } }\n"
        "  nobackups: { branch: development, database: { rds_instance: connect2-nobackups } }\n"
        "  aurora: { branch: development, database: { rds_cluster: connect2-aurora } }\n"
        "  bare:   { branch: development }").replace(
        "prod:    { branch: main, protected: true }",
        "prod:    { branch: main, protected: true, database: { rds_instance: connect2-prod } }")

    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(seed=False)
        cls.addClassCleanup(cls.sandbox.stop)
        rds = cls.sandbox.client("rds")
        ec2 = cls.sandbox.client("ec2")
        cls.sg = ec2.create_security_group(GroupName="connect2-db", Description="database")["GroupId"]
        # Where restored instances answer: another server, with the database as it was at T.
        cls.restored_server = test_db.PostgresServer()
        cls.addClassCleanup(cls.restored_server.stop)
        for name, retention in (("connect2-dev", 7), ("connect2-prod", 7), ("connect2-nobackups", 0)):
            rds.create_db_instance(
                DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                MasterUsername="app", MasterUserPassword="not-a-real-password-1", BackupRetentionPeriod=retention,
                Port=cls.restored_server.port, VpcSecurityGroupIds=[cls.sg])
        cls.sandbox.control("rds", {"restore_delay": 1.5, "endpoint_address": "127.0.0.1"})
        time.sleep(2)  # the window starts at the instances' creation

    _counter = 0

    def setUp(self):
        super().setUp()
        DbPitrTest._counter += 1
        self.dbname = f"e2e_pitr_{DbPitrTest._counter}"
        self.url = test_db.SERVER.url(self.dbname)
        # The database as it was at T, on both servers; then the incident deletes a row of the
        # live one.
        for server in (test_db.SERVER, self.restored_server):
            server.create_database(self.dbname)
            self.alembic("upgrade", "heads", url=server.url(self.dbname))
            server.psql(self.dbname, "INSERT INTO settings (key, value) VALUES ('theme', 'dark'), ('lang', 'en')")
        test_db.SERVER.psql(self.dbname, "DELETE FROM settings WHERE key = 'lang'")

    def pitr(self, *args, **kw):
        env = self.env(self.sandbox, DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        return self.rollback("db", "pitr", *args, env=env, **kw)

    def instances(self):
        rds = self.sandbox.client("rds")
        return {d["DBInstanceIdentifier"]: d for d in rds.describe_db_instances()["DBInstances"]}

    def restore_time(self):
        """A time inside the window: a second ago, after the instances were created."""
        t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        return t.replace(microsecond=0)

    def test_restores_into_a_new_instance_compares_and_prints_the_cutover(self):
        when = self.restore_time()
        when_text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        target = "connect2-dev-pitr-" + when.strftime("%Y%m%d-%H%M")
        before = self.instances()
        r = self.pitr("--env", "dev", "--to-time", when_text, "--reason", "rows deleted by a bad job")
        self.assertExit(r, 0)
        after = self.instances()
        self.assertEqual(set(after) - set(before), {target})
        restored = after[target]
        self.assertEqual(restored["DBInstanceStatus"], "available")
        # The source's network and class, and tags naming the rollback.
        self.assertEqual([g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]], [self.sg])
        self.assertEqual(restored["DBInstanceClass"], "db.t3.micro")
        [entry] = self.journal()
        self.assertEqual(entry["layer"], "db-pitr")
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["from_ref"], "connect2-dev")
        self.assertEqual(entry["to_ref"], f"{target} @ {when_text}")
        tags = {t["Key"]: t["Value"] for t in
                self.sandbox.client("rds").list_tags_for_resource(ResourceName=restored["DBInstanceArn"])["TagList"]}
        self.assertEqual(tags["rollback:id"], entry["id"])
        self.assertEqual(tags["rollback:restore-time"], when_text)
        # Followed through `creating` to `available`, with progress.
        self.assertIn(f"instance {target}: creating", r.stdout)
        self.assertIn(f"instance {target}: available", r.stdout)
        self.assertIn(f"instance {target}: creating", entry["events"])
        # The comparison, from both real databases: the row the incident deleted is in the restore.
        head = test_db.SERVER.psql(self.dbname, "SELECT version_num FROM alembic_version ORDER BY 1").replace("\n", ", ")
        self.assertIn(f"Alembic version: live {head}, restored {head}", r.stdout)
        self.assertRegex(r.stdout, r"\n  settings +1 +2\n")
        self.assertIn(f"127.0.0.1:{self.restored_server.port}/{self.dbname}", r.stdout)
        # The cutover is printed, never done.
        self.assertIn("the tool does not switch over", r.stdout)
        self.assertIn("rollback ecs --env dev --restart", r.stdout)
        self.assertNoPassword(r.stdout, r.stderr)

        # The same minute again: the instance exists, refused, nothing new.
        again = self.pitr("--env", "dev", "--to-time", when_text)
        self.assertExit(again, 3)
        self.assertIn(f"RDS instance {target} already exists", again.stderr)
        self.assertEqual(set(self.instances()), set(after))

    def test_json_output_and_dry_run(self):
        when_text = self.restore_time().strftime("%Y-%m-%dT%H:%M:%SZ")
        before = self.instances()
        r = self.pitr("--env", "dev", "--to-time", when_text, "--dry-run", "--output", "json")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertTrue(result["dry_run"])
        self.assertEqual(result["source"]["identifier"], "connect2-dev")
        self.assertEqual(result["restore_time"], when_text)
        self.assertGreater(result["estimate_seconds"], 0)
        self.assertEqual(self.instances().keys(), before.keys())
        self.assertEqual(self.journal(), [])

        r = self.pitr("--env", "dev", "--to-time", "1s ago", "--name", "connect2-dev-check", "--output", "json",
                      "--tables", "settings")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertEqual(result["restored"]["identifier"], "connect2-dev-check")
        self.assertEqual(result["comparison"]["tables"], [{"table": "settings", "live": 1, "restored": 2}])
        self.assertEqual(r.stderr, "")

    def test_outside_the_window_and_bad_requests_change_nothing(self):
        before = self.instances()
        cases = [
            # (args, exit code, text in stderr)
            (("--env", "dev", "--to-time", "2020-01-01T00:00:00Z"), 3, "outside the restorable window"),
            (("--env", "dev", "--to-time", "1h ago", "--name", "x"), 3, "outside the restorable window"),
            (("--env", "dev", "--to-time", "2026-11-30T09:15:00"), 2, "with a zone"),
            (("--env", "dev", "--to-time", "yesterday"), 2, "not an ISO-8601 time"),
            (("--env", "dev", "--to-time", "1s ago", "--name", "Bad--Name"), 2, "not a valid instance name"),
            (("--env", "bare", "--to-time", "1s ago"), 2, "names no RDS database"),
            (("--env", "aurora", "--to-time", "1s ago"), 2, "restores RDS instances only"),
            (("--env", "nobackups", "--to-time", "1s ago"), 3, "automated backups are off"),
        ]
        for args, code, text in cases:
            with self.subTest(args=args):
                r = self.pitr(*args)
                self.assertExit(r, code)
                self.assertIn(text, r.stderr)
        self.assertEqual(set(self.instances()), set(before))
        self.assertEqual(self.journal(), [])

    def test_protected_environment_needs_confirmation(self):
        before = self.instances()
        r = self.pitr("--env", "prod", "--to-time", "1s ago", input="")
        self.assertExit(r, 3)
        self.assertIn("protected environment", r.stderr)
        self.assertEqual(set(self.instances()), set(before))
        r = self.pitr("--env", "prod", "--to-time", "1s ago", "--yes", "--no-wait", "--reason", "bad job")
        self.assertExit(r, 0)
        self.assertIn("restore started (--no-wait)", r.stdout)
        [entry] = self.journal()
        self.assertFalse(entry["details"]["followed"])
        self.assertEqual(len(self.instances()), len(before) + 1)


if __name__ == "__main__":
    unittest.main()
