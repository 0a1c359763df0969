"""rollback diagnose against the sandbox: ECS (crashing tasks), S3 (state changes), ACM and
Route 53 (a certificate waiting for its DNS validation record), EC2 security groups against
ElastiCache and RDS (a broken Redis / database ingress rule), and Secrets Manager (a secret of
the task definition deleted, scheduled for deletion or changed; never its value)."""

import json
import time
import unittest

from harness import EcsSandboxTestCase, plant, wait_for

PROD = ("connect2-api-cluster-prod", "connect2-api-service-prod")


class DiagnoseTest(EcsSandboxTestCase):
    task_start_delay = 0.3

    def diagnose(self):
        r = self.rollback("diagnose", "--env", "prod", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        return json.loads(r.stdout)["findings"]

    def test_pending_certificate_is_found_and_its_missing_record_named(self):
        acm = self.sandbox.client("acm")
        arn = acm.request_certificate(DomainName="api.connect2.example.com", ValidationMethod="DNS")["CertificateArn"]
        record = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"][0]["ResourceRecord"]
        r53 = self.sandbox.client("route53")
        zone = r53.create_hosted_zone(Name="connect2.example.com", CallerReference="e2e")["HostedZone"]["Id"]

        certs = [f for f in self.diagnose() if arn in f["what"]]
        self.assertEqual(len(certs), 1, certs)
        self.assertEqual(certs[0]["level"], "critical")
        self.assertEqual(certs[0]["scenario"], "Scenario 5: SSL Certificate Issues")
        self.assertIn("validation record is missing", certs[0]["what"])
        self.assertIn(record["Name"], certs[0]["what"])
        self.assertIn(zone, certs[0]["fix"])

        # Once the record is in the zone, the finding says to wait, not to add it.
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": record["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["Value"]}]}}]})
        certs = [f for f in self.diagnose() if arn in f["what"]]
        self.assertEqual(certs[0]["level"], "medium")
        self.assertIn("30 minutes", certs[0]["fix"])

    def test_crashing_tasks_unhealthy_api_and_state_changes_are_ranked(self):
        health = f"{self.sandbox.url}/_sandbox/health/{PROD[0]}/{PROD[1]}"
        self.write_config(f"""app: connect2-api
region: us-east-1
environments:
  prod: {{ branch: main, protected: true, health_url: "{health}" }}
""")
        # The breaker's rollback is off there, so the failing deployment stays the current one (a
        # rollback deployment created later would be newer than the state change below).
        self.deploy_crashing_revision(failed_tasks=2)
        # An infrastructure change after that deployment started (S3 times have whole seconds).
        time.sleep(1.1)
        self.sandbox.client("s3").put_object(Bucket="connect2-api-terraform-state-prod", Key="api/terraform.tfstate",
                                             Body=b'{"version": 4, "serial": 9}')
        findings = self.diagnose()
        crash = [f for f in findings if "exits on start" in f["what"]]
        self.assertEqual(len(crash), 1, findings)  # many crashed tasks, one finding
        self.assertRegex(crash[0]["what"], r"^\d+ tasks? of connect2-api-prod:\d+ stopped: EssentialContainerExited")
        self.assertEqual(crash[0]["scenario"], "Scenario 1: Bad Code Deploy")
        self.assertIn("rollback ecs --env prod", crash[0]["fix"])
        infra = [f for f in findings if f["scenario"] == "Scenario 2: Infrastructure Change Broke API"]
        self.assertEqual(len(infra), 1, findings)
        self.assertIn("1 new state version", infra[0]["what"])
        self.assertIn("rollback state list --env prod", infra[0]["fix"])
        levels = [f["level"] for f in findings]
        order = {"critical": 0, "high": 1, "medium": 2, "info": 3}
        self.assertEqual(levels, sorted(levels, key=order.get))
        # Read-only: no journal entry.
        self.assertEqual(self.journal(), [])


class DiagnoseNetworkTest(EcsSandboxTestCase):
    """Redis and the database against the tasks' security groups (runbook scenarios 4 and 2), and
    the secrets the task definition fetches (scenario 4)."""

    task_start_delay = 0.3

    def diagnose(self):
        r = self.rollback("diagnose", "--env", "prod", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)  # findings are diagnose's result, not a failure
        return json.loads(r.stdout)["findings"]

    def use_task_security_group(self, group_id):
        """prod's service runs its tasks in `group_id` (awsvpc), in the subnets it has."""
        awsvpc = self.service()["networkConfiguration"]["awsvpcConfiguration"]
        self.ecs.update_service(cluster=PROD[0], service=PROD[1], networkConfiguration={
            "awsvpcConfiguration": {"subnets": awsvpc["subnets"], "securityGroups": [group_id]}})
        self.assertEqual(self.service()["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"], [group_id])

    def test_a_broken_redis_or_database_security_group_rule_is_found(self):
        ec2 = self.sandbox.client("ec2")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        tasks = ec2.create_security_group(GroupName="connect2-api-tasks", Description="tasks", VpcId=vpc)["GroupId"]
        redis = ec2.create_security_group(GroupName="connect2-redis", Description="redis", VpcId=vpc)["GroupId"]
        db = ec2.create_security_group(GroupName="connect2-db", Description="db", VpcId=vpc)["GroupId"]
        redis_rule = [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": tasks}]}]
        db_rule = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": tasks}]}]
        ec2.authorize_security_group_ingress(GroupId=redis, IpPermissions=redis_rule)
        ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=db_rule)
        self.sandbox.client("elasticache").create_cache_cluster(
            CacheClusterId="connect2-redis-prod", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1,
            SecurityGroupIds=[redis], Port=6379)
        self.sandbox.client("rds").create_db_instance(
            DBInstanceIdentifier="connect2-prod", Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="app",
            MasterUserPassword="not-a-real-password", AllocatedStorage=20, VpcSecurityGroupIds=[db])
        self.use_task_security_group(tasks)
        self.write_config("""app: connect2-api
region: us-east-1
environments:
  prod:
    branch: main
    protected: true
    redis: { cache_cluster: connect2-redis-prod }
    database: { rds_instance: connect2-prod }
""")

        def network(findings):
            return [f for f in findings if "security group" in f["what"] or "cannot reach" in f["what"]
                    or "could not check" in f["what"]]

        # Both rules in place: nothing to say about the network.
        self.assertEqual(network(self.diagnose()), [])

        # The Redis rule goes (a broken infrastructure change): diagnose names it.
        ec2.revoke_security_group_ingress(GroupId=redis, IpPermissions=redis_rule)
        found = network(self.diagnose())
        self.assertEqual(len(found), 1, found)
        f = found[0]
        self.assertEqual(f["level"], "critical")
        self.assertEqual(f["scenario"], "Scenario 4: Redis Configuration Issues")
        self.assertIn(f"the tasks cannot reach Redis: no ingress rule on {redis} allows port 6379 from {tasks}", f["what"])
        self.assertIn("connect2-redis-prod", f["what"])
        self.assertIn(f"aws ec2 authorize-security-group-ingress --group-id {redis} --protocol tcp --port 6379 "
                      f"--source-group {tasks}", f["fix"])
        self.assertIn("rollback ecs --env prod --restart", f["fix"])

        # The text output says the same, first (critical findings rank first).
        r = self.rollback("diagnose", "--env", "prod", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertRegex(r.stdout, r"\n 1\. \[critical\] the tasks cannot reach Redis")

        # The rule back, for the wrong port on the database's group: the database is named.
        ec2.authorize_security_group_ingress(GroupId=redis, IpPermissions=redis_rule)
        ec2.revoke_security_group_ingress(GroupId=db, IpPermissions=db_rule)
        ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[dict(db_rule[0], FromPort=3306, ToPort=3306)])
        found = network(self.diagnose())
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0]["scenario"], "Scenario 2: Infrastructure Change Broke API")
        self.assertIn(f"the tasks cannot reach the database: no ingress rule on {db} allows port 5432 from {tasks}",
                      found[0]["what"])
        self.assertIn("RDS instance connect2-prod", found[0]["what"])

        # A configured cache and database that do not exist (removed by an infrastructure change).
        self.write_config("""app: connect2-api
region: us-east-1
environments:
  prod:
    branch: main
    redis: { cache_cluster: connect2-redis-gone }
    database: { rds_instance: connect2-gone }
""")
        gone = [f for f in self.diagnose() if "does not exist" in f["what"]]
        self.assertEqual([(f["level"], f["scenario"]) for f in gone],
                         [("critical", "Scenario 4: Redis Configuration Issues"),
                          ("critical", "Scenario 2: Infrastructure Change Broke API")], gone)
        self.assertIn("Redis cache cluster connect2-redis-gone does not exist", gone[0]["what"])
        self.assertIn("RDS instance connect2-gone does not exist", gone[1]["what"])
        self.assertIn("rollback infra --env prod --pr N", gone[1]["fix"])

    def test_a_replication_group_is_judged_by_its_members_groups_and_cidrs_by_the_tasks_ips(self):
        ec2 = self.sandbox.client("ec2")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        tasks = ec2.create_security_group(GroupName="connect2-api-tasks", Description="tasks", VpcId=vpc)["GroupId"]
        redis = ec2.create_security_group(GroupName="connect2-redis", Description="redis", VpcId=vpc)["GroupId"]
        cache = self.sandbox.client("elasticache")
        cache.create_replication_group(ReplicationGroupId="connect2-rg-prod", ReplicationGroupDescription="prod",
                                       Engine="redis", CacheNodeType="cache.t3.micro", NumCacheClusters=1,
                                       SecurityGroupIds=[redis])
        member = cache.describe_replication_groups(ReplicationGroupId="connect2-rg-prod")["ReplicationGroups"][0][
            "MemberClusters"][0]
        # moto does not make the members cache clusters: the test does, as ElastiCache has them.
        cache.create_cache_cluster(CacheClusterId=member, ReplicationGroupId="connect2-rg-prod", Engine="redis",
                                   CacheNodeType="cache.t3.micro", NumCacheNodes=1, SecurityGroupIds=[redis])
        self.use_task_security_group(tasks)
        # The tasks' private IPs (10.0.x.y in the sandbox) are known once they run.
        wait_for(lambda: self.ecs.list_tasks(cluster=PROD[0], serviceName=PROD[1])["taskArns"], message="running tasks")
        self.write_config("""app: connect2-api
region: us-east-1
environments:
  prod: { branch: main, redis: { replication_group: connect2-rg-prod } }
""")

        def reach(findings):
            return [f for f in findings if "cannot reach" in f["what"] or "could not check" in f["what"]]

        found = reach(self.diagnose())
        self.assertEqual(len(found), 1, found)
        self.assertIn(f"no ingress rule on {redis} allows port 6379 from {tasks}", found[0]["what"])
        self.assertIn("Redis replication group connect2-rg-prod at master.connect2-rg-prod.", found[0]["what"])

        # A CIDR that does not hold the tasks' addresses lets nothing of theirs in; one that does, does.
        ec2.authorize_security_group_ingress(GroupId=redis, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "IpRanges": [{"CidrIp": "192.168.0.0/16"}]}])
        self.assertEqual(len(reach(self.diagnose())), 1)
        ec2.authorize_security_group_ingress(GroupId=redis, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
        self.assertEqual(reach(self.diagnose()), [])

    def test_secrets_of_the_task_definition_deleted_or_changed_and_never_their_value(self):
        sm = self.sandbox.client("secretsmanager")
        values = {name: f"PLANTEDsecretVALUE-{name}-7f3a9c1e5b" for name in ("redis", "db", "token")}
        plant(*values.values())
        arns = {name: sm.create_secret(Name=f"prod/connect2-{name}", SecretString=value)["ARN"]
                for name, value in values.items()}
        td = self.ecs.describe_task_definition(taskDefinition="connect2-api-prod:4")["taskDefinition"]
        container = dict(td["containerDefinitions"][0])
        container["secrets"] = [{"name": "REDIS_PASSWORD", "valueFrom": arns["redis"] + ":password::"},
                                {"name": "DATABASE_URL", "valueFrom": arns["db"]},
                                {"name": "API_TOKEN", "valueFrom": arns["token"]}]
        revision = self.ecs.register_task_definition(
            family=td["family"], containerDefinitions=[container], requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc", cpu="256", memory="512",
            executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole")["taskDefinition"]["revision"]
        # Secrets Manager's dates have whole seconds: the deployment starts in a later second.
        time.sleep(1.1)
        self.ecs.update_service(cluster=PROD[0], service=PROD[1], taskDefinition=f"connect2-api-prod:{revision}")
        wait_for(lambda: self.service()["deployments"][0]["taskDefinition"].endswith(f":{revision}"),
                 message="the deployment of the revision with secrets")

        def secrets(findings):
            return [f for f in findings if "secret" in f["what"]]

        self.assertEqual(secrets(self.diagnose()), [])

        # Redis's secret deleted for good, the database's scheduled for deletion, the token
        # rotated after the deployment started.
        time.sleep(1.1)
        sm.delete_secret(SecretId=arns["redis"], ForceDeleteWithoutRecovery=True)
        sm.delete_secret(SecretId=arns["db"], RecoveryWindowInDays=7)
        sm.put_secret_value(SecretId=arns["token"], SecretString=values["token"] + "-rotated")
        r = self.rollback("diagnose", "--env", "prod", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        found = secrets(json.loads(r.stdout)["findings"])
        by_secret = {name: [f for f in found if f"prod/connect2-{name}" in f["what"]] for name in values}
        self.assertEqual(len(found), 3, found)
        redis = by_secret["redis"][0]
        self.assertEqual(redis["level"], "critical")
        self.assertEqual(redis["scenario"], "Scenario 4: Redis Configuration Issues")
        self.assertIn("does not exist", redis["what"])
        self.assertIn("container connect2-api", redis["what"])
        self.assertNotIn(":password::", redis["what"])  # the secret's ARN, not the JSON key
        db = by_secret["db"][0]
        self.assertEqual(db["level"], "critical")
        self.assertIn("scheduled for deletion", db["what"])
        self.assertIn(f"aws secretsmanager restore-secret --secret-id {arns['db']}", db["fix"])
        token = by_secret["token"][0]
        self.assertEqual(token["level"], "high")
        self.assertIn("after the current deployment started", token["what"])
        self.assertIn("rollback ecs --env prod --restart", token["fix"])

        # Never a value: not in the text or JSON output, not in the state folder; and no
        # GetSecretValue was ever sent.
        text = self.rollback("diagnose", "--env", "prod", sandbox=self.sandbox)
        self.assertExit(text, 0)
        self.assertIn("scheduled for deletion", text.stdout)
        self.assertNoSecrets(r.stdout, r.stderr, text.stdout, text.stderr,
                             also=(*values.values(), values["token"] + "-rotated"))
        calls = self.sandbox.control("calls")["counts"]
        self.assertGreaterEqual(calls.get("DescribeSecret", 0), 3)
        self.assertEqual(calls.get("GetSecretValue", 0), 0)

        # A revision that fetches secrets without an execution role cannot start its tasks.
        bare = self.ecs.register_task_definition(
            family=td["family"], containerDefinitions=[container], requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc", cpu="256", memory="512")["taskDefinition"]["revision"]
        self.ecs.update_service(cluster=PROD[0], service=PROD[1], taskDefinition=f"connect2-api-prod:{bare}")
        wait_for(lambda: self.service()["deployments"][0]["taskDefinition"].endswith(f":{bare}"),
                 message="the deployment of the revision without an execution role")
        role = [f for f in self.diagnose() if "executionRoleArn" in f["what"]]
        self.assertEqual(len(role), 1, role)
        self.assertEqual(role[0]["level"], "critical")
        self.assertIn(f"task definition connect2-api-prod:{bare} fetches secrets (container connect2-api)", role[0]["what"])


if __name__ == "__main__":
    unittest.main()
