"""The dashboard with its response figures (issue 15), at 10^4 and 10^6 messages: what a
vendor's and the store staff's dashboard and a vendor's page cost once the worker has
rolled the messages up, in-process and through HTTP.

    .venv/bin/python -m bench.dashboard                          # 10^4 and 10^6 messages
    .venv/bin/python -m bench.dashboard --scales 10000000        # one scale
    .venv/bin/python -m bench.dashboard --report-only            # the table again

For each scale: the marketplace of bench.generate (ours only) in its own database
(BENCH_DASHBOARD_URL), the roll-up of every message with ``manage.py roll_up_responses``
(timed), then a probe in the benchmark's settings (query counts through the whole stack,
p50 of the query functions the pages call) and wrk against uvicorn, as bench.run does for
the other pages. Results go to bench/results/dashboard-*.json and the table between the
dashboard markers in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("results")
URL = os.environ.get("BENCH_DASHBOARD_URL", "postgres://postgres@127.0.0.1:5432/om_bench_dashboard")
SETTINGS = "bench.settings"
START, END = "<!-- dashboard:start -->", "<!-- dashboard:end -->"
SCENARIOS = [
    "floor",
    "page floor",
    "dashboard (vendor)",
    "dashboard (store staff)",
    "vendor page (store staff)",
]


def django_env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DEBUG": "0",
    }


def probe():
    """In the benchmark's settings: the scenarios' requests and query counts, and the
    query functions' timings. Prints one JSON document."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from order_messages import queries
    from order_messages.models import Message, ResponseDay

    from .probe import Probe, count_queries, login, page, timed

    User = get_user_model()
    vendor, staff = User.objects.get(username="vendor01"), User.objects.get(username="admin")
    vendor_cookie, _ = login(vendor)
    staff_cookie, _ = login(staff)
    result = Probe(system="ours")
    result.scenarios = [
        page("floor", "/bench/floor/", vendor_cookie),
        page("page floor", "/bench/page/", vendor_cookie),
        page("dashboard (vendor)", "/messages/dashboard/", vendor_cookie),
        page("dashboard (store staff)", "/messages/dashboard/?sort=-median", staff_cookie),
        page("vendor page (store staff)", "/messages/dashboard/vendors/v01/", staff_cookie),
    ]
    for scenario in result.scenarios:
        scenario.queries = count_queries(scenario.requests[0])
    vendor_scope = queries.access_backoffice(user=vendor)
    staff_scope = queries.access_backoffice(user=staff)
    result.queries = {
        "dashboard (vendor)": timed(lambda: queries.dashboard(scope=vendor_scope)),
        "dashboard (store staff)": timed(
            lambda: queries.dashboard(scope=staff_scope, sort="-median")
        ),
        "vendor page (store staff)": timed(
            lambda: queries.vendor_figures(scope=staff_scope, vendor_key="v01")
        ),
    }
    board = queries.dashboard(scope=staff_scope)
    figures = queries.vendor_figures(scope=staff_scope, vendor_key="v01")
    print(
        json.dumps(
            {
                **asdict(result),
                "messages": Message.objects.count(),
                "response_days": ResponseDay.objects.count(),
                "figures": {
                    "vendors in the table": len(board.table.rows),
                    "v01 median": figures.median_text,
                    "v01 p90": figures.p90_text,
                    "v01 answered within 24 h": figures.within_day_text,
                    "open disputes": board.open_disputes,
                    "escalated disputes": board.escalated_total,
                },
            }
        )
    )


def roll_up() -> float:
    """Seconds ``roll_up_responses`` takes to read every message. Then the database is
    vacuumed, as autovacuum soon would on a site: the generated ids run conversation by
    conversation, so each batch rewrote most sellers' days (a site's run day by day), and
    the freshly loaded tables have no visibility map yet (no index-only scans)."""
    from .bulk import connect

    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "roll_up_responses", "-v0"],
        cwd=ROOT,
        env=django_env(),
        check=True,
    )
    took = round(time.perf_counter() - started, 1)
    with connect(URL) as db:
        db.execute("VACUUM ANALYZE")
    return took


def measure(messages: int, *, seconds: float, warmup: float) -> dict:
    from . import load
    from .generate import load_ours
    from .run import idle
    from .shape import make_shape

    shape = make_shape(messages=messages, end=int(time.time()), seed=1)
    print(f"dashboard: loading {messages:,} messages", flush=True)
    loaded = load_ours(shape, URL)
    print(f"dashboard: rolling up {messages:,} messages", flush=True)
    rolled = roll_up()
    print(f"dashboard: rolled up in {rolled} s; probing", flush=True)
    found = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.dashboard", "--probe"],
            cwd=ROOT,
            env=django_env(),
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout.splitlines()[-1]
    )
    print(f"dashboard: serving with uvicorn --workers {load.WORKERS}, loading with wrk")
    with load.serve(settings=SETTINGS, env={"DATABASE_URL": URL}) as base:
        http = load.run(
            base, found["scenarios"], seconds=seconds, warmup=warmup, between=lambda: idle(URL)
        )
    return {
        "messages": messages,
        "loaded": loaded,
        "roll_up_seconds": rolled,
        "response_days": found["response_days"],
        "figures": found["figures"],
        "seconds_per_scenario": seconds,
        "scenarios": [
            {"name": s["name"], "queries": s["queries"], "http": http[s["name"]]}
            for s in found["scenarios"]
        ],
        "in_process": found["queries"],
        "measured_on": time.strftime("%Y-%m-%d"),
    }


def label(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"10^{exponent}" if n == 10**exponent else f"{n:,}"


def table(runs: list[dict]) -> str:
    lines = [
        "| scenario | " + " | ".join(f"{label(r['messages'])} {h}" for r in runs for h in (
            "req/s", "p50 ms", "p99 ms", "× floor", "queries", "in-process p50 ms"
        )) + " |",
        "| --- |" + " ---: |" * (6 * len(runs)),
    ]  # fmt: skip
    for name in SCENARIOS:
        cells = []
        for run in runs:
            by_name = {s["name"]: s for s in run["scenarios"]}
            s, floor = by_name[name], by_name["floor"]
            h = s["http"]
            inner = run["in_process"].get(name)
            cells += [
                f"{h['rps']:,.0f}",
                f"{h['p50_ms']:.1f}",
                f"{h['p99_ms']:.1f}",
                f"{floor['http']['rps'] / h['rps']:.2f}" if h["rps"] else "inf",
                str(s["queries"]),
                f"{inner['p50_ms']:.2f}" if inner else "",
            ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for run in runs:
        f = run["figures"]
        lines.append(
            f"- {label(run['messages'])} messages ({run['loaded']['conversations']:,} "
            f"conversations), measured {run['measured_on']}, {run['seconds_per_scenario']:g} s "
            f"per scenario: the roll-up read every message in {run['roll_up_seconds']} s "
            f"({run['messages'] / run['roll_up_seconds']:,.0f} messages/s) into "
            f"{run['response_days']:,} ResponseDay rows; the staff table lists "
            f"{f['vendors in the table']} sellers, {f['open disputes']} open disputes "
            f"({f['escalated disputes']} escalated); Vendor 01: median {f['v01 median']}, "
            f"90th percentile {f['v01 p90']}, {f['v01 answered within 24 h']} answered "
            f"within 24 h."
        )
    return "\n".join(lines)


def write_report() -> None:
    runs = sorted(
        (json.loads(p.read_text()) for p in RESULTS.glob("dashboard-*.json")),
        key=lambda r: r["messages"],
    )
    if not runs:
        return
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text()
    if START not in text:
        return
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n\n{table(runs)}\n\n{END}{after}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="10000,1000000", help="comma-separated messages")
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per scenario")
    parser.add_argument("--report-only", action="store_true", help="redo the table")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe()
        return
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        for messages in (int(float(s)) for s in args.scales.split(",")):
            result = measure(messages, seconds=args.seconds, warmup=max(1, args.seconds / 4))
            (RESULTS / f"dashboard-{messages}.json").write_text(json.dumps(result, indent=1))
    write_report()


if __name__ == "__main__":
    main()
