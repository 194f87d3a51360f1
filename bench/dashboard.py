"""The dashboard with its response figures, at 10^4 and 10^6 messages: what a
vendor's and the store staff's dashboard and a vendor's page cost once the worker has
rolled the messages up, in-process and through HTTP.

    .venv/bin/python -m bench.dashboard                          # 10^4 and 10^6 messages
    .venv/bin/python -m bench.dashboard --scales 10000000        # one scale
    .venv/bin/python -m bench.dashboard --report-only            # the table again

For each scale: the marketplace of bench.generate (ours only) in its own database
(BENCH_DASHBOARD_URL), the roll-up of every message with ``manage.py roll_up_responses``
(timed), then a probe in the benchmark's settings and wrk against uvicorn, as bench.run does
for the other pages. The probe sends each page's request with Django's test client as the
logged-in user (bench.probe: the same URLs as through HTTP), counts its queries and times
it in-process, the floor views included, so each page has a ratio to the floor both
in-process and through HTTP; it also times the query functions the pages call, the share
of a page that is its database reads. Results go to bench/results/dashboard-*.json and the
table between the dashboard markers in BENCHMARKS.md.
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

from bench.markdown import write_section

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
# Each page in-process: about this many seconds, and at least this many requests.
PAGE_SECONDS, PAGE_RUNS = 2.0, 100


def django_env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DEBUG": "0",
    }


def probe():
    """In the benchmark's settings: the scenarios' requests, their query counts and
    in-process timings (test client), and the query functions' timings. Prints one JSON
    document."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from order_messages import queries
    from order_messages.models import Message, ResponseDay

    from .probe import Probe, count_queries, login, page, time_request, timed

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
    pages = {
        s.name: time_request(s.requests[0], expect=s.expect, budget=PAGE_SECONDS, least=PAGE_RUNS)
        for s in result.scenarios
    }
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
                "pages": pages,
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
            {
                "name": s["name"],
                "queries": s["queries"],
                "in_process": found["pages"][s["name"]],
                "http": http[s["name"]],
            }
            for s in found["scenarios"]
        ],
        "query_functions": found["queries"],
        "measured_on": time.strftime("%Y-%m-%d"),
    }


def label(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"10^{exponent}" if n == 10**exponent else f"{n:,}"


def query_functions(run: dict) -> dict:
    """The query functions' timings; results measured before the pages were timed
    in-process kept them under "in_process"."""
    if "query_functions" in run:
        return run["query_functions"]
    return run.get("in_process", {})


def table(runs: list[dict]) -> str:
    lines = [
        "| messages | scenario | queries | in-process p50 ms | in-process p99 ms "
        "| in-process × floor | query functions p50 ms | HTTP req/s | HTTP p50 ms "
        "| HTTP p99 ms | HTTP × floor |",
        "| --- | --- |" + " ---: |" * 9,
    ]
    for run in runs:
        by_name = {s["name"]: s for s in run["scenarios"]}
        floor = by_name["floor"]
        functions = query_functions(run)
        for name in SCENARIOS:
            s, h = by_name[name], by_name[name]["http"]
            inner, outer = s.get("in_process"), floor.get("in_process")
            function = functions.get(name)
            cells = [
                label(run["messages"]),
                name,
                str(s["queries"]),
                f"{inner['p50_ms']:.2f}" if inner else "—",
                f"{inner['p99_ms']:.2f}" if inner else "—",
                f"{inner['p50_ms'] / outer['p50_ms']:.2f}" if inner and outer else "—",
                f"{function['p50_ms']:.2f}" if function else "",
                f"{h['rps']:,.0f}",
                f"{h['p50_ms']:.1f}",
                f"{h['p99_ms']:.1f}",
                f"{floor['http']['rps'] / h['rps']:.2f}" if h["rps"] else "inf",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for run in runs:
        f = run["figures"]
        pages = [s["in_process"] for s in run["scenarios"] if s.get("in_process")]
        if pages:
            timing = (
                f"in-process {min(p['runs'] for p in pages):,} to "
                f"{max(p['runs'] for p in pages):,} requests per page, through HTTP "
                f"{run['seconds_per_scenario']:g} s per scenario"
            )
            later = ""
        else:
            timing = f"through HTTP {run['seconds_per_scenario']:g} s per scenario"
            later = (
                " Its pages were not timed in-process (the run predates that; "
                f"`--scales {run['messages']}` measures them)."
            )
        lines.append(
            f"- {label(run['messages'])} messages ({run['loaded']['conversations']:,} "
            f"conversations), measured {run['measured_on']}, {timing}: the roll-up read every "
            f"message in {run['roll_up_seconds']} s "
            f"({run['messages'] / run['roll_up_seconds']:,.0f} messages/s) into "
            f"{run['response_days']:,} ResponseDay rows; the staff table lists "
            f"{f['vendors in the table']} sellers, {f['open disputes']} open disputes "
            f"({f['escalated disputes']} escalated); Vendor 01: median {f['v01 median']}, "
            f"90th percentile {f['v01 p90']}, {f['v01 answered within 24 h']} answered "
            f"within 24 h.{later}"
        )
    return "\n".join(lines)


def write_report() -> None:
    runs = sorted(
        (json.loads(p.read_text()) for p in RESULTS.glob("dashboard-*.json")),
        key=lambda r: r["messages"],
    )
    if not runs:
        return
    write_section(ROOT / "BENCHMARKS.md", START, END, table(runs))


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
