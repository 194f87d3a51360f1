"""The marketplace benchmark: django-order-messages and django-postman side by side on the
same generated data, the same PostgreSQL, server and load generator.

    .venv/bin/python -m bench.run --quick        # 10^4 and 10^5 messages, a few minutes
    .venv/bin/python -m bench.run                # 10^4 .. 10^7 messages

For each scale: generate both databases (bench.generate), probe each system in its own
settings (bench.probe: sessions, URLs, query counts, in-process query timings), serve it
with uvicorn and load every scenario with wrk (bench.load). Results go to
bench/results/, the table into BENCHMARKS.md and the plot to bench/results/latency.png.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from . import load, report
from .generate import OURS_URL, PEER_URL

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("results")
SYSTEMS = {
    "ours": ("bench.settings", {"DATABASE_URL": OURS_URL}, OURS_URL),
    "peer": ("bench.peer.settings", {"PEER_DATABASE_URL": PEER_URL}, PEER_URL),
}


def probe(settings: str, env: dict) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.probe"],
        cwd=ROOT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings, "DEBUG": "0"},
        check=True,
        stdout=subprocess.PIPE,  # a failing probe's traceback stays on the terminal
        text=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


def loaded(output: str) -> dict:
    """What bench.generate printed it loaded, per system: {"ours": {"messages": ...}}."""
    found = {}
    for line in output.splitlines():
        system, _, rest = line.partition(": ")
        if system in SYSTEMS and rest.startswith("{"):
            found[system] = ast.literal_eval(rest)
    return found


def idle(url: str) -> None:
    """Wait until the database runs no query of an abandoned request (a slow page that
    wrk stopped waiting for still runs to its end), so it does not slow the next one."""
    with psycopg.connect(url, autocommit=True) as db:
        quiet = 0
        while quiet < 3:
            busy = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            quiet = 0 if busy else quiet + 1
            time.sleep(0.2)


def measure(messages: int, *, seconds: float, warmup: float) -> dict:
    generated = subprocess.run(
        [sys.executable, "-m", "bench.generate", "--messages", str(messages)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,  # the progress bars stay on the terminal (stderr)
        text=True,
    ).stdout
    print(generated, end="", flush=True)
    result = {"messages": messages, "systems": {}, "loaded": loaded(generated)}
    for system, (settings, env, url) in SYSTEMS.items():
        print(f"{system}: probing", flush=True)
        found = probe(settings, env)
        print(
            f"{system}: serving with uvicorn --workers {load.WORKERS}, loading with wrk", flush=True
        )
        with load.serve(settings=settings, env=env) as base:
            http = load.run(
                base,
                found["scenarios"],
                seconds=seconds,
                warmup=warmup,
                between=lambda url=url: idle(url),
            )
        result["systems"][system] = {
            "scenarios": [
                {
                    "name": s["name"],
                    "connections": s["connections"],
                    "queries": s["queries"],
                    "note": s["note"],
                    "http": http[s["name"]],
                    "request": s["in_process"],
                }
                for s in found["scenarios"]
            ],
            "in_process": found["queries"],
        }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 messages, short runs")
    parser.add_argument("--scales", help="comma-separated message counts")
    parser.add_argument("--seconds", type=float, help="measured seconds per scenario")
    parser.add_argument("--report-only", action="store_true", help="redo table and plot")
    args = parser.parse_args()
    scales = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6, 10**7]
    if args.scales:
        scales = [int(float(s)) for s in args.scales.split(",")]
    seconds = args.seconds or (3 if args.quick else 8)
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        for messages in scales:
            print(f"=== {messages:,} messages", flush=True)
            result = measure(messages, seconds=seconds, warmup=max(1, seconds / 4))
            result["seconds_per_scenario"] = seconds
            (RESULTS / f"marketplace-{messages}.json").write_text(json.dumps(result, indent=1))
    report.write(RESULTS, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
