#!/usr/bin/env python3
"""Writes the figures of a full scripts/reliability.sh run into docs/RELIABILITY.md (the table
between the `figures` markers) and README.md (the summary table between the same markers).
Usage: render.py RESULTS_DIR docs/RELIABILITY.md README.md"""

import json
import os
import sys
import time

BEGIN, END = "<!-- reliability-figures:begin -->", "<!-- reliability-figures:end -->"


def load(folder):
    figures = []
    size = "?"
    for name in ("run.json", "secrets.json", "hostile.json"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path) as f:
                doc = json.load(f)
                figures += doc["figures"]
                size = doc.get("size", size) if name == "run.json" else size
    fuzz = []
    path = os.path.join(folder, "fuzz.json")
    if os.path.exists(path):
        with open(path) as f:
            fuzz = json.load(f)["fuzz"]
    if fuzz:
        clean = sum(1 for t in fuzz if not t["crashed"])
        runs = sum(t["executions"] for t in fuzz)
        figures.insert(len([f for f in figures if f["key"] < "R5"]), {
            "key": "R5", "title": f"fuzz targets that ran {fuzz[0]['seconds']} s each under ASan/UBSan "
                                  f"without a crash ({runs:,} executions in all)",
            "passed": clean, "total": len(fuzz), "misses": [t["target"] for t in fuzz if t["crashed"]], "notes": {}})
    return figures, size


def table(figures, with_notes):
    lines = ["| figure | what | result |", "|---|---|---|"]
    for f in figures:
        notes = ""
        if with_notes and f.get("notes"):
            notes = " (" + ", ".join(f"{k}: {v}" for k, v in sorted(f["notes"].items())) + ")"
        result = f"skipped: {f['skipped']}" if f.get("skipped") else f"**{f['passed']} of {f['total']}**"
        if f.get("violations"):
            result += f" ({f['violations']} violating a safety promise)"
        lines.append(f"| {f['key']} | {f['title']}{notes} | {result} |")
    return "\n".join(lines)


def splice(path, body):
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"render: {path} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + body + "\n" + END + tail)


def main(folder, doc, readme):
    figures, size = load(folder)
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    splice(doc, f"Measured {stamp} by `scripts/reliability.sh` (the `{size}` size).\n\n" + table(figures, True))
    splice(readme, table(figures, False))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
