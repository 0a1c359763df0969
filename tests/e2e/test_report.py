"""rollback report: the incident report of real rollbacks against the sandbox, from the journal."""

import os
import stat
import unittest
import xml.etree.ElementTree as ET

from harness import EcsSandboxTestCase, plant

URL_TOKEN = "PLANTEDreportURLtoken0123456789"
plant(URL_TOKEN)


class ReportTest(EcsSandboxTestCase):
    task_start_delay = 0.3

    def setUp(self):
        super().setUp()
        health = (f"{self.sandbox.url}/_sandbox/health/connect2-api-cluster-prod/connect2-api-service-prod"
                  f"?token={URL_TOKEN}")
        self.write_config(f"""app: connect2-api
region: us-east-1
environments:
  dev:  {{ branch: development }}
  prod: {{ branch: main, protected: true, health_url: "{health}", verify: {{ bake: 1s }} }}
""")

    def ecs_rollback(self, env, *extra):
        r = self.rollback("ecs", "--env", env, "--yes", *extra, sandbox=self.sandbox)
        self.assertExit(r, 0)
        return self.journal()[0]

    def read(self, name):
        with open(os.path.join(self.work, name)) as f:
            return f.read()

    def test_protected_rollback_writes_its_report_and_others_do_not(self):
        r = self.rollback("ecs", "--env", "prod", "--yes", "--reason", "bad deploy", sandbox=self.sandbox)
        self.assertExit(r, 0)
        prod = self.journal()[0]
        path = os.path.join(self.state, "rollback", "reports", prod["id"] + ".md")
        self.assertIn(f"incident report: {path}", r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            md = f.read()
        self.assertIn("| Environment | prod (protected) |", md)
        self.assertIn("bad deploy", md)
        self.assertTrue(os.path.exists(path[:-3] + ".svg"))
        self.assertNoSecrets(md, also=(URL_TOKEN,))  # and every file of the state folder

        dev = self.ecs_rollback("dev")
        self.assertFalse(os.path.exists(os.path.join(self.state, "rollback", "reports", dev["id"] + ".md")))

    def test_report_of_a_real_rollback_has_every_event_and_no_secret(self):
        entry = self.ecs_rollback("prod", "--reason", "500s | <b>after</b> deploy")
        r = self.rollback("report", entry["id"], sandbox=self.sandbox)
        self.assertExit(r, 0)
        md_name, svg_name = f"rollback-report-{entry['id']}.md", f"rollback-report-{entry['id']}.svg"
        self.assertIn(md_name, r.stdout)
        for name in (md_name, svg_name):
            mode = stat.S_IMODE(os.stat(os.path.join(self.work, name)).st_mode)
            self.assertEqual(mode, 0o600, name)
        md = self.read(md_name)
        svg = self.read(svg_name)
        # Every journaled event is a row of the timeline (the report leaves none out below 120).
        self.assertLess(len(entry["events"]), 120)
        timeline = md.split("## Timeline", 1)[1].split("## Steps", 1)[0]
        rows = [l for l in timeline.splitlines() if l.startswith("| ") and f"`{entry['id']}`" in l]
        self.assertEqual(len(rows), len(entry["events"]) + 2, timeline)  # + started, + outcome
        self.assertIn("UpdateService sent", timeline)
        self.assertIn("| Environment | prod (protected) |", md)
        self.assertIn("Schedule a post-mortem", md)
        self.assertIn("500s \\| &lt;b&gt;after&lt;/b&gt; deploy", md)
        self.assertRegex(md, r"\| Time to recover \| \d+(\.\d)?s ")
        # The follow-up names the commit the bad image was built from, never a placeholder.
        self.assertRegex(md, r'`rollback app --env prod --commit [0-9a-f]{7,40} --reason "…"`')
        # The picture is well-formed SVG with one bar for the rollback.
        root = ET.fromstring(svg)
        self.assertTrue(root.tag.endswith("svg"))
        bars = [e for e in root.iter() if e.tag.endswith("rect") and e.get("fill") == "#2e7d32"]
        self.assertEqual(len(bars), 1)
        self.assertIn(f"]({svg_name})", md)
        # The health URL's token was in the events; it is masked in both files.
        self.assertIn("health check", md)
        self.assertNoSecrets(md, svg, r.stdout, r.stderr, also=(URL_TOKEN,))

    def test_environment_window_covers_every_rollback_in_order(self):
        first = self.ecs_rollback("prod", "--reason", "first try")
        second = self.ecs_rollback("prod", "--to-revision", "3", "--reason", "second try")
        self.ecs_rollback("dev")  # another environment: not in the prod report
        r = self.rollback("report", "--env", "prod", "--since", "1h", "--out", "incident.md", "--output", "json",
                          sandbox=self.sandbox)
        self.assertExit(r, 0)
        import json
        out = json.loads(r.stdout)
        self.assertEqual(out["rollbacks"], [first["id"], second["id"]])
        self.assertTrue(out["recovered"])
        self.assertIsInstance(out["time_to_recover_seconds"], int)
        md = self.read("incident.md")
        self.assertLess(md.index("first try"), md.index("second try"))
        self.assertNotIn("in dev", md)
        self.assertTrue(os.path.exists(os.path.join(self.work, "incident.svg")))

    def test_bad_requests_write_nothing(self):
        entry = self.ecs_rollback("dev")
        before = set(os.listdir(self.work))
        cases = [
            (["report"], "give either a rollback id or --env"),
            (["report", "20000101-000000-dead"], "no rollback 20000101-000000-dead"),
            (["report", "--env", "prod", "--since", "1h"], "no rollback of prod"),
            (["report", "--env", "../etc"], "environment"),
            (["report", entry["id"], "--out", "report.txt"], "does not end in .md"),
            (["report", entry["id"], "--since", "2h"], "--since goes with --env"),
        ]
        for args, message in cases:
            r = self.rollback(*args, sandbox=self.sandbox)
            self.assertExit(r, 2)
            self.assertIn(message, r.stderr)
            self.assertEqual(set(os.listdir(self.work)), before, args)
        # --dry-run says what it would write and writes nothing.
        r = self.rollback("report", entry["id"], "--dry-run", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("nothing written", r.stdout)
        self.assertEqual(set(os.listdir(self.work)), before)
        # An existing report is not replaced without --force.
        self.assertExit(self.rollback("report", entry["id"], "--out", "x.md", sandbox=self.sandbox), 0)
        with open(os.path.join(self.work, "x.md"), "w") as f:
            f.write("kept")
        r = self.rollback("report", entry["id"], "--out", "x.md", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn("already exists", r.stderr)
        self.assertEqual(self.read("x.md"), "kept")
        self.assertExit(self.rollback("report", entry["id"], "--out", "x.md", "--force", sandbox=self.sandbox), 0)
        self.assertIn("# Incident report", self.read("x.md"))


if __name__ == "__main__":
    unittest.main()
