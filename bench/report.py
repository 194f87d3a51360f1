"""The marketplace benchmark's tables, targets and plot, from bench/results/*.json, written
between the markers in BENCHMARKS.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .shape import FIRST_CUSTOMER_USER

STAFF_USERS = FIRST_CUSTOMER_USER - 1  # the store's and the vendors' accounts
START, END = "<!-- marketplace:start -->", "<!-- marketplace:end -->"
PLOTTED = ["badge (vendor)", "inbox page 1 (vendor)", "inbox page 1000 (vendor)", "thread"]
READS = ["Messages tab (customer)", "inbox page 1 (vendor)", "inbox page 1000 (vendor)", "thread"]


def load(results: Path) -> list[dict]:
    runs = [json.loads(p.read_text()) for p in results.glob("marketplace-*.json")]
    return sorted(runs, key=lambda r: r["messages"])


def key(name: str) -> str:
    """Scenario names with the thread's length folded away (it is the same in both)."""
    return "thread" if name.startswith("thread of") else name


def scenarios(run: dict, system: str) -> dict[str, dict]:
    return {key(s["name"]): s for s in run["systems"][system]["scenarios"]}


def in_process(run: dict, system: str) -> dict[str, dict]:
    return {key(k): v for k, v in run["systems"][system]["in_process"].items()}


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def floor_cost(s: dict, floor: dict) -> float:
    """How many floor requests one request of the scenario costs (throughput ratio)."""
    return ratio(floor["http"]["rps"], s["http"]["rps"])


def messages_label(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"10^{exponent}" if n == 10**exponent else f"{n:,}"


def latency(figures: dict, key: str, seconds) -> str:
    """A latency cell; none when no request finished within the run (it still counts)."""
    if not figures["requests"]:
        return f"> {seconds} s"
    return f"{figures[key]:.1f}"


def speedup(ours: dict, peer: dict, seconds, connections: int) -> str:
    """Our throughput over postman's. Where no postman request finished within the run,
    its throughput was below ``connections / seconds``: a lower bound."""
    if not peer["requests"]:
        return f"> {ours['rps'] * seconds / connections:,.0f}×"
    return f"{ours['rps'] / peer['rps']:,.2f}×"


def http_table(run: dict) -> list[str]:
    seconds = run["seconds_per_scenario"]
    ours, peer = scenarios(run, "ours"), scenarios(run, "peer")
    lines = [
        "| scenario | clients | ours req/s | p50 ms | p99 ms | × floor | queries "
        "| postman req/s | p50 ms | p99 ms | × floor | queries | ours faster by |",
        "| --- |" + " ---: |" * 12,
    ]
    for name, s in ours.items():
        h = s["http"]
        row = [
            name + (f" ({s['note']})" if s["note"] else ""),
            str(s["connections"]),
            f"{h['rps']:,.0f}",
            latency(h, "p50_ms", seconds),
            latency(h, "p99_ms", seconds),
            f"{floor_cost(s, ours['floor']):.2f}",
            str(s["queries"]),
        ]
        p = peer.get(name)
        if p is not None:
            ph = p["http"]
            row += [
                f"{ph['rps']:,.1f}",
                latency(ph, "p50_ms", seconds),
                latency(ph, "p99_ms", seconds),
                f"{floor_cost(p, peer['floor']):.2f}",
                str(p["queries"]),
                speedup(h, ph, seconds, p["connections"]) if name != "floor" else "",
            ]
        else:
            row += ["—"] * 6
        lines.append("| " + " | ".join(row) + " |")
    return lines


def in_process_table(runs: list[dict]) -> list[str]:
    head = "| query | " + " | ".join(
        f"{messages_label(r['messages'])} ours | postman | ×" for r in runs
    )
    lines = [head + " |", "| --- |" + " ---: | ---: | ---: |" * len(runs)]
    names = list(in_process(runs[-1], "ours"))
    for name in names:
        row = [name]
        for r in runs:
            o = in_process(r, "ours").get(name)
            p = in_process(r, "peer").get(name)
            row.append(f"{o['p50_ms']:.2f}" if o else "—")
            row.append(f"{p['p50_ms']:.2f}" if p else "—")
            row.append(f"{p['p50_ms'] / o['p50_ms']:,.0f}" if o and p else "")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def request_cost(s: dict, floor: dict) -> float | None:
    """How many floor requests one request costs in-process (ratio of p50s), or None where
    the run did not time whole requests in-process."""
    if not s.get("request") or not floor.get("request"):
        return None
    return ratio(s["request"]["p50_ms"], floor["request"]["p50_ms"])


def requests_table(runs: list[dict]) -> list[str]:
    """Whole requests in-process: each page and the post through Django's test client
    (middleware, session, view, templates; no server, no network), against each system's
    own floor view."""
    lines = [
        "| messages | scenario | ours p50 ms | ours p99 ms | × floor | postman p50 ms "
        "| postman p99 ms | × floor | ours faster by |",
        "| --- | --- |" + " ---: |" * 7,
    ]
    for run in runs:
        ours, peer = scenarios(run, "ours"), scenarios(run, "peer")
        for name, s in ours.items():
            if not s.get("request"):
                continue
            row = [messages_label(run["messages"]), name]
            row += cells(s, ours["floor"])
            p = peer.get(name)
            if p and p.get("request"):
                row += cells(p, peer["floor"])
                faster = ratio(p["request"]["p50_ms"], s["request"]["p50_ms"])
                row.append(f"{faster:,.2f}×" if name != "floor" else "")
            else:
                row += ["—"] * 4
            lines.append("| " + " | ".join(row) + " |")
    return lines


def cells(s: dict, floor: dict) -> list[str]:
    r = s["request"]
    return [f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{request_cost(s, floor):.2f}"]


def loads_table(runs: list[dict]) -> list[str]:
    lines = [
        "| messages | conversations | participants | customers | load, ours | load, postman |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        ours, peer = run["loaded"]["ours"], run["loaded"]["peer"]
        customers = ours["users"] - STAFF_USERS
        lines.append(
            f"| {ours['messages']:,} | {ours['conversations']:,} | {ours['participants']:,} "
            f"| {customers:,} | {ours['seconds']:,.1f} s | {peer['seconds']:,.1f} s |"
        )
    return lines


def targets(runs: list[dict]) -> list[str]:
    """The issue's targets, each met or missed by the figures above."""
    first, last = runs[0], runs[-1]
    rows = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    costs = [
        floor_cost(scenarios(r, "ours")["badge (vendor)"], scenarios(r, "ours")["floor"])
        for r in runs
    ]
    rows.append(
        ("badge within 1.2× the floor", ", ".join(f"{c:.2f}×" for c in costs), max(costs) <= 1.2)
    )
    growth = (
        scenarios(last, "ours")["badge (vendor)"]["http"]["p50_ms"]
        / scenarios(first, "ours")["badge (vendor)"]["http"]["p50_ms"]
    )
    span = f"{messages_label(first['messages'])} → {messages_label(last['messages'])}"
    rows.append((f"badge flat ({span}, ≤ 1.3×)", f"p50 grew {growth:.2f}×", growth <= 1.3))
    worst = max(
        (floor_cost(scenarios(r, "ours")[n], scenarios(r, "ours")["floor"]), n, r["messages"])
        for r in runs
        for n in READS
    )
    rows.append(
        (
            "inbox and thread pages within 2× the floor (HTTP)",
            f"worst {worst[0]:.2f}× ({worst[1]}, {messages_label(worst[2])})",
            worst[0] <= 2,
        )
    )
    timed = [r for r in runs if scenarios(r, "ours")["floor"].get("request")]
    if timed:
        worst = max(
            (request_cost(scenarios(r, "ours")[n], scenarios(r, "ours")["floor"]), n, r["messages"])
            for r in timed
            for n in READS
        )
        page_floor = max(
            request_cost(scenarios(r, "ours")["page floor"], scenarios(r, "ours")["floor"])
            for r in timed
        )
        rows.append(
            (
                "inbox and thread pages within 2× the floor (in-process)",
                f"worst {worst[0]:.2f}× ({worst[1]}, {messages_label(worst[2])}); "
                f"the page floor alone {page_floor:.2f}×",
                worst[0] <= 2,
            )
        )
    counts = {n: {scenarios(r, "ours")[n]["queries"] for r in runs} for n in READS}
    constant = all(len(c) == 1 for c in counts.values())
    rows.append(
        (
            "constant query count at any depth and size",
            ", ".join(f"{n}: {sorted(c)}" for n, c in counts.items()),
            constant,
        )
    )
    post = scenarios(last, "ours")["post a message"]["http"]
    rows.append(
        (
            "posting ≥ 500/s, p99 < 100 ms, 32 clients",
            f"{post['rps']:,.0f}/s, p99 {post['p99_ms']:.0f} ms",
            post["rps"] >= 500 and post["p99_ms"] < 100,
        )
    )
    label = messages_label(last["messages"])
    o, p = in_process(last, "ours"), in_process(last, "peer")
    badge = p["badge (vendor)"]["p50_ms"] / o["badge (vendor)"]["p50_ms"]
    oh, ph = scenarios(last, "ours"), scenarios(last, "peer")
    seconds = last["seconds_per_scenario"]

    def over_http(name: str) -> str:
        return speedup(oh[name]["http"], ph[name]["http"], seconds, ph[name]["connections"])

    badge_http = over_http("badge (vendor)")
    rows.append(
        (
            f"unread count ≥ 100× postman at {label}",
            f"{badge:,.0f}× in-process, {badge_http} over HTTP",
            badge >= 100,
        )
    )
    inbox = min(
        p[n]["p50_ms"] / o[n]["p50_ms"]
        for n in ("inbox page 1 (vendor)", "inbox page 1000 (vendor)")
    )
    inbox_http = ", ".join(
        over_http(n) for n in ("inbox page 1 (vendor)", "inbox page 1000 (vendor)")
    )
    rows.append(
        (
            f"inbox ≥ 10× postman at {label}",
            f"at least {inbox:,.0f}× in-process; pages 1 and 1000: {inbox_http} over HTTP",
            inbox >= 10,
        )
    )
    send = min(
        ratio(
            scenarios(r, "ours")["post a message"]["http"]["rps"],
            scenarios(r, "peer")["post a message"]["http"]["rps"],
        )
        for r in runs
    )
    rows.append(
        ("never slower than postman on send (HTTP)", f"worst {send:.2f}× its throughput", send >= 1)
    )
    if timed:
        send = min(
            ratio(
                scenarios(r, "peer")["post a message"]["request"]["p50_ms"],
                scenarios(r, "ours")["post a message"]["request"]["p50_ms"],
            )
            for r in timed
        )
        rows.append(
            (
                "never slower than postman on send (in-process)",
                f"worst {send:.2f}× its speed",
                send >= 1,
            )
        )
    lines = ["| target | measured | |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {verdict(ok)} |" for t, m, ok in rows]
    return lines


def plot(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["messages"] for r in runs]
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), constrained_layout=True)
    colours = dict(zip(PLOTTED, ["tab:blue", "tab:orange", "tab:green", "tab:red"], strict=True))
    for axis, (title, read) in zip(
        axes[:2],
        [
            ("Through HTTP (p50, uvicorn + wrk)", lambda r, s, n: scenarios(r, s)[n]["http"]),
            ("Query level (p50, in-process)", lambda r, s, n: in_process(r, s)[n]),
        ],
        strict=True,
    ):
        for name in PLOTTED:
            for system, style, label in (
                ("ours", "-o", "order-messages"),
                ("peer", "--s", "postman"),
            ):
                # A run in which no request finished has no latency to plot.
                values = [read(r, system, name)["p50_ms"] or float("nan") for r in runs]
                axis.plot(sizes, values, style, color=colours[name], label=f"{label}: {name}")
        if "HTTP" in title:
            floor = [scenarios(r, "ours")["floor"]["http"]["p50_ms"] for r in runs]
            (line,) = axis.plot(sizes, floor, ":", color="grey", label="framework floor")
            axis.legend(handles=[line], fontsize=7, loc="upper left")
            axis.text(
                0.99, 0.01, "a missing point: no request finished within the run",
                transform=axis.transAxes, ha="right", va="bottom", fontsize=7, color="grey",
            )  # fmt: skip
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("messages in the database")
        axis.set_ylabel("latency, ms")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=7, loc="upper left")
    plot_costs(axes[2], runs, sizes)
    fig.suptitle("django-order-messages vs django-postman: latency and cost against data size")
    fig.savefig(path, dpi=110)
    plt.close(fig)


# Posting as well as reading, each system against its own floor: the run's load cancels out.
COSTED = {
    "post a message": "tab:purple",
    "thread": "tab:red",
    "inbox page 1 (vendor)": "tab:orange",
}


def plot_costs(axis, runs: list[dict], sizes: list[int]) -> None:
    """Requests of the floor one request costs, through HTTP, for ours and postman's."""
    for name, colour in COSTED.items():
        for system, style, label in (("ours", "-o", "order-messages"), ("peer", "--s", "postman")):
            values = []
            for run in runs:
                found = scenarios(run, system)
                cost = floor_cost(found[name], found["floor"]) if name in found else None
                values.append(cost if cost not in (None, float("inf")) else float("nan"))
            axis.plot(sizes, values, style, color=colour, label=f"{label}: {name}")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("messages in the database")
    axis.set_ylabel("× the framework floor (HTTP)")
    axis.set_title("Cost of a request against the floor (posting and reading)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, loc="upper left")


def write(results: Path, benchmarks: Path) -> None:
    runs = load(results)
    if not runs:
        raise SystemExit("no results in bench/results/: run the benchmark first")
    plot(runs, results / "latency.png")
    lines = [START, ""]
    lines += ["### Data loaded (COPY, indexes rebuilt after)", "", *loads_table(runs), ""]
    lines += ["### Targets", "", *targets(runs), ""]
    if any(scenarios(r, "ours")["floor"].get("request") for r in runs):
        lines += [
            "### Whole requests in-process (Django's test client, against each floor view)",
            "",
            *requests_table(runs),
            "",
        ]
    lines += ["### Query level (p50 ms, in-process, the functions the pages call)", ""]
    lines += [*in_process_table(runs), ""]
    for run in reversed(runs):
        lines += [
            f"### {run['messages']:,} messages through HTTP "
            f"({run['seconds_per_scenario']} s per scenario)",
            "",
            *http_table(run),
            "",
        ]
    lines += ["![latency against data size](bench/results/latency.png)", "", END]
    text = benchmarks.read_text()
    section = "\n".join(lines)
    if START in text:
        text = re.sub(
            re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    benchmarks.write_text(text)
    print(f"wrote {benchmarks} and {results / 'latency.png'}")
