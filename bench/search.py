"""The back office's search at 10^4 and 10^6 messages (10^7 with ``--scales``): what a
search costs Vendor 01 (a third of all conversations) and the store's staff, with a word
found in many messages, a rare word and a word found nowhere.

    .venv/bin/python -m bench.search                             # 10^4 and 10^6 messages
    .venv/bin/python -m bench.search --scales 10000000           # one scale
    .venv/bin/python -m bench.search --report-only               # the table again

For each scale: the marketplace of bench.generate (ours only) in its own database
(BENCH_SEARCH_URL), vacuumed and analysed as autovacuum soon would, plus six messages with
the rare word (three of Vendor 01's conversations, three of others'), posted after the
load as a site would post them. Then, in the benchmark's settings, for each person and
word: the query function the back-office page calls (``queries.backoffice_page``) and the
whole page through Django's test client, p50 and p99 ms; the page's queries counted; and
EXPLAIN ANALYZE of the function's queries. At 10^4 the same data is copied into SQLite
and measured there too. Results go to bench/results/search-*.json and the table between
the search markers in BENCHMARKS.md; ``--label before`` files a run as the figures of the
code measured before the full-text index.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from bench.markdown import write_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("results")
URL = os.environ.get("BENCH_SEARCH_URL", "postgres://postgres@127.0.0.1:5432/om_bench_search")
SQLITE_PATH = Path("/tmp/om-bench-search.sqlite3")
SETTINGS = "bench.settings"
START, END = "<!-- search:start -->", "<!-- search:end -->"
# A word in one message of twelve, one in six messages only, and one in none.
WORDS = {"hit": "refund", "rare hit": "kaleidoscope", "no hit": "zyzzyva"}
RARE_BODY = "The kaleidoscope in the parcel was scratched, can you send another one?"
PEOPLE = {"Vendor 01": "vendor01", "store staff": "admin"}
# Each measurement: about this many seconds, and at least this many runs.
SECONDS, RUNS = 1.0, 5
# The tables bench.generate loads, copied into SQLite in this order.
TABLES = [
    "auth_user", "store_vendor", "store_vendor_staff", "store_product", "store_order",
    "store_orderitem", "order_messages_dispute", "order_messages_conversation",
    "order_messages_participant", "order_messages_unreadcounter", "order_messages_message",
]  # fmt: skip


def django_env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS, "DEBUG": "0"}


# -- in the benchmark's settings ----------------------------------------------------------------


def post_rare_messages() -> None:
    """Six messages with the rare word, once per database: three in Vendor 01's
    conversations, three in other vendors'."""
    from django.db import transaction
    from django.db.models import F

    from order_messages.models import Conversation, Message

    if Message.objects.filter(body=RARE_BODY).exists():
        return
    chosen = [
        *Conversation.objects.filter(vendor_key="v01").order_by("pk")[:3],
        *Conversation.objects.exclude(vendor_key="v01").order_by("pk")[:3],
    ]
    with transaction.atomic():
        for conversation in chosen:
            Conversation.objects.filter(pk=conversation.pk).update(last_seq=F("last_seq") + 1)
            conversation.refresh_from_db(fields=["last_seq"])
            Message.objects.create(
                conversation=conversation,
                seq=conversation.last_seq,
                author_role="customer",
                author_name=conversation.customer_name,
                author_id=conversation.customer_id,
                body=RARE_BODY,
            )


def explain(captured: list[dict]) -> dict:
    """EXPLAIN ANALYZE of each query run: the database's own milliseconds and the plan."""
    from django.db import connection

    plans, total = [], 0.0
    with connection.cursor() as cursor:
        for query in captured:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if connection.vendor == "postgresql":
                cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {sql}")
                lines = [row[0] for row in cursor.fetchall()]
                took = sum(
                    float(m.group(1))
                    for line in lines
                    if (m := re.match(r"\s*(?:Planning|Execution) Time: ([\d.]+) ms", line))
                )
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                lines = [row[-1] for row in cursor.fetchall()]
                took = None
            plans.append({"sql": sql[:2000], "plan": lines, "ms": took})
            total += took or 0
    timed_here = plans and connection.vendor == "postgresql"
    return {"queries": plans, "database_ms": round(total, 2) if timed_here else None}


def summary(plans: list[dict]) -> str:
    """The plan in a few words: the scans each query does, which index they use."""
    scans = []
    for query in plans:
        for line in query["plan"]:
            found = re.search(
                r"((?:Parallel )?(?:Bitmap Index|Index Only|Index|Seq|Bitmap Heap) Scan"
                r"(?: Backward)?(?: using \S+)? on \S+|SCAN \S+(?: VIRTUAL TABLE INDEX \S+)?"
                r"|SEARCH \S+ USING (?:COVERING |INTEGER PRIMARY KEY |)(?:INDEX \S+)?)",
                line,
            )
            if found and found.group(1) not in scans:
                scans.append(found.group(1))
    return "; ".join(scans)


def probe():
    """The measurements of one database, printed as one JSON document."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from order_messages import queries
    from order_messages.models import Conversation, Message

    from .probe import Request, count_queries, login, time_request, timed

    post_rare_messages()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    User = get_user_model()
    rows = []
    for who, username in PEOPLE.items():
        user = User.objects.get(username=username)
        scope = queries.access_backoffice(user=user)
        cookie, _ = login(user)
        for kind, word in WORDS.items():
            page = queries.backoffice_page(scope=scope, search=word)
            with CaptureQueriesContext(connection) as captured:
                queries.backoffice_page(scope=scope, search=word)
            plans = explain(captured.captured_queries)
            request = Request("GET", f"/messages/?q={word}", cookie)
            rows.append(
                {
                    "who": who,
                    "search": kind,
                    "word": word,
                    "shown": len(page.rows),
                    "function": timed(
                        lambda s=scope, w=word: queries.backoffice_page(scope=s, search=w).rows,
                        budget=SECONDS,
                        least=RUNS,
                    ),
                    "page": time_request(request, budget=SECONDS, least=RUNS),
                    "queries": count_queries(request),
                    "function_queries": len(captured.captured_queries),
                    "database_ms": plans["database_ms"],
                    "plan": summary(plans["queries"]),
                    "plans": plans["queries"],
                }
            )
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "messages": Message.objects.count(),
                "conversations": Conversation.objects.count(),
                "rows": rows,
            }
        )
    )


# -- the driver ---------------------------------------------------------------------------------


def run_probe(url: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.search", "--probe"],
        cwd=ROOT,
        env=django_env(url),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


def sqlite_value(value):
    if isinstance(value, datetime):
        # As Django stores an aware datetime in SQLite: naive UTC.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def copy_to_sqlite(url: str) -> float:
    """The loaded PostgreSQL data into a freshly migrated SQLite database (its triggers
    index the messages as they arrive); returns the seconds it took."""
    import sqlite3

    from .bulk import connect

    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    sqlite_url = f"sqlite:///{SQLITE_PATH}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=django_env(sqlite_url),
        check=True,
    )
    started = time.perf_counter()
    target = sqlite3.connect(SQLITE_PATH)
    with connect(url) as source:
        for table in TABLES:
            cursor = source.execute(f"SELECT * FROM {table}")
            columns = [c.name for c in cursor.description]
            insert = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            target.executemany(insert, ([sqlite_value(v) for v in row] for row in cursor))
    target.commit()
    target.execute("ANALYZE")
    target.close()
    return round(time.perf_counter() - started, 1)


def measure(messages: int) -> list[dict]:
    from .bulk import connect
    from .generate import load_ours
    from .shape import make_shape

    shape = make_shape(messages=messages, end=int(time.time()), seed=1)
    print(f"search: loading {messages:,} messages", flush=True)
    loaded = load_ours(shape, URL)
    with connect(URL) as db:
        db.execute("VACUUM ANALYZE")
    print(f"search: loaded in {loaded['seconds']} s; probing PostgreSQL", flush=True)
    runs = [{**run_probe(URL), "loaded": loaded, "measured_on": time.strftime("%Y-%m-%d")}]
    if messages <= 100_000:
        print("search: copying into SQLite", flush=True)
        copied = copy_to_sqlite(URL)
        runs.append(
            {
                **run_probe(f"sqlite:///{SQLITE_PATH}"),
                "loaded": {**loaded, "seconds": copied},
                "measured_on": time.strftime("%Y-%m-%d"),
            }
        )
    return runs


def label(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"10^{exponent}" if n == 10**exponent else f"{n:,}"


def scale(n: int) -> str:
    """The generated scale a database holds (it has the six rare messages more)."""
    return label(round(n, -(len(str(n)) - 2)))


DATABASE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


def table(runs: list[dict]) -> str:
    lines = [
        "| messages | database | code | who | search | shown | queries (page) "
        "| function p50 ms | function p99 ms | page p50 ms | page p99 ms | EXPLAIN ANALYZE ms "
        "| plan |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        for row in run["rows"]:
            f, p = row["function"], row["page"]
            cells = [
                scale(run["messages"]),
                DATABASE_NAMES[run["database"]],
                run["label"],
                row["who"],
                f"{row['search']} ({row['word']})",
                str(row["shown"]),
                str(row["queries"]),
                f"{f['p50_ms']:.2f}",
                f"{f['p99_ms']:.2f}",
                f"{p['p50_ms']:.2f}",
                f"{p['p99_ms']:.2f}",
                f"{row['database_ms']:.2f}" if run["database"] == "postgresql" else "—",
                row["plan"].replace("|", "/") or "—",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for run in runs:
        function_runs = [r["function"]["runs"] for r in run["rows"]]
        lines.append(
            f"- {scale(run['messages'])}, {DATABASE_NAMES[run['database']]}, {run['label']}: "
            f"{run['messages']:,} messages in {run['conversations']:,} conversations, "
            f"measured {run['measured_on']}, {min(function_runs):,} to "
            f"{max(function_runs):,} runs per function."
        )
    return "\n".join(lines)


def write_report() -> None:
    runs = [json.loads(p.read_text()) for p in RESULTS.glob("search-*.json")]
    if not runs:
        return
    order = {"before": 0, "after": 1}
    runs.sort(key=lambda r: (r["messages"], r["database"] != "postgresql", order[r["label"]]))
    write_section(ROOT / "BENCHMARKS.md", START, END, table(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="10000,1000000", help="comma-separated messages")
    parser.add_argument(
        "--label",
        choices=["before", "after"],
        default="after",
        help="file the run as the code before the full-text index, or after (the default)",
    )
    parser.add_argument("--report-only", action="store_true", help="redo the table")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe()
        return
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        for messages in (int(float(s)) for s in args.scales.split(",")):
            for run in measure(messages):
                run["label"] = args.label
                name = f"search-{args.label}-{run['database']}-{messages}.json"
                (RESULTS / name).write_text(json.dumps(run, indent=1))
    write_report()


if __name__ == "__main__":
    main()
