"""`rollback db pitr`: point-in-time recovery into a new RDS instance or Aurora cluster, never in place.

moto serves RDS, extended by sandbox/rds_sim.py: the restore checks RestoreTime against the
window, the new instance (or cluster, then its instance) is `creating` for a moment, and its
endpoint is pointed at a second real PostgreSQL server holding the database as it was at the
restore time (both rows of `settings`), while the live database has since lost one (the
incident). The comparison the tool prints is computed from those two real databases.
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
        "  auroraprod: { branch: main, protected: true, database: { rds_cluster: connect2-aurora } }\n"
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
        # An Aurora cluster in its own subnet group and cluster parameter group, with two
        # instances; a failover makes the second one, of another class, its writer.
        subnets = [sn["SubnetId"] for sn in ec2.describe_subnets()["Subnets"]][:2]
        rds.create_db_subnet_group(DBSubnetGroupName="connect2-aurora-db", DBSubnetGroupDescription="aurora",
                                   SubnetIds=subnets)
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="connect2-apg16",
                                              DBParameterGroupFamily="aurora-postgresql16", Description="aurora")
        rds.create_db_cluster(
            DBClusterIdentifier="connect2-aurora", Engine="aurora-postgresql", MasterUsername="app",
            MasterUserPassword="not-a-real-password-1", BackupRetentionPeriod=7, Port=cls.restored_server.port,
            VpcSecurityGroupIds=[cls.sg], DBSubnetGroupName="connect2-aurora-db",
            DBClusterParameterGroupName="connect2-apg16")
        for name, cls_ in (("connect2-aurora-a", "db.r6g.large"), ("connect2-aurora-b", "db.r6g.xlarge")):
            rds.create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier="connect2-aurora",
                                   Engine="aurora-postgresql", DBInstanceClass=cls_)
        rds.failover_db_cluster(DBClusterIdentifier="connect2-aurora", TargetDBInstanceIdentifier="connect2-aurora-b")
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

    def clusters(self):
        rds = self.sandbox.client("rds")
        return {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}

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
        r = self.pitr("--env", "prod", "--reason", "rows deleted by mistake", "--to-time", "1s ago", input="")
        self.assertExit(r, 3)
        self.assertIn("protected environment", r.stderr)
        self.assertEqual(set(self.instances()), set(before))
        r = self.pitr("--env", "prod", "--to-time", "1s ago", "--yes", "--no-wait", "--reason", "bad job")
        self.assertExit(r, 0)
        self.assertIn("restore started (--no-wait)", r.stdout)
        [entry] = self.journal()
        self.assertFalse(entry["details"]["followed"])
        self.assertEqual(len(self.instances()), len(before) + 1)


    def test_aurora_cluster_is_restored_into_a_new_cluster_with_an_instance(self):
        when = self.restore_time()
        when_text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        target = "connect2-aurora-pitr-" + when.strftime("%Y%m%d-%H%M")
        clusters_before, instances_before = self.clusters(), self.instances()
        r = self.pitr("--env", "aurora", "--to-time", when_text, "--reason", "rows deleted by a bad job")
        self.assertExit(r, 0)
        # One new cluster with the source's network and cluster parameter group ...
        clusters_after = self.clusters()
        self.assertEqual(set(clusters_after) - set(clusters_before), {target})
        restored = clusters_after[target]
        self.assertEqual(restored["Status"], "available")
        self.assertEqual(restored["DBSubnetGroup"], "connect2-aurora-db")
        self.assertEqual([g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]], [self.sg])
        self.assertEqual(restored["DBClusterParameterGroup"], "connect2-apg16")
        # ... and one new instance in it, of the source writer's class (not the first member's).
        instances_after = self.instances()
        self.assertEqual(set(instances_after) - set(instances_before), {target + "-1"})
        instance = instances_after[target + "-1"]
        self.assertEqual(instance["DBClusterIdentifier"], target)
        self.assertEqual(instance["DBInstanceClass"], "db.r6g.xlarge")
        self.assertEqual(instance["Engine"], "aurora-postgresql")
        self.assertEqual(instance["DBInstanceStatus"], "available")
        self.assertEqual([m["DBInstanceIdentifier"] for m in restored["DBClusterMembers"]], [target + "-1"])
        # The live cluster is untouched.
        self.assertEqual(clusters_after["connect2-aurora"]["DBClusterMembers"],
                         clusters_before["connect2-aurora"]["DBClusterMembers"])
        [entry] = self.journal()
        self.assertEqual(entry["layer"], "db-pitr")
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["from_ref"], "connect2-aurora")
        self.assertEqual(entry["to_ref"], f"{target} @ {when_text}")
        self.assertEqual(entry["details"]["kind"], "cluster")
        rds = self.sandbox.client("rds")
        for arn in (restored["DBClusterArn"], instance["DBInstanceArn"]):
            tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}
            self.assertEqual(tags["rollback:id"], entry["id"])
            self.assertEqual(tags["rollback:restore-time"], when_text)
        # Followed: the cluster to `available`, then its instance.
        for line in (f"cluster {target}: creating", f"cluster {target}: available", f"instance {target}-1: creating",
                     f"instance {target}-1: available"):
            self.assertIn(line, r.stdout)
            self.assertIn(line, entry["events"])
        self.assertLess(r.stdout.index(f"cluster {target}: available"), r.stdout.index(f"instance {target}-1: creating"))
        # Reported at the cluster's endpoint, compared from both real databases.
        self.assertIn(f"{target} is available at 127.0.0.1:{self.restored_server.port}", r.stdout)
        self.assertIn(f"127.0.0.1:{self.restored_server.port}/{self.dbname}", r.stdout)
        self.assertRegex(r.stdout, r"\n  settings +1 +2\n")
        self.assertIn("the tool does not switch over", r.stdout)
        self.assertIn("the live Aurora cluster connect2-aurora keeps receiving them", r.stdout)
        self.assertNoPassword(r.stdout, r.stderr)

        # The same minute again: the cluster exists, refused, nothing new.
        again = self.pitr("--env", "aurora", "--to-time", when_text)
        self.assertExit(again, 3)
        self.assertIn(f"Aurora cluster {target} already exists", again.stderr)
        self.assertEqual(set(self.clusters()), set(clusters_after))
        self.assertEqual(set(self.instances()), set(instances_after))

    def test_aurora_outside_the_window_dry_run_and_protected_change_nothing(self):
        clusters_before, instances_before = self.clusters(), self.instances()
        r = self.pitr("--env", "aurora", "--to-time", "2020-01-01T00:00:00Z")
        self.assertExit(r, 3)
        self.assertIn("outside the restorable window of Aurora cluster connect2-aurora", r.stderr)
        r = self.pitr("--env", "aurora", "--to-time", "1s ago", "--name", "Bad--Name")
        self.assertExit(r, 2)
        self.assertIn("not a valid cluster name", r.stderr)

        # Named: the other test may have restored this minute already.
        when_text = self.restore_time().strftime("%Y-%m-%dT%H:%M:%SZ")
        r = self.pitr("--env", "aurora", "--to-time", when_text, "--name", "connect2-aurora-dry", "--dry-run",
                      "--output", "json")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertTrue(result["dry_run"])
        self.assertEqual(result["kind"], "cluster")
        self.assertEqual(result["source"]["identifier"], "connect2-aurora")
        self.assertEqual(result["source"]["parameter_group"], "connect2-apg16")
        self.assertEqual(result["restore_time"], when_text)
        self.assertEqual(result["target"], "connect2-aurora-dry")
        r = self.pitr("--env", "aurora", "--to-time", when_text, "--name", "connect2-aurora-dry", "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("into a NEW cluster connect2-aurora-dry: subnet group connect2-aurora-db", r.stdout)
        self.assertIn("then its instance connect2-aurora-dry-1 ", r.stdout)
        self.assertIn("(db.r6g.xlarge, the writer's class)", r.stdout)
        self.assertIn("dry run: nothing was changed", r.stdout)

        r = self.pitr("--env", "auroraprod", "--to-time", "1s ago", "--name", "connect2-aurora-prod-check",
                      "--reason", "rows deleted by mistake", input="")
        self.assertExit(r, 3)
        self.assertIn("protected environment", r.stderr)

        self.assertEqual(set(self.clusters()), set(clusters_before))
        self.assertEqual(set(self.instances()), set(instances_before))
        self.assertEqual(self.journal(), [])

    def test_aurora_no_wait_starts_the_cluster_restore_and_prints_the_rest(self):
        clusters_before, instances_before = self.clusters(), self.instances()
        r = self.pitr("--env", "auroraprod", "--to-time", "1s ago", "--name", "connect2-aurora-nowait", "--yes",
                      "--no-wait", "--reason", "bad job")
        self.assertExit(r, 0)
        self.assertIn("aws rds wait db-cluster-available --db-cluster-identifier connect2-aurora-nowait", r.stdout)
        self.assertIn("aws rds create-db-instance --db-cluster-identifier connect2-aurora-nowait "
                      "--db-instance-identifier connect2-aurora-nowait-1 --engine aurora-postgresql "
                      "--db-instance-class db.r6g.xlarge", r.stdout)
        self.assertEqual(set(self.clusters()) - set(clusters_before), {"connect2-aurora-nowait"})
        self.assertEqual(set(self.instances()), set(instances_before))
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertFalse(entry["details"]["followed"])
        self.assertEqual(entry["details"]["restored"]["identifier"], "connect2-aurora-nowait")


if __name__ == "__main__":
    unittest.main()
