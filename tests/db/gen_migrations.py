#!/usr/bin/env python3
"""Writes a synthetic Alembic project with many migrations, for benchmarks of rollback's
script reader and planner, and for comparing rollback's graph with `alembic history`.

The scripts mix every header style Alembic has generated (no annotations, Union/Sequence,
`str | None`, `tuple[str] | None`), single and double quotes, hex and non-hex ids, dated and
revision-named files, branches, merges with multi-line tuples, depends_on on ancestors, and
downgrades of every kind rollback's risk analysis knows (drop_table, batch drop_column, raw
SQL, raise, pass). Every migration runs on SQLite: `alembic upgrade heads` then
`alembic downgrade base` works (except through the few irreversible ones).

Only the standard library is used; any python3 runs it.

    python3 tests/db/gen_migrations.py --count 500 --out /tmp/bench
    cd /tmp/bench && DATABASE_URL=sqlite:////tmp/bench.db alembic history | head
"""

import argparse
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "migrations")

STYLES = ["plain", "union_seq", "pipe", "tuple", "union_none"]


def quote(rng, text):
    return f'"{text}"' if rng.random() < 0.5 else f"'{text}'"


def render_down(rng, down, style, multiline):
    if not down:
        return "None"
    if len(down) == 1:
        return quote(rng, down[0])
    if multiline:
        lines = "".join(f"    {quote(rng, d)},  # parent {k + 1}\n" for k, d in enumerate(down))
        return "(\n" + lines + ")"
    return "(" + ", ".join(quote(rng, d) for d in down) + ")"


def header(rng, style, rev, down, labels, deps):
    multiline = len(down) > 1 and rng.random() < 0.7
    down_text = render_down(rng, down, style, multiline)
    labels_text = "None" if not labels else "(" + ", ".join(quote(rng, l) for l in labels) + ",)"
    deps_text = "None" if not deps else quote(rng, deps[0]) if len(deps) == 1 else "(" + ", ".join(quote(rng, d) for d in deps) + ")"
    if style == "plain":
        return (f"revision = {quote(rng, rev)}\ndown_revision = {down_text}\n"
                f"branch_labels = {labels_text}\ndepends_on = {deps_text}\n")
    if style == "union_seq":
        ann = "Union[str, Sequence[str], None]"
        return (f"revision: str = {quote(rng, rev)}\ndown_revision: {ann} = {down_text}\n"
                f"branch_labels: {ann} = {labels_text}\ndepends_on: {ann} = {deps_text}\n")
    if style == "pipe":
        return (f"revision: str = {quote(rng, rev)}\ndown_revision: str | tuple[str, ...] | None = {down_text}\n"
                f"branch_labels: str | tuple[str, ...] | None = {labels_text}\n"
                f"depends_on: str | tuple[str, ...] | None = {deps_text}\n")
    if style == "tuple":
        return (f"revision: str = {quote(rng, rev)}\ndown_revision: tuple[str, ...] | str | None = {down_text}\n"
                f"branch_labels: tuple[str] | None = {labels_text}\ndepends_on: tuple[str] | str | None = {deps_text}\n")
    return (f"revision: str = {quote(rng, rev)}\ndown_revision: Union[str, Sequence[str], None] = {down_text}\n"
            f"branch_labels: Union[str, None] = {labels_text}\ndepends_on: Union[str, None] = {deps_text}\n")


def bodies(rng, i, is_merge, is_root):
    """upgrade and downgrade bodies (indented), and a slug."""
    if is_root:
        return ("    op.create_table(\n        'users',\n        sa.Column('id', sa.Integer(), primary_key=True),\n"
                "        sa.Column('name', sa.String(100)),\n    )\n",
                "    op.drop_table('users')\n", "create users")
    if is_merge:
        return "    pass\n", "    pass\n", "merge heads"
    kind = rng.random()
    t = f"t{i:05d}"
    create = (f"    op.create_table(\n        {t!r},\n        sa.Column('id', sa.Integer(), primary_key=True),\n"
              f"        sa.Column('payload', sa.Text()),\n    )\n")
    if kind < 0.35:
        return create, f"    op.drop_table({t!r})\n", f"create {t}"
    if kind < 0.50:
        return create, f'    op.execute("DROP TABLE {t}")\n', f"create {t} (raw downgrade)"
    if kind < 0.65:
        c = f"c{i:05d}"
        return (f"    with op.batch_alter_table('users') as batch_op:\n"
                f"        batch_op.add_column(sa.Column({c!r}, sa.String(20)))\n",
                f"    with op.batch_alter_table('users') as batch_op:\n        batch_op.drop_column({c!r})\n",
                f"add users.{c}")
    if kind < 0.78:
        ix = f"ix_users_name_{i:05d}"
        return (f"    op.create_index({ix!r}, 'users', ['name'])\n",
                f"    op.drop_index({ix!r}, table_name='users')\n", f"index {ix}")
    if kind < 0.90:
        return (create + f"    op.execute(sa.text(\"INSERT INTO {t} (payload) VALUES ('x')\"))\n",
                f"    op.execute(sa.text(\"DELETE FROM {t}\"))\n    op.drop_table({t!r})\n", f"seed {t}")
    if kind < 0.985:
        return "    pass\n", "    # nothing to undo\n    pass\n", "no-op"
    return (create, "    raise NotImplementedError(\"data migration cannot be undone\")\n", f"irreversible {t}")


def new_id(rng, i, used):
    while True:
        r = rng.random()
        if r < 0.85:
            rev = "%012x" % rng.getrandbits(48)
        elif r < 0.95:
            rev = f"feature_{rng.choice(['billing', 'search', 'auth', 'audit'])}_{i:05d}"
        else:
            rev = f"2026_{1 + i % 12:02d}_{i:05d}"
        if rev not in used:
            used.add(rev)
            return rev


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500, help="number of migrations (default 500)")
    ap.add_argument("--seed", type=int, default=20260130, help="random seed (default 20260130)")
    ap.add_argument("--heads", type=int, default=1, help="open heads to leave at the end (default 1)")
    ap.add_argument("--out", required=True, help="project folder to create")
    ap.add_argument("--versions-only", action="store_true", help="write only the scripts, into OUT")
    args = ap.parse_args()
    if args.count < 2:
        sys.exit("--count must be at least 2")

    rng = random.Random(args.seed)
    versions = args.out if args.versions_only else os.path.join(args.out, "alembic", "versions")
    os.makedirs(versions, exist_ok=True)
    if not args.versions_only:
        for name in ("alembic.ini",):
            with open(os.path.join(FIXTURE, name)) as src, open(os.path.join(args.out, name), "w") as dst:
                dst.write(src.read())
        for name in ("env.py", "script.py.mako"):
            with open(os.path.join(FIXTURE, "alembic", name)) as src, \
                 open(os.path.join(args.out, "alembic", name), "w") as dst:
                dst.write(src.read())

    used = set()
    lineage = []  # every revision, in creation order
    heads = []
    for i in range(args.count):
        remaining = args.count - i
        deps = []
        labels = []
        if i == 0:
            down = []
            labels = ["main"]
        elif len(heads) > 1 and (rng.random() < 0.15 or remaining <= len(heads) - args.heads + 1
                                 and len(heads) > args.heads):
            k = min(len(heads), rng.choice([2, 2, 2, 3]))
            down = rng.sample(heads, k)
        elif len(heads) < 4 and rng.random() < 0.08 and len(lineage) > 3:
            down = [rng.choice(lineage[-10:])]
        else:
            down = [rng.choice(heads)]
        if down and rng.random() < 0.03:
            deps = [rng.choice(lineage[: max(1, len(lineage) // 2)])]
            if deps[0] in down:
                deps = []
        rev = new_id(rng, i, used)
        for d in down:
            if d in heads:
                heads.remove(d)
        heads.append(rev)
        lineage.append(rev)

        style = STYLES[i % len(STYLES)] if i else "plain"
        up, downgrade, slug = bodies(rng, i, len(down) > 1, i == 0)
        doc = f"{slug}\n\nRevision ID: {rev}\nRevises: {', '.join(down)}\nCreate Date: 2026-01-01 00:00:{i % 60:02d}\n"
        imports = "from typing import Sequence, Union\n\n" if style in ("union_seq", "union_none") else ""
        text = (f'"""{doc}\n"""\n{imports}from alembic import op\nimport sqlalchemy as sa\n\n\n'
                f"# revision identifiers, used by Alembic.\n{header(rng, style, rev, down, labels, deps)}\n\n"
                f"def upgrade() -> None:\n{up}\n\ndef downgrade() -> None:\n{downgrade}")
        fname = (f"2026_{i // 28 % 12 + 1:02d}_{i % 28 + 1:02d}_{slug.split()[0]}_{i:05d}.py"
                 if rng.random() < 0.3 else f"{rev}_{slug.split()[0]}.py")
        with open(os.path.join(versions, fname), "w") as f:
            f.write(text)
    print(f"wrote {args.count} migrations to {versions} ({len(heads)} head(s))")


if __name__ == "__main__":
    main()
