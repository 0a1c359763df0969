"""rollback diagnose against the sandbox: ECS (crashing tasks), S3 (state changes), ACM and
Route 53 (a certificate waiting for its DNS validation record)."""

import json
import time
import unittest

from harness import EcsSandboxTestCase

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


if __name__ == "__main__":
    unittest.main()
