#!/usr/bin/env python3
"""Writes the figures of a scripts/reliability.sh run into docs/RELIABILITY.md (the table
between the `figures` markers) and README.md (the summary table between the same markers).
A figure the run did not measure (a part run, e.g. R1-R4 alone) keeps its row from the table
already there; every row names the run it comes from (size and date), so figures of different
runs are never mistaken for one.
Usage: render.py RESULTS_DIR docs/RELIABILITY.md README.md"""

import json
import os
import re
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


def result_of(f):
    result = f"skipped: {f['skipped']}" if f.get("skipped") else f"**{f['passed']} of {f['total']}**"
    if f.get("violations"):
        result += f" ({f['violations']} violating a safety promise)"
    return result


def table(rows):
    lines = ["| figure | what | result | run |", "|---|---|---|---|"]
    lines += [f"| {key} | {what} | {result} | {run} |" for key, what, result, run in rows]
    return "\n".join(lines)


def rows_of(figures, run, with_notes):
    rows = []
    for f in figures:
        notes = ""
        if with_notes and f.get("notes"):
            notes = " (" + ", ".join(f"{k}: {v}" for k, v in sorted(f["notes"].items())) + ")"
        rows.append((f["key"], f"{f['title']}{notes}", result_of(f), run))
    return rows


def earlier_rows(path):
    """The rows of the table already between the markers: (key, what, result, run)."""
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        return []
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    # Tables written before rows named their run: the block's "Measured DATE ... (the `SIZE` size)".
    m = re.search(r"Measured (\S+) by .*?\(the `(\w+)` size\)", block)
    default_run = f"{m.group(2)}, {m.group(1)}" if m else "an earlier run"
    rows = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if not line.startswith("| R") or len(cells) < 3:
            continue
        rows.append((cells[0], cells[1], cells[2], cells[3] if len(cells) > 3 else default_run))
    return rows


def merged(new_rows, old_rows):
    """The new rows, and the old ones for figures not measured again, in figure order (R1, R2.*,
    ...), each figure's parts (R2.ecs, R2.app, ...) in the order they were written."""
    keys = {r[0] for r in new_rows}
    rows = new_rows + [r for r in old_rows if r[0] not in keys]
    position = {id(r): i for i, r in enumerate(rows)}
    return sorted(rows, key=lambda r: (r[0].split(".")[0], position[id(r)]))


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
    if not figures:
        raise SystemExit(f"render: no results in {folder}")
    run = f"{size}, {time.strftime('%Y-%m-%d', time.gmtime())}"
    head = ("Measured by `scripts/reliability.sh`; each row names its run (the size: `full`, `medium` "
            "or `short`, and the date).\n\n")
    doc_rows = earlier_rows(doc)
    splice(doc, head + table(merged(rows_of(figures, run, True), doc_rows)))
    # The README's summary has no notes; its kept rows take their run from the doc's table.
    runs = {r[0]: r[3] for r in doc_rows}
    readme_rows = [(k, what, result, runs.get(k, r)) for k, what, result, r in earlier_rows(readme)]
    splice(readme, table(merged(rows_of(figures, run, False), readme_rows)))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
