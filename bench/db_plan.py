#!/usr/bin/env python3
"""Reading and planning a database rollback on a big Alembic project, side by side with Alembic.

Generates a project of COUNT migrations (tests/db/gen_migrations.py: every header style,
branches, merges, depends_on, downgrades of every kind), migrates a SQLite database to its head
with the real Alembic, then times, over RUNS runs each (after one warm-up run):

  rollback db --dry-run             read every script, build the graph, read the version table,
                                    plan `downgrade -1`, analyse its risk, count the data at stake
  rollback db --dry-run --to base   the same, planning and analysing every one of the migrations
  rollback db status                the version table, pending upgrades, the graph nearby
  alembic history                   Alembic reading the same folder (no database)

and prints a Markdown table (wall time: min, median, mean) with the ratio to `alembic history`.
With --write FILE it replaces the "## Database planning" section of FILE (docs/PERFORMANCE.md),
creating the file or the section when missing and leaving every other section alone.

Standard library only:
    python3 bench/db_plan.py [--count 500] [--runs 10] [--bin build/release/rollback] [--write docs/PERFORMANCE.md]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
SECTION = "## Database planning"


def default_binary():
    for preset in ("release", "dev"):
        path = os.path.join(SOURCE, "build", preset, "rollback")
        if os.path.exists(path):
            return path
    return os.path.join(SOURCE, "build", "dev", "rollback")


def run(argv, cwd, env, expect=(0,)):
    r = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode not in expect:
        sys.exit(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def timed(argv, cwd, env, runs):
    run(argv, cwd, env)  # warm-up: page cache, Python's imports
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run(argv, cwd, env)
        samples.append(time.perf_counter() - start)
    return samples


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def build_type(binary):
    cache = os.path.join(os.path.dirname(binary), "CMakeCache.txt")
    try:
        with open(cache) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(\S*)", f.read(), re.M)
            return m.group(1) if m else "?"
    except OSError:
        return "?"


def alembic_version(alembic):
    """"Alembic 1.8.1 on 3.11.2 (/usr/bin/python3)": the version and the interpreter it runs with."""
    version = subprocess.run([alembic, "--version"], capture_output=True, text=True).stdout.split()
    interpreter = "python3"
    with open(alembic) as f:
        first = f.readline()
    if first.startswith("#!"):
        interpreter = first[2:].split()[0]
    py = subprocess.run([interpreter, "--version"], capture_output=True, text=True).stdout.split()
    return f"Alembic {version[-1] if version else '?'} on Python {py[-1] if py else '?'} ({interpreter})"


def write_section(path, text):
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if not old.strip():
        old = "# Performance\n\nMeasured numbers, each section self-contained: how it was measured and how to repeat it.\n"
    start = old.find(SECTION + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        nxt = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + (old[nxt + 1:] if nxt >= 0 else "")
    with open(path, "w") as f:
        f.write(new.rstrip("\n") + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--bin", default=os.environ.get("ROLLBACK_BIN") or default_binary())
    ap.add_argument("--alembic", default="/usr/bin/alembic")
    ap.add_argument("--write", metavar="FILE", help="replace the Database planning section of FILE")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)

    load = os.getloadavg()[0]
    kind = build_type(args.bin)
    if kind == "Debug":
        kind = "Debug (unoptimised, -O0: an upper bound)"
    work = tempfile.mkdtemp(prefix="rollback-bench-db-")
    try:
        project = os.path.join(work, "project")
        subprocess.run([sys.executable, os.path.join(SOURCE, "tests", "db", "gen_migrations.py"),
                        "--count", str(args.count), "--out", project], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(work, "rollback.yaml"), "w") as f:
            f.write("app: bench\nregion: us-east-1\n"
                    f"migrations: {{ path: project, versions: project/alembic/versions, command: [{args.alembic}] }}\n"
                    "environments:\n  bench: { branch: main }\n")
        env = dict(os.environ, DATABASE_URL="sqlite:///" + os.path.join(work, "bench.db"),
                   PYTHONDONTWRITEBYTECODE="1", XDG_STATE_HOME=os.path.join(work, "state"))
        start = time.perf_counter()
        run([args.alembic, "upgrade", "heads"], project, env)
        upgrade_s = time.perf_counter() - start

        cases = [
            ("`rollback db --dry-run` (plan `-1`, risk, counts)", [args.bin, "db", "--env", "bench", "--dry-run"], work),
            ("`rollback db --dry-run --to base` (all {} migrations)".format(args.count),
             [args.bin, "db", "--env", "bench", "--dry-run", "--to", "base"], work),
            ("`rollback db status`", [args.bin, "db", "status", "--env", "bench"], work),
            ("`alembic history`", [args.alembic, "history"], project),
        ]
        results = [(name, timed(argv, cwd, env, args.runs)) for name, argv, cwd in cases]
        reference = statistics.median(results[-1][1])
        plan = run(cases[0][1], work, env).stdout.splitlines()
        first_plan = next((line for line in plan if line.startswith("Plan:")), "?")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        SECTION,
        "",
        f"`bench/db_plan.py --count {args.count} --runs {args.runs}`: a generated project of {args.count} migrations "
        "(`tests/db/gen_migrations.py`: every header style, branches, merges, depends_on, downgrades of every kind), "
        f"a SQLite database migrated to its head by the real Alembic ({upgrade_s:.1f} s for `alembic upgrade heads`), "
        f"then wall time over {args.runs} runs of each command after one warm-up run. rollback: {kind} build; "
        f"{alembic_version(args.alembic)}; {os.cpu_count()} CPUs, load average {load:.1f} when it started (the "
        "machine is shared), so compare the ratios more than the absolute numbers.",
        "",
        "| command | min | median | mean | time vs `alembic history` (median; lower is faster) |",
        "|---|---|---|---|---|",
    ]
    for name, samples in results:
        med = statistics.median(samples)
        lines.append(f"| {name} | {ms(min(samples))} | {ms(med)} | {ms(statistics.mean(samples))} | "
                     f"{med / reference:.2f}x |")
    lines += [
        "",
        f"The first row's plan: {first_plan.replace('Plan: ', '')}. `rollback db --dry-run` does strictly more than "
        "`alembic history` (it also opens the database, reads the version table, plans, analyses the downgrade "
        "bodies and counts rows), without starting Python. Repeat with `python3 bench/db_plan.py --write "
        "docs/PERFORMANCE.md`.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
