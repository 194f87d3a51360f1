"""Where a request's time goes, in-process: each scenario of the marketplace benchmark sent
through Django's test client in this process, its time split five ways as it is spent.

- *session and user*: Django's lazy ``request.user`` (the signed-in user, and the session
  too unless the view read the session first);
- *database*: the statements, from handing the SQL to the driver to having the rows;
- *templates*: rendering, less the statements run while rendering;
- *the store*: the adapter's answers (the order, the vendor's staff, the vendors a person
  works for), less their statements;
- *the rest*: Django's request handling and middleware, the view's own Python, forms, and
  building the statements.

Every request is timed whole, and each part is the time spent in it and in nothing nested
deeper (a statement run while rendering counts as database). Means, so the parts add up to
the request; the median request beside them. Run it in each system's settings on the
generated data (bench.generate):

    .venv/bin/python -m bench.breakdown                                  # ours
    DJANGO_SETTINGS_MODULE=bench.peer.settings .venv/bin/python -m bench.breakdown
    .venv/bin/python -m bench.breakdown --write    # both, into BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from .report import key

PARTS = ("session and user", "database", "templates", "the store", "the rest")
SKIPPED = {"mark read", "post while reading"}  # made for concurrent load, not alone
BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
RESULTS = Path(__file__).with_name("results")
START, END = "<!-- breakdown:start -->", "<!-- breakdown:end -->"


class Clock:
    """Time charged to the innermost part running: a stack of parts."""

    def __init__(self):
        self.stack = ["the rest"]
        self.mark = time.perf_counter()
        self.spent = defaultdict(float)

    def enter(self, part: str) -> None:
        now = time.perf_counter()
        self.spent[self.stack[-1]] += now - self.mark
        self.stack.append(part)
        self.mark = now

    def leave(self) -> None:
        now = time.perf_counter()
        self.spent[self.stack.pop()] += now - self.mark
        self.mark = now

    def restart(self) -> dict[str, float]:
        """What was spent since the last restart, in ms, and start again."""
        self.leave()
        spent = {part: self.spent.get(part, 0.0) * 1000 for part in PARTS}
        self.stack, self.spent, self.mark = ["the rest"], defaultdict(float), time.perf_counter()
        return spent


def timed_as(clock: Clock, part: str, function):
    def timed(*args, **kwargs):
        clock.enter(part)
        try:
            return function(*args, **kwargs)
        finally:
            clock.leave()

    return timed


def instrument(clock: Clock) -> None:
    """Charge the session and user, templates and the store's adapter to their parts
    (statements are charged by the connection's execute wrapper)."""
    from django.conf import settings
    from django.contrib.auth import middleware
    from django.template import base

    # AuthenticationMiddleware's lazy request.user calls this module's get_user.
    middleware.get_user = timed_as(clock, "session and user", middleware.get_user)
    base.Template.render = timed_as(clock, "templates", base.Template.render)
    if "order_messages" in settings.INSTALLED_APPS:
        from order_messages.adapter import get_adapter

        adapter = type(get_adapter())
        for name in dir(adapter):
            method = getattr(adapter, name)
            if not name.startswith("_") and callable(method) and name != "to_order":
                setattr(adapter, name, timed_as(clock, "the store", method))


def measure(runs: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from .probe import client_for, system_probe

    probe = system_probe()
    clock = Clock()
    instrument(clock)

    def statement(execute, sql, params, many, context):
        clock.enter("database")
        try:
            return execute(sql, params, many, context)
        finally:
            clock.leave()

    if "postman" in settings.INSTALLED_APPS:
        from postman.models import Message
    else:
        from order_messages.models import Message
    messages = Message.objects.count()
    rows = []
    with connection.execute_wrapper(statement):
        for scenario in probe().scenarios:
            if scenario.together_with or scenario.name in SKIPPED:
                continue
            # The probe's last request: a poster its own timings left alone.
            send = client_for(scenario.requests[-1])
            for _ in range(3):  # warm: templates compiled, connection open
                send()
            parts, totals = defaultdict(list), []
            started = time.perf_counter()
            while len(totals) < runs and (len(totals) < 3 or time.perf_counter() - started < 30):
                clock.restart()
                began = time.perf_counter()
                send()
                totals.append((time.perf_counter() - began) * 1000)
                for part, ms in clock.restart().items():
                    parts[part].append(ms)
            rows.append(
                {
                    "scenario": scenario.name,
                    "runs": len(totals),
                    "p50_ms": statistics.median(totals),
                    "mean_ms": statistics.fmean(totals),
                    **{part: statistics.fmean(parts[part]) for part in PARTS},
                }
            )
    return {"messages": messages, "rows": rows}


def table(systems: dict[str, dict]) -> str:
    """Each scenario's parts for both systems, with the request's cost in floor requests
    (the mean over the floor scenario's mean, in the same system)."""
    lines = [
        "| scenario | system | p50 ms | mean ms | × floor | session and user | database "
        "| templates | the store | the rest |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = [row["scenario"] for row in next(iter(systems.values()))["rows"]]
    for name in names:
        for system, label in (("ours", "ours"), ("peer", "postman")):
            rows = systems[system]["rows"] if system in systems else []
            # The longest thread's length differs by the posts of earlier runs.
            row = next((r for r in rows if key(r["scenario"]) == key(name)), None)
            if row is None:
                continue
            floor = next(r for r in rows if r["scenario"] == "floor")["mean_ms"]
            mean = row["mean_ms"]
            cells = [
                f"{row[part]:.2f} ({row[part] / mean:.0%})" if row[part] else "—" for part in PARTS
            ]
            head = f"| {name} | {label} | {row['p50_ms']:.2f} | {mean:.2f} | {mean / floor:.2f} | "
            lines.append(head + " | ".join(cells) + " |")
    return "\n".join(lines)


# The targets in floor requests, and the parts no work on templates or Python removes: the
# session and user (the floor reads them too), the statements and the store's answers.
TARGETS = {
    "badge (vendor)": 1.2,
    "badge (customer)": 1.2,
    "Messages tab (customer)": 2.0,
    "inbox page 1 (vendor)": 2.0,
    "inbox page 1000 (vendor)": 2.0,
    "thread": 2.0,
}
FIXED = ("session and user", "database", "the store")


def reach(rows: list[dict]) -> str:
    """For each page with a target, in our system: the target in milliseconds, what its
    statements, the store and the session already take, and so what is left for the
    templates and the rest of the Python, against what they take now."""
    floor = next(r for r in rows if r["scenario"] == "floor")["mean_ms"]
    lines = [
        "| scenario | target | target ms | session, statements and store ms | left for "
        "templates and Python ms | templates and Python now ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        target = TARGETS.get(key(row["scenario"]))
        if target is None:
            continue
        budget = target * floor
        fixed = sum(row[part] for part in FIXED)
        left = budget - fixed
        python = row["templates"] + row["the rest"]
        shown = f"{left:.2f}" if left > 0 else f"none ({left:.2f})"
        lines.append(
            f"| {row['scenario']} | {target:g}× | {budget:.2f} | {fixed:.2f} | {shown} "
            f"| {python:.2f} |"
        )
    return "\n".join(lines)


def section() -> str:
    """Every scale measured (bench/results/breakdown-*.json), smallest first."""
    parts = []
    found = [json.loads(path.read_text()) for path in RESULTS.glob("breakdown-*.json")]
    for result in sorted(found, key=lambda r: r["ours"]["messages"]):
        ours, peer = result["ours"]["messages"], result["peer"]["messages"]
        parts.append(
            f"#### 10^{round(math.log10(max(1, ours)))} messages\n\n{table(result)}\n\n"
            f"{ours:,} messages (ours), {peer:,} (postman); up to {result['runs']} requests a "
            f"scenario after three to warm up; measured {result['measured']}.\n\n"
            "What the targets leave for the templates and the Python, ours (means, ms; the "
            "target is in floor requests, the floor's mean above):\n\n"
            f"{reach(result['ours']['rows'])}"
        )
    return "\n\n".join(parts)


def run_both(runs: int) -> dict[str, dict]:
    from .generate import OURS_URL, PEER_URL

    systems = {}
    for system, settings, env in (
        ("ours", "bench.settings", {"DATABASE_URL": OURS_URL}),
        ("peer", "bench.peer.settings", {"PEER_DATABASE_URL": PEER_URL}),
    ):
        output = subprocess.run(
            [sys.executable, "-m", "bench.breakdown", "--json", "--runs", str(runs)],
            env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings, "DEBUG": "0"},
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        systems[system] = json.loads(output.splitlines()[-1])
    return systems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="requests per scenario")
    parser.add_argument("--json", action="store_true", help="print this system's rows as JSON")
    parser.add_argument("--write", action="store_true", help="both systems, into BENCHMARKS.md")
    args = parser.parse_args()
    if args.write:
        from .markdown import write_section

        result = {**run_both(args.runs), "runs": args.runs, "measured": time.strftime("%Y-%m-%d")}
        # By scale (the nearest power of ten): each run's posts add a few messages.
        scale = 10 ** round(math.log10(max(1, result["ours"]["messages"])))
        path = RESULTS / f"breakdown-{scale}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        body = section()
        print(body)
        if not write_section(BENCHMARKS, START, END, body):
            raise SystemExit(f"{BENCHMARKS} has no {START} section")
        return
    measured = measure(args.runs)
    if args.json:
        print(json.dumps(measured))
    else:
        from django.conf import settings

        print(table({"peer" if "postman" in settings.INSTALLED_APPS else "ours": measured}))


if __name__ == "__main__":
    from .probe import run_in_ours_by_default

    run_in_ours_by_default(main)
