"""Scenarios against the floor, taken in turn: one floor request, then one of each named
scenario, round after round, in-process through Django's test client. On a shared machine
whose speed drifts from one minute to the next, both sides of each ratio see the same
minutes, which timing one scenario after another does not give.

    .venv/bin/python -m bench.interleaved badge               # every scenario naming "badge"
    .venv/bin/python -m bench.interleaved badge "page floor" --rounds 800

Prints each scenario's median and its ratio to the floor's median.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="part of a scenario's name")
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from .probe import client_for, system_probe

    probe = system_probe()
    scenarios = {s.name: s for s in probe().scenarios if not s.together_with}
    names = ["floor"] + [
        name for name in scenarios if name != "floor" and any(n in name for n in args.names)
    ]
    sends = {name: client_for(scenarios[name].requests[-1]) for name in names}
    for send in sends.values():
        send()  # warm
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.rounds):
        for name, send in sends.items():
            started = time.perf_counter()
            send()
            times[name].append((time.perf_counter() - started) * 1000)
    floor = statistics.median(times["floor"])
    print(f"{settings.SETTINGS_MODULE}: {args.rounds} rounds")
    for name in names:
        median = statistics.median(times[name])
        print(f"  {name:32} {median:7.2f} ms  {median / floor:5.2f}× the floor")


if __name__ == "__main__":
    from .probe import run_in_ours_by_default

    run_in_ours_by_default(main)
