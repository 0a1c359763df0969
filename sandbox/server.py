#!/usr/bin/env python3
"""Local AWS sandbox for the rollback CLI: moto, extended to behave like real ECS.

What it extends and why: moto 5.x serves ECS, S3, DynamoDB, ... in-process, but its ECS services
never progress (runningCount stays 0, UpdateService rewrites the single deployment in place),
it ignores sort/maxResults/nextToken on ListTaskDefinitions, accepts UpdateService to INACTIVE
task definitions and never runs RunTask tasks. The rollback runbook depends on exactly those
behaviours, so:

* ``ecs_sim.py`` patches moto's ECS backend/response classes at startup (never site-packages):
  time-driven deployments, service events, circuit breaker with rollback, bad/unhealthy images,
  ECS-like list paging and sorting, RunTask running a local command.
* ``control.py`` wraps moto's WSGI app: every call is recorded, faults (throttling, 500/503,
  latency, dropped connections, "processed then 500") can be injected, and ``/_sandbox/``
  serves the control API (see README.md).
* ``network_sim.py`` adds the cache cluster's security groups and endpoint that moto's
  DescribeCacheClusters leaves out (diagnose reads them).
* ``fleet.py`` seeds the connect2-api fleet (``--seed``).

Usage:
  server.py [--port N] [--port-file FILE] [--task-start-delay S] [--seed]
            [--app connect2-api] [--region us-east-1] [--quiet]
Prints ``SANDBOX_URL=http://127.0.0.1:PORT`` once it accepts connections; runs until SIGTERM or
SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from werkzeug.serving import make_server  # noqa: E402

import conform  # noqa: E402
import control  # noqa: E402
import ecs_sim  # noqa: E402
import fleet  # noqa: E402
import rds_sim  # noqa: E402
import shapes  # noqa: E402
import network_sim  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="moto-based AWS sandbox with ECS behaviour")
    p.add_argument("--port", type=int, default=0, help="port to listen on (0: pick a free one)")
    p.add_argument("--port-file", help="write the port here once the server accepts connections")
    p.add_argument("--task-start-delay", type=float, default=2.0,
                   help="seconds for a task to start (deployment steps are this far apart)")
    p.add_argument("--seed", action="store_true", help="create the connect2-api fleet")
    p.add_argument("--app", default="connect2-api", help="application name of the seeded fleet")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--quiet", action="store_true", help="do not log every request")
    p.add_argument("--check-shapes", action="store_true",
                   help="check every answer against botocore's output shapes (GET /_sandbox/shapes)")
    args = p.parse_args(argv)
    if args.task_start_delay < 0:
        p.error("--task-start-delay must be >= 0")
    return args


def write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Our own boto3 calls (seeding) must never go through a proxy or to real AWS.
    os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    ecs_sim.install()
    rds_sim.install()
    conform.install()
    network_sim.install()
    ecs_sim.CONFIG.task_start_delay = args.task_start_delay
    plan = fleet.fleet_plan(args.app, args.region, DEFAULT_ACCOUNT_ID)
    state = {"seeded": False}

    def fleet_info(base_url: str) -> dict:
        info = dict(plan, seeded=state["seeded"], url=base_url)
        info["environments"] = {
            env: dict(e, healthUrl=f"{base_url}/_sandbox/health/{e['cluster']}/{e['service']}")
            for env, e in plan["environments"].items()
        }
        return info

    app = control.SandboxApp(
        DomainDispatcherApplication(create_backend_app), args.region, DEFAULT_ACCOUNT_ID, fleet_info
    )
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}"
    os.environ["MOTO_PORT"] = str(port)  # moto builds some URLs (e.g. presigned) from it
    thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
    thread.start()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    try:
        with urllib.request.urlopen(f"{url}/_sandbox/ping", timeout=10) as r:
            r.read()
        if args.seed:
            fleet.seed(url, plan)
            state["seeded"] = True
        app.calls.reset()  # the seeding calls are not the client's
        if args.check_shapes:
            shapes.configure({"enabled": True})
        if args.port_file:
            write_atomically(args.port_file, f"{port}\n")
        print(f"SANDBOX_URL={url}", flush=True)
        stop.wait()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with ecs_sim.LOCK:
            for proc in ecs_sim.all_processes(ecs_backends[DEFAULT_ACCOUNT_ID].values()):
                ecs_sim._kill_process(proc)
        if args.port_file:
            try:
                os.remove(args.port_file)
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
