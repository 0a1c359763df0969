"""render.py: a part run replaces its own figures and keeps the others, each row naming its run."""

import json
import os
import tempfile
import unittest

import render

DOC = """# Reliability

<!-- reliability-figures:begin -->
Measured 2026-11-01 by `scripts/reliability.sh` (the `medium` size).

| figure | what | result |
|---|---|---|
| R1 | faults (exit 0: 29) | **29 of 30** |
| R2.ecs | kills of ecs | **10 of 10** |
| R2.app | kills of app | **10 of 10** |
| R7 | hostile inputs | **93 of 93** |
<!-- reliability-figures:end -->

after
"""
README = """<!-- reliability-figures:begin -->
| figure | what | result |
|---|---|---|
| R1 | faults | **29 of 30** |
| R2.ecs | kills of ecs | **10 of 10** |
| R2.app | kills of app | **10 of 10** |
| R7 | hostile inputs | **93 of 93** |
<!-- reliability-figures:end -->
"""


class RenderTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        self.doc, self.readme, self.results = (os.path.join(d, n) for n in ("R.md", "README.md", "res"))
        os.mkdir(self.results)
        for path, text in ((self.doc, DOC), (self.readme, README)):
            with open(path, "w") as f:
                f.write(text)
        with open(os.path.join(self.results, "run.json"), "w") as f:
            json.dump({"size": "full", "figures": [
                {"key": "R1", "title": "faults", "passed": 99, "total": 100, "notes": {"exit 0": 99}},
                {"key": "R2.ecs", "title": "kills of ecs", "passed": 50, "total": 50, "notes": {}}]}, f)

    def tearDown(self):
        self.dir.cleanup()

    def rows(self, path):
        with open(path) as f:
            return [line for line in f.read().splitlines() if line.startswith("| R")]

    def test_a_part_run_replaces_its_figures_and_keeps_the_others_with_their_run(self):
        render.main(self.results, self.doc, self.readme)
        today = render.time.strftime("%Y-%m-%d", render.time.gmtime())
        self.assertEqual(self.rows(self.doc), [
            f"| R1 | faults (exit 0: 99) | **99 of 100** | full, {today} |",
            f"| R2.ecs | kills of ecs | **50 of 50** | full, {today} |",
            "| R2.app | kills of app | **10 of 10** | medium, 2026-11-01 |",
            "| R7 | hostile inputs | **93 of 93** | medium, 2026-11-01 |"])
        self.assertEqual(self.rows(self.readme), [
            f"| R1 | faults | **99 of 100** | full, {today} |",
            f"| R2.ecs | kills of ecs | **50 of 50** | full, {today} |",
            "| R2.app | kills of app | **10 of 10** | medium, 2026-11-01 |",
            "| R7 | hostile inputs | **93 of 93** | medium, 2026-11-01 |"])
        with open(self.doc) as f:
            self.assertTrue(f.read().endswith("after\n"))
        # Rendering the same results again changes nothing.
        before = self.rows(self.doc), self.rows(self.readme)
        render.main(self.results, self.doc, self.readme)
        self.assertEqual((self.rows(self.doc), self.rows(self.readme)), before)

    def test_no_results_is_an_error_and_the_docs_are_left_alone(self):
        os.remove(os.path.join(self.results, "run.json"))
        with self.assertRaises(SystemExit):
            render.main(self.results, self.doc, self.readme)
        with open(self.doc) as f:
            self.assertEqual(f.read(), DOC)


if __name__ == "__main__":
    unittest.main()
