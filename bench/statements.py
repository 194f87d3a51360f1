"""Where one request's time goes, statement by statement: the benchmark's "post a message"
(or another scenario) sent through Django's test client in this process, with every SQL
statement timed where Django executes it (building aside: the time from handing the SQL
to the driver to having the rows). Run it in each system's settings on the generated data
(bench.generate):

    .venv/bin/python -m bench.statements                                  # ours
    DJANGO_SETTINGS_MODULE=bench.peer.settings .venv/bin/python -m bench.statements

Prints the request's p50, each statement's p50 and how often it runs per request, and
what is left: Python (middleware, view, forms, building statements, the driver's own
work) and the transaction's BEGIN and COMMIT, which Django sends outside the statement
hooks.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="post a message")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from .probe import client_for, system_probe

    probe = system_probe()
    scenario = next(s for s in probe().scenarios if s.name == args.scenario)
    send = client_for(scenario.requests[-1])  # a poster the probe's own timings left alone
    send()

    times: dict[str, list[float]] = defaultdict(list)

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            label = " ".join(sql.split(" WHERE ")[0].split()[:6])[:80]
            times[label].append((time.perf_counter() - started) * 1000)

    totals = []
    with connection.execute_wrapper(timed):
        for _ in range(args.runs):
            started = time.perf_counter()
            send()
            totals.append((time.perf_counter() - started) * 1000)
    request = statistics.median(totals)
    in_statements = 0.0
    print(f"{settings.SETTINGS_MODULE}: {args.scenario}, {args.runs} requests")
    print(f"request p50 {request:.2f} ms")
    for label, samples in times.items():
        per_request = len(samples) / args.runs
        p50 = statistics.median(samples)
        in_statements += p50 * per_request
        print(f"  {p50:6.3f} ms × {per_request:g}  {label}")
    print(f"statements {in_statements:.2f} ms, the rest {request - in_statements:.2f} ms")


if __name__ == "__main__":
    from .probe import run_in_ours_by_default

    run_in_ours_by_default(main)
