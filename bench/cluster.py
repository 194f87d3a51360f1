"""Two app processes and two notification workers against one PostgreSQL and one Redis.

    .venv/bin/python -m bench.cluster [--posts 200]

Generates a 10^4-message marketplace (bench.generate), starts two uvicorn processes on
two ports with REDIS_URL set and two ``deliver_notifications`` workers, then posts
messages as many customers, alternating between the two processes, while the top
vendor's live stream is open on the second one. Checks and prints: every post's live
event reached the stream (across processes through Redis), every post's e-mail was
delivered exactly once (no Message-ID twice), and how the two workers shared the work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg

from .load import free_port

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
DATABASE_URL = os.environ.get(
    "CLUSTER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/om_cluster"
)


def django_shell(code: str, env: dict) -> str:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()
    subprocess.run(
        [sys.executable, "-m", "bench.generate", "--messages", "10000", "--system", "ours"],
        cwd=ROOT,
        env={**os.environ, "BENCH_DATABASE_URL": DATABASE_URL},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "EMAIL_BATCH_DELAY": "1",
        "DEBUG": "0",
    }
    # Sessions for the top vendor and for one customer of each of its conversations.
    people = json.loads(
        django_shell(
            """
import json
from bench.probe import login
from django.contrib.auth import get_user_model
from order_messages.models import Conversation
User = get_user_model()
seen, posters = set(), []
for c in Conversation.objects.filter(vendor_key="v01", last_seq__lt=1000).order_by("pk"):
    if c.customer_id not in seen:
        seen.add(c.customer_id)
        cookie, csrf = login(User.objects.get(pk=c.customer_id))
        posters.append([f"/messages/orders/{c.order_number}/v01/", cookie, csrf])
print(json.dumps({"vendor": login(User.objects.get(username="vendor01"))[0], "posters": posters}))
""",
            env,
        ).splitlines()[-1]
    )
    ports = [free_port(), free_port()]
    apps = [
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "demo.asgi:application", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "deliver_notifications", "--interval", "0.2", "-v2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{base}/accounts/login/", timeout=5).read()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"{base} did not start"
                    time.sleep(0.2)

        events: list[dict] = []
        stream_open = threading.Event()

        def listen():
            request = urllib.request.Request(
                f"{bases[1]}/messages/live/", headers={"Cookie": people["vendor"]}
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                stream_open.set()
                kind = None
                for raw in response:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and kind == "message.posted":
                        events.append(json.loads(line.split(":", 1)[1]))
                        if len(events) >= posted:
                            return

        posters = (people["posters"] * (args.posts // len(people["posters"]) + 1))[: args.posts]
        posted = len(posters)
        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        stream_open.wait(10)
        time.sleep(0.5)
        started = time.perf_counter()
        per_app = Counter()
        for i, (path, cookie, csrf) in enumerate(posters):
            base = bases[i % 2]
            body = urllib.parse.urlencode({"body": f"Cluster message {i}"}).encode()
            request = urllib.request.Request(
                base + path,
                data=body,
                headers={"Cookie": cookie, "X-CSRFToken": csrf},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200, response.status  # redirect followed
            per_app[base] += 1
        posting = time.perf_counter() - started
        listener.join(timeout=20)

        conversations = len({path for path, _, _ in posters})
        with psycopg.connect(DATABASE_URL) as db:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                left = db.execute(
                    "SELECT count(*) FROM order_messages_notification WHERE status <> 'sent'"
                ).fetchone()[0]
                if not left:
                    break
                time.sleep(0.5)
            sent = db.execute(
                "SELECT count(*) FROM order_messages_notification WHERE status = 'sent'"
            ).fetchone()[0]
            mails = db.execute("SELECT count(*), count(DISTINCT message_id) FROM store_demoemail")
            mails, distinct = mails.fetchone()
    finally:
        for process in apps + workers:
            process.terminate()
        for process in apps + workers:
            process.wait(timeout=20)
    logs = [w.stdout.read() for w in workers]
    shares = [
        sum(
            int(line.split()[1].rstrip(","))
            for line in log.splitlines()
            if line.startswith("sent ")
        )
        for log in logs
    ]

    print(f"app processes: {', '.join(bases)} (REDIS_URL={REDIS_URL}); workers: 2")
    print(
        f"posted {posted} messages in {posting:.1f} s "
        f"({', '.join(f'{n} through {b}' for b, n in per_app.items())})"
    )
    print(f"live events received on {bases[1]}: {len(events)} of {posted}")
    print(
        f"e-mails: {sent} notifications sent for {conversations} conversations, "
        f"{mails} e-mails in the mailbox, {distinct} distinct Message-IDs"
    )
    print(f"e-mails sent by each worker: {shares}")
    ok = (
        len(events) == posted
        and mails == distinct == sent == sum(shares)
        and sent >= conversations
        and all(shares)
    )
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
