"""Conformance tier: the real binary reads every Terraform state in the shared fixtures
($ROLLBACK_SHARED_DIR/fixtures/terraform/tfstate, Terraform's own test states) through the
sandbox's S3 and reports the serial, lineage and resource addresses Terraform would. Skipped,
with the reason, when the shared fixtures are absent (a clone of the project alone)."""

import json
import os
import unittest

from harness import SHARED_DIR, RollbackTestCase, Sandbox

TFSTATE = os.path.join(SHARED_DIR, "fixtures", "terraform", "tfstate")


def addresses(doc):
    """Instance addresses as Terraform writes them, computed here from the file."""
    out = []
    for r in doc.get("resources", []):
        base = ("data." if r.get("mode") == "data" else "") + f"{r['type']}.{r['name']}"
        if r.get("module"):
            base = f"{r['module']}.{base}"
        for i in r.get("instances", []):
            key = i.get("index_key")
            if key is None:
                out.append(base)
            elif isinstance(key, int):
                out.append(f"{base}[{key}]")
            else:
                out.append(f'{base}["{key}"]')
    return out


@unittest.skipUnless(os.path.isdir(TFSTATE), f"conformance fixtures not found at {TFSTATE} "
                                             "(set ROLLBACK_SHARED_DIR to the folder holding fixtures/)")
class SharedStatesTest(RollbackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox()
        cls.s3 = cls.sandbox.client("s3")

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()

    def test_every_shared_state_is_read_like_terraform(self):
        names = sorted(n for n in os.listdir(TFSTATE) if n.endswith(".tfstate"))
        self.assertTrue(names)
        for name in names:
            with self.subTest(state=name):
                key = f"conformance/{name}"
                self.write_config(f"""app: connect2-api
region: us-east-1
environments:
  dev: {{ branch: development, terraform: {{ state: {{ key: {key} }} }} }}
""")
                with open(os.path.join(TFSTATE, name), "rb") as f:
                    body = f.read()
                doc = json.loads(body)
                vid = self.s3.put_object(Bucket="connect2-api-terraform-state-dev", Key=key, Body=body)["VersionId"]
                r = self.rollback("state", "show", "--env", "dev", "--version-id", vid, "--output", "json",
                                  sandbox=self.sandbox)
                self.assertExit(r, 0)
                shown = json.loads(r.stdout)
                self.assertEqual(shown["serial"], doc["serial"])
                self.assertEqual(shown["lineage"], doc["lineage"])
                self.assertEqual(sorted(shown["resources"]), sorted(addresses(doc)))


if __name__ == "__main__":
    unittest.main()
