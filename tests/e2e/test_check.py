"""rollback check: the readiness check, against the sandbox (ECS, STS, S3, DynamoDB), a real
PostgreSQL with real Alembic migrations, and the journal of real rollbacks."""

import json
import os
import time
import unittest

import test_db
from harness import EcsSandboxTestCase, wait_for

BUCKET = "connect2-api-terraform-state-prod"
KEY = "api/terraform.tfstate"
TABLE = "terraform-locks-prod"
SANDBOX_ACCOUNT = "123456789012"  # moto's account


class EcsCheckTest(EcsSandboxTestCase):
    task_start_delay = 0.3

    def setUp(self):
        super().setUp()
        self.configure()
        s3 = self.sandbox.client("s3")
        for body in (b'{"version": 4, "serial": 1}', b'{"version": 4, "serial": 2}'):
            s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
        ddb = self.sandbox.client("dynamodb")
        ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")

    def configure(self, account=SANDBOX_ACCOUNT, bucket=BUCKET, alarms=None):
        health = f"{self.sandbox.url}/_sandbox/health/connect2-api-cluster-prod/connect2-api-service-prod"
        alarm_list = f", alarms: {json.dumps(alarms)}" if alarms else ""
        self.write_config(f"""app: connect2-api
region: us-east-1
environments:
  prod:
    branch: main
    protected: true
    health_url: "{health}"
    account_id: "{account}"
    verify: {{ bake: 1s{alarm_list} }}
    terraform:
      state: {{ bucket: {bucket}, key: {KEY}, dynamodb_table: {TABLE} }}
""")

    def check(self, *extra):
        skip = () if "--skip" in extra else ("--skip", "db")
        r = self.rollback("check", "--env", "prod", *skip, "--output", "json", *extra, sandbox=self.sandbox)
        out = json.loads(r.stdout)
        return r, out, {c["check"]: c for c in out["checks"]}

    def test_ready_environment_passes_every_check_and_changes_nothing(self):
        # The seeded prod runs the bad build (:6 answers 500): a deploy of :4 makes it healthy.
        self.ecs.update_service(cluster="connect2-api-cluster-prod", service="connect2-api-service-prod",
                                taskDefinition="connect2-api-prod:4")
        wait_for(lambda: len(self.service()["deployments"]) == 1 and
                 self.service()["deployments"][0]["taskDefinition"].endswith(":4"), message="deploy of :4")
        updates = len(self.sandbox.control("calls?operation=UpdateService")["calls"])
        r, out, checks = self.check()
        self.assertExit(r, 0)
        self.assertTrue(out["ready"])
        for name in ("credentials", "account", "lock", "ecs service", "emergency rollback", "health url",
                     "state bucket", "state versions", "terraform lock"):
            self.assertEqual(checks[name]["result"], "ok", checks[name])
        # The target named is the one `rollback ecs` itself would choose.
        import re
        target = re.search(r"would go to (connect2-api-prod:\d+)", checks["emergency rollback"]["detail"]).group(1)
        dry = self.rollback("ecs", "--env", "prod", "--dry-run", sandbox=self.sandbox)
        self.assertExit(dry, 0)
        self.assertRegex(dry.stdout, r"(?m)^\s+to\s+" + re.escape(target) + r"\b")
        self.assertEqual(checks["database"]["result"], "skipped")
        # Read-only: no journal entry, no lock taken, ECS untouched.
        self.assertEqual(self.journal(), [])
        self.assertEqual(len(self.sandbox.control("calls?operation=UpdateService")["calls"]), updates)
        self.assertFalse(os.path.exists(os.path.join(self.state, "rollback", "locks", "connect2-api-prod.lock")))

    def test_inactive_last_known_good_revision_fails(self):
        self.assertExit(self.rollback("ecs", "--env", "prod", "--yes", "--reason", "bad deploy", sandbox=self.sandbox), 0)
        # A new deploy of :6 after the rollback; :4 is now the last known good.
        self.ecs.update_service(cluster="connect2-api-cluster-prod", service="connect2-api-service-prod",
                                taskDefinition="connect2-api-prod:6")
        wait_for(lambda: len(self.service()["deployments"]) == 1 and
                 self.service()["deployments"][0]["taskDefinition"].endswith(":6"), message="deploy of :6")
        r, out, checks = self.check("--skip", "db,health")  # :6 answers 500, as it should
        self.assertExit(r, 0)
        self.assertEqual(checks["last known good"]["result"], "ok")
        self.assertIn("connect2-api-prod:4", checks["last known good"]["detail"])

        self.ecs.deregister_task_definition(taskDefinition="connect2-api-prod:4")
        r, out, checks = self.check("--skip", "db,health")
        self.assertExit(r, 1)
        self.assertFalse(out["ready"])
        self.assertEqual(out["error"]["code"], "failed")
        self.assertEqual(checks["last known good"]["result"], "fail")
        self.assertIn("connect2-api-prod:4", checks["last known good"]["detail"])
        self.assertIn("INACTIVE", checks["last known good"]["detail"])

    def test_credentials_of_another_account_fail(self):
        self.configure(account="111111111111")
        r, out, checks = self.check("--skip", "db,health")
        self.assertExit(r, 1)
        self.assertEqual(checks["account"]["result"], "fail")
        self.assertIn("111111111111", checks["account"]["detail"])
        self.assertIn(SANDBOX_ACCOUNT, checks["account"]["detail"])
        # The text output names it too.
        r = self.rollback("check", "--env", "prod", "--skip", "db,health", sandbox=self.sandbox)
        self.assertExit(r, 1)
        self.assertRegex(r.stdout, r"account\s+FAIL")
        self.assertIn("not ready for a rollback: account failed", r.stderr)

    def test_held_terraform_lock_and_unversioned_bucket_fail(self):
        info = json.dumps({"ID": "3b0c9a1e-lock", "Who": "ci@runner", "Operation": "OperationTypeApply"})
        self.sandbox.client("dynamodb").put_item(TableName=TABLE, Item={"LockID": {"S": f"{BUCKET}/{KEY}"},
                                                                        "Info": {"S": info}})
        r, out, checks = self.check("--skip", "db,health")
        self.assertExit(r, 1)
        self.assertEqual(checks["terraform lock"]["result"], "fail")
        self.assertIn("ci@runner", checks["terraform lock"]["detail"])
        self.assertIn("force-unlock", checks["terraform lock"]["fix"])

        s3 = self.sandbox.client("s3")
        s3.create_bucket(Bucket="plain-state-bucket")
        s3.put_object(Bucket="plain-state-bucket", Key=KEY, Body=b"{}")
        self.configure(bucket="plain-state-bucket")
        r, out, checks = self.check("--skip", "db,health")
        self.assertExit(r, 1)
        self.assertEqual(checks["state bucket"]["result"], "fail")
        self.assertIn("not enabled", checks["state bucket"]["detail"])
        self.assertIn("put-bucket-versioning", checks["state bucket"]["fix"])

    def test_verification_alarms_must_exist_and_not_be_in_alarm(self):
        cw = self.sandbox.client("cloudwatch")
        cw.put_metric_alarm(AlarmName="connect2-prod-5xx", MetricName="HTTPCode_Target_5XX_Count",
                            Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
                            Threshold=10, ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName="connect2-prod-5xx", StateValue="OK", StateReason="quiet")
        r, out, checks = self.check("--skip", "db")
        self.assertEqual(checks["alarms"]["result"], "warn")  # none configured
        self.assertIn("no verify.alarms", checks["alarms"]["detail"])

        self.configure(alarms=["connect2-prod-5xx", "connect2-prod-latency"])
        r, out, checks = self.check("--skip", "db,ecs")
        self.assertExit(r, 1)
        self.assertEqual(checks["alarms"]["result"], "fail")
        self.assertIn("no alarm connect2-prod-latency", checks["alarms"]["detail"])
        self.assertNotIn("connect2-prod-5xx", checks["alarms"]["detail"])

        self.configure(alarms=["connect2-prod-5xx"])
        r, out, checks = self.check("--skip", "db,ecs")
        self.assertEqual(checks["alarms"]["result"], "ok", checks["alarms"])
        cw.set_alarm_state(AlarmName="connect2-prod-5xx", StateValue="ALARM", StateReason="5xx above 10")
        r, out, checks = self.check("--skip", "db,ecs")
        self.assertExit(r, 1)
        self.assertEqual(checks["alarms"]["result"], "fail")
        self.assertIn("in ALARM now: connect2-prod-5xx (5xx above 10)", checks["alarms"]["detail"])
        r, out, checks = self.check("--skip", "db,health")
        self.assertEqual(checks["alarms"]["result"], "skipped")

    def test_unknown_group_is_a_usage_error(self):
        r = self.rollback("check", "--env", "prod", "--skip", "dbs", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn("--skip dbs", r.stderr)


def setUpModule():
    test_db.setUpModule()


def tearDownModule():
    test_db.tearDownModule()


@unittest.skipUnless(test_db.have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class DbCheckTest(test_db.DbTestCase):
    def setUp(self):
        super().setUp()
        self.dbname = f"check_{self._testMethodName[5:40]}".lower()
        test_db.SERVER.create_database(self.dbname)
        self.url = test_db.SERVER.url(self.dbname)

    def check(self):
        env = self.env(DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        r = self.rollback("check", "--env", "dev", "--skip", "aws,lock,ecs,health,state", "--output", "json", env=env)
        return r, {c["check"]: c for c in json.loads(r.stdout)["checks"]}

    def test_irreversible_head_fails_and_a_reversible_one_passes(self):
        self.alembic("upgrade", test_db.IRREVERSIBLE)
        r, checks = self.check()
        self.assertExit(r, 1)
        self.assertEqual(checks["downgrade path"]["result"], "fail")
        self.assertIn("irreversible", checks["downgrade path"]["detail"])
        self.assertIn(test_db.IRREVERSIBLE, checks["downgrade path"]["detail"])
        self.assertNoPassword(r.stdout, r.stderr)

        self.alembic("upgrade", "heads")
        r, checks = self.check()
        self.assertExit(r, 0)
        self.assertEqual(checks["database"]["result"], "ok")
        self.assertIn(test_db.HEAD, checks["database"]["detail"])
        self.assertEqual(checks["downgrade path"]["result"], "ok")
        self.assertNoPassword(r.stdout, r.stderr)


if __name__ == "__main__":
    unittest.main()
