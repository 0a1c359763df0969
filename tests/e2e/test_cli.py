"""The command line a newcomer meets: --version and --help, the mistakes a tired person makes,
JSON errors with their documented codes, exit 5 when nothing could start, and the shell
completions and man page generated from the command definitions."""

import json
import os
import re
import socket
import subprocess
import unittest

from harness import BINARY, SOURCE_DIR, RollbackTestCase, SharedSandboxTestCase

ERROR_CODES = {"failed", "usage", "config", "refused", "locked", "cannot_start", "not_recorded", "interrupted",
               "unknown_command", "config_not_found", "credentials", "aws_unreachable"}


def help_text(*words):
    return subprocess.run([BINARY, *words, "--help"], capture_output=True, text=True, timeout=30).stdout


def commands_and_options():
    """{"ecs": {"--env", ...}, "state list": {...}, "": {...}} read from --help, independently of
    the generator: the subcommands under "Subcommands:" and every --long option of each."""
    found = {}

    def walk(path):
        text = help_text(*path)
        options = set(re.findall(r"(?m)^\s+(?:-\w,\s?)?(--[a-z][a-z0-9-]*)", text))
        found[" ".join(path)] = options
        if "Subcommands:" in text:
            block = text.split("Subcommands:", 1)[1]
            for line in block.splitlines():
                m = re.match(r"^  ([a-z][a-z0-9-]*)\s", line)
                if m:
                    walk(path + [m.group(1)])
    walk([])
    return found


class VersionAndHelpTest(unittest.TestCase):
    def test_version_names_the_commit_it_was_built_from(self):
        r = subprocess.run([BINARY, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.fullmatch(r"rollback \d+\.\d+\.\d+ \(commit (\S+)\)\n", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        described = m.group(1)
        if os.path.isdir(os.path.join(SOURCE_DIR, ".git")) or os.path.isfile(os.path.join(SOURCE_DIR, ".git")):
            sha = re.search(r"(?:^|-g)([0-9a-f]{7,40})(?:-dirty)?$", described)
            self.assertIsNotNone(sha, described)
            ok = subprocess.run(["git", "-C", SOURCE_DIR, "cat-file", "-e", sha.group(1) + "^{commit}"])
            self.assertEqual(ok.returncode, 0, f"{described} is not a commit of {SOURCE_DIR}")
        else:
            self.assertEqual(described, "unknown")

    def test_help_says_rollback_not_the_path_it_was_run_from(self):
        for words in ([], ["ecs"], ["state", "list"]):
            text = help_text(*words)
            self.assertNotIn(BINARY, text)
            self.assertNotIn("build/", text)
            usage = [l for l in text.splitlines() if l.startswith("Usage: ")]
            self.assertEqual(len(usage), 1, text)
            self.assertTrue(usage[0].startswith(" ".join(["Usage: rollback", *words])), usage[0])


class MistakesTest(RollbackTestCase):
    def test_misspelt_command_is_named_with_the_closest_one(self):
        r = self.rollback("statuss", "--env", "prod")
        self.assertExit(r, 2)
        self.assertIn("unknown command 'statuss'", r.stderr)
        self.assertIn("did you mean `rollback status`?", r.stderr)
        self.assertNotIn("A subcommand is required", r.stderr)

        r = self.rollback("rollbak")
        self.assertExit(r, 2)
        self.assertIn("unknown command 'rollbak'", r.stderr)
        self.assertIn("commands: ecs, app", r.stderr)

        r = self.rollback("state", "lst", "--env", "dev")
        self.assertExit(r, 2)
        self.assertIn("unknown command 'lst' for `rollback state`", r.stderr)
        self.assertIn("did you mean `rollback state list`?", r.stderr)

        r = self.rollback("statuss", "--output", "json")
        self.assertExit(r, 2)
        err = json.loads(r.stdout)["error"]
        self.assertEqual(err["code"], "unknown_command")
        self.assertIn("status", err["hint"])
        self.assertEqual(r.stderr, "")

    def test_environment_as_a_bare_word_is_refused_with_the_exact_spelling(self):
        for words in (["ecs", "prod"], ["ecs", "prod", "--dry-run"], ["status", "staging"], ["db", "status", "prod"]):
            with self.subTest(words=words):
                r = self.rollback(*words)
                self.assertExit(r, 2)
                env = words[1] if words[1] != "status" else words[2]
                self.assertIn(f"unexpected argument '{env}'", r.stderr)
                self.assertIn("--env", r.stderr)
                self.assertIn(f"--env {env}", r.stderr)
        self.assertEqual(self.journal(), [])

    def test_wrong_folder_names_the_folders_searched_and_suggests_config_first(self):
        elsewhere = os.path.join(self.work, "elsewhere", "deeper")
        os.makedirs(elsewhere)
        os.remove(os.path.join(self.work, "rollback.yaml"))
        r = self.rollback("status", "--env", "prod", cwd=elsewhere)
        self.assertExit(r, 2)
        self.assertIn("no rollback.yaml", r.stderr)
        for folder in (elsewhere, os.path.dirname(elsewhere), self.work, "/"):
            self.assertIn(folder, r.stderr)
        hint = r.stderr.split("hint:", 1)[1]
        self.assertIn("--config", hint)
        self.assertLess(hint.index("--config"), hint.index("rollback init"))
        r = self.rollback("status", "--env", "prod", "--output", "json", cwd=elsewhere)
        self.assertExit(r, 2)
        self.assertEqual(json.loads(r.stdout)["error"]["code"], "config_not_found")
        self.assertEqual(r.stderr, "")

    def test_bad_configuration_is_code_config_exit_2(self):
        self.write_config("app: connect2-api\nenvironments: [oops\n")
        r = self.rollback("status", "--env", "prod", "--output", "json")
        self.assertExit(r, 2)
        out = json.loads(r.stdout)
        self.assertEqual(out["error"]["code"], "config")
        self.assertEqual(out["exit_code"], 2)
        self.assertEqual(r.stderr, "")


class JsonAndCannotStartTest(SharedSandboxTestCase):
    """Against the sandbox: JSON results carry the rollback id and what was verified; a failure
    before anything changed is exit 5 cannot_start, distinct from a rollback that ran and failed."""

    def prod_revision(self):
        ecs = self.sandbox.client("ecs")
        svc = ecs.describe_services(cluster="connect2-api-cluster-prod", services=["connect2-api-service-prod"])
        return svc["services"][0]["taskDefinition"]

    def test_success_json_has_rollback_id_and_what_was_verified_and_stderr_is_quiet(self):
        r = self.rollback("ecs", "--env", "staging", "--to-revision", "3", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertEqual(r.stderr, "")
        out = json.loads(r.stdout)
        [entry] = self.journal()
        self.assertEqual(out["rollback_id"], entry["id"])
        self.assertTrue(out["verified"])
        self.assertTrue(any("runs" in v and "COMPLETED" in v for v in out["verified"]), out["verified"])

    def test_failure_json_after_the_start_carries_the_rollback_id(self):
        r = self.rollback("ecs", "--env", "staging", "--to-revision", "2", "--timeout", "1ms", "--output", "json",
                          sandbox=self.sandbox)
        self.assertExit(r, 1)
        out = json.loads(r.stdout)
        [entry] = self.journal()
        self.assertEqual(out["rollback_id"], entry["id"])
        self.assertEqual(out["error"]["code"], "failed")
        self.assertEqual(out["verified"], [])

    def test_expired_credentials_before_anything_changed_is_exit_5(self):
        before = self.prod_revision()
        self.sandbox.control("faults", {"rules": [{"operation": "*", "kind": "expired_token", "count": 50}]})
        r = self.rollback("ecs", "--env", "prod", "--reason", "500s after deploy", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 5)
        self.assertIn("ExpiredTokenException", r.stderr)
        self.assertIn("nothing was changed", r.stderr)
        r = self.rollback("ecs", "--env", "prod", "--reason", "500s after deploy", "--yes", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 5)
        self.assertEqual(json.loads(r.stdout)["error"]["code"], "credentials")
        self.sandbox.control("faults", method="DELETE")
        self.assertEqual(self.prod_revision(), before)
        self.assertEqual(self.journal(), [])
        self.assertNoSecrets(r.stdout, r.stderr)

    def test_aws_unreachable_at_the_first_call_is_exit_5(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        env = self.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed}", AWS_MAX_ATTEMPTS="1")
        r = self.rollback("ecs", "--env", "prod", "--reason", "500s after deploy", "--yes", "--output", "json", env=env)
        self.assertExit(r, 5)
        out = json.loads(r.stdout)
        self.assertEqual(out["error"]["code"], "aws_unreachable")
        self.assertEqual(out["exit_code"], 5)
        self.assertNotIn("rollback_id", out)
        self.assertEqual(self.journal(), [])


class CompletionsAndManPageTest(unittest.TestCase):
    """Every subcommand and option (read from --help) appears in every completion script and the man
    page, and the files the build generated are exactly what the binary prints."""

    @classmethod
    def setUpClass(cls):
        cls.tree = commands_and_options()

    def generated(self, *args):
        r = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_the_tree_read_from_help_is_complete_enough_to_mean_something(self):
        self.assertIn("ecs", self.tree)
        self.assertIn("state restore", self.tree)
        self.assertIn("db status", self.tree)
        self.assertIn("--env", self.tree["ecs"])
        self.assertIn("--to-revision", self.tree["ecs"])
        self.assertIn("--version-id", self.tree["state restore"])

    def test_every_command_and_option_is_in_every_completion_and_the_man_page(self):
        scripts = {shell: self.generated("__complete", shell) for shell in ("bash", "zsh", "fish")}
        man = self.generated("__man")
        for path, options in self.tree.items():
            words = path.split()
            for shell, text in scripts.items():
                for w in words:
                    if shell == "fish":
                        self.assertRegex(text, rf"-a '{re.escape(w)}'", f"{shell}: command {path}")
                    else:
                        self.assertRegex(text, rf"['\s]{re.escape(w)}['\s]", f"{shell}: command {path}")
                for o in options:
                    if shell == "fish":
                        self.assertIn(f"-l {o[2:]}", text, f"{shell}: {path} {o}")
                    else:
                        self.assertIn(o, text, f"{shell}: {path} {o}")
            if path:
                self.assertIn(f'.SS "rollback {path}"', man.replace("\\-", "-"))
            for o in options:
                self.assertIn("\\-\\-" + o[2:].replace("-", "\\-"), man, f"man: {path} {o}")
        self.assertIn("cannot_start", man)
        self.assertIn("config_not_found", man)

    def test_bash_completion_completes_commands_and_options(self):
        script = self.generated("__complete", "bash")
        probe = script + r'''
COMP_WORDS=(rollback sta); COMP_CWORD=1; _rollback; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(rollback state l); COMP_CWORD=2; _rollback; echo "2:${COMPREPLY[*]}"
COMP_WORDS=(rollback ecs --to); COMP_CWORD=2; _rollback; echo "3:${COMPREPLY[*]}"
COMP_WORDS=(rollback ecs --output ""); COMP_CWORD=3; _rollback; echo "4:${COMPREPLY[*]}"
'''
        r = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = dict(l.split(":", 1) for l in r.stdout.splitlines())
        self.assertEqual(lines["1"].split(), ["state", "status"])
        self.assertEqual(lines["2"].split(), ["list"])
        self.assertEqual(lines["3"].split(), ["--to-revision"])
        self.assertEqual(lines["4"].split(), ["text", "json"])

    def test_the_build_generated_the_same_files(self):
        gen = os.path.join(os.path.dirname(BINARY), "generated")
        expected = {"rollback.bash": ("__complete", "bash"), "_rollback": ("__complete", "zsh"),
                    "rollback.fish": ("__complete", "fish"), "rollback.1": ("__man",)}
        for name, args in expected.items():
            with open(os.path.join(gen, name)) as f:
                self.assertEqual(f.read(), self.generated(*args), name)

    def test_documented_error_codes_match_the_man_page(self):
        man = self.generated("__man")
        section = man.split(".SH ERROR CODES", 1)[1].split(".SH", 1)[0]
        listed = set(re.findall(r"[a-z_]+", section.split(".PP", 1)[1]))
        self.assertEqual(listed & ERROR_CODES, ERROR_CODES)
        readme = open(os.path.join(SOURCE_DIR, "README.md")).read()
        for code in ERROR_CODES:
            self.assertIn(f"`{code}`", readme)


if __name__ == "__main__":
    unittest.main()
