"""How many notification e-mails per second the worker delivers to a local SMTP server.

    .venv/bin/python bench/worker_throughput.py [--emails 2000] [--workers 1] [--batch 100]
        [--profile /tmp/worker.prof]

Uses its own database (DATABASE_URL, default a fresh SQLite file in /tmp) and the
benchmark's settings (``bench.settings``: DEBUG off, as a production worker runs). Fills
the outbox through the real posting action (one e-mail per conversation and recipient),
starts an aiosmtpd server on 127.0.0.1 in this process and times N worker *processes*
(--workers, each a process of its own as ``manage.py deliver_notifications`` is) calling
``deliver_due`` until the outbox is empty; their claims never overlap (SKIP LOCKED on
PostgreSQL, the write lock on SQLite). Checks that every e-mail arrived exactly once.

--profile writes each worker's cProfile statistics (PATH, PATH.2, … for more workers).
--no-server makes each e-mail's bytes as the SMTP backend would and keeps them, without a
mail server: the worker's own rate, without waiting for a server's replies.
--smtp-only sends one e-mail's bytes (a notification e-mail's size) N times from a process
of its own over one SMTP connection to the same server, with no worker: what the SMTP
exchange alone costs per e-mail, client and server on these cores.
--smtp-sink PATH sends to Postfix's smtp-sink (a mail server in C made for measuring SMTP
clients, in a process of its own, writing every e-mail to a file) instead of aiosmtpd (a
mail server in Python). Without installing Postfix:
    apt-get download postfix && dpkg-deb -x postfix_*.deb /tmp/postfix
    LD_LIBRARY_PATH=/tmp/postfix/usr/lib/postfix .venv/bin/python bench/worker_throughput.py \
        --smtp-sink /tmp/postfix/usr/sbin/smtp-sink
"""

import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--batch", type=int, default=100, help="rows a worker claims at once")
    parser.add_argument("--profile", help="write each worker's cProfile statistics here")
    parser.add_argument(
        "--no-server", action="store_true", help="serialise the e-mails, send them nowhere"
    )
    parser.add_argument(
        "--smtp-only", action="store_true", help="the SMTP exchange alone, without a worker"
    )
    parser.add_argument(
        "--smtp-sink", metavar="PATH", help="send to Postfix's smtp-sink instead of aiosmtpd"
    )
    args = parser.parse_args()
    if args.smtp_only:
        return smtp_only(args.emails, sink=args.smtp_sink)

    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/om-bench-worker.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if os.environ["DATABASE_URL"].startswith("sqlite:////tmp/"):
        for suffix in ("", "-wal", "-shm"):
            Path(os.environ["DATABASE_URL"][len("sqlite://") :] + suffix).unlink(missing_ok=True)

    if os.environ["DATABASE_URL"].startswith("postgres"):
        fresh_postgres_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone
    from tqdm import tqdm

    from order_messages.models import Notification

    received = []  # Message-IDs, in the order they arrived

    class Receive:
        async def handle_DATA(self, server, session, envelope):
            for line in envelope.original_content.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    received.append(line.split(b":", 1)[1].strip().decode())
                    break
                if not line:
                    break
            return "250 OK"

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    Notification.objects.all().delete()
    make_outbox(args.emails, tqdm)
    due = set(Notification.objects.values_list("message_id", flat=True))

    server = SmtpSink(args.smtp_sink) if args.smtp_sink else Aiosmtpd(Receive())
    later = timezone.now() + timedelta(days=2)
    connections.close_all()

    # Spawned, not forked: each worker starts as a fresh process, sets Django up and waits
    # at the barrier, so the timing starts when all of them are ready.
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(args.workers + 1)
    done = context.Queue()
    workers = [
        context.Process(
            target=work,
            kwargs={
                "port": server.port,
                "batch": args.batch,
                "now": later,
                "ready": ready,
                "done": done,
                "profile": profile_path(args.profile, number) if args.profile else None,
                "no_server": args.no_server,
            },
        )
        for number in range(1, args.workers + 1)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    per_worker = [done.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    server.stop()
    if args.smtp_sink:
        received = server.received
    if args.no_server:
        received = [message_id for _sent, _cpu, kept in per_worker for message_id in kept]

    sent = Notification.objects.filter(status="sent").count()
    cpu = sum(seconds for _sent, seconds, _kept in per_worker)
    print(
        f"server={'none' if args.no_server else server.name} "
        f"database={connection.vendor} workers={args.workers} (processes) batch={args.batch} "
        f"e-mails={sent} {'kept' if args.no_server else 'received'}={len(received)} "
        f"seconds={elapsed:.2f} "
        f"rate={sent / elapsed:.0f}/s sent-per-worker={[n for n, _cpu, _kept in per_worker]} "
        f"worker-cpu-ms-per-email={cpu * 1000 / max(sent, 1):.2f}"
    )
    if sent != args.emails or len(received) != sent or set(received) != due:
        sys.exit("not every e-mail was delivered exactly once")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Aiosmtpd:
    """aiosmtpd with ``handler`` on a free port of 127.0.0.1, in this process."""

    name = "aiosmtpd"

    def __init__(self, handler):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class SmtpSink:
    """Postfix's smtp-sink at ``path`` on a free port of 127.0.0.1, in a process of its
    own, appending every e-mail it accepts to a file; once stopped, ``received`` holds
    their Message-IDs in the order they arrived."""

    name = "smtp-sink"

    def __init__(self, path):
        found = shutil.which(path) or shutil.which(path, path="/usr/sbin:/usr/local/sbin")
        if found is None:
            sys.exit(f"smtp-sink not found: {path}")
        self.directory = Path(tempfile.mkdtemp(prefix="om-smtp-sink-"))
        self.directory.chmod(0o777)  # run as root, smtp-sink writes as nobody
        self.dump = self.directory / "dump"
        self.port = free_port()
        command = [found, "-D", str(self.dump)]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]
        self.process = subprocess.Popen([*command, f"127.0.0.1:{self.port}", "256"])
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit("smtp-sink did not start")
                time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.received = self._message_ids()
        shutil.rmtree(self.directory)

    def _message_ids(self):
        """Each e-mail in the file starts with the lines smtp-sink adds (X-Client-Addr
        first), then its own header lines."""
        received, in_header = [], False
        with open(self.dump, "rb") as dump:
            for line in dump:
                line = line.rstrip(b"\r\n")
                if line.startswith(b"X-Client-Addr:"):
                    in_header = True
                elif in_header and line.lower().startswith(b"message-id:"):
                    received.append(line.split(b":", 1)[1].strip().decode())
                    in_header = False
                elif not line:
                    in_header = False
        return received


def smtp_only(count, *, sink=None):
    """The SMTP exchange alone: ``count`` sends of one e-mail's bytes over one connection,
    from a process of its own (as a worker is) to aiosmtpd in this process, or to
    smtp-sink (``sink``: its path)."""

    class Receive:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    server = SmtpSink(sink) if sink else Aiosmtpd(Receive())
    port = server.port
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    sender = context.Process(target=send_alone, kwargs={"port": port, "count": count, "done": done})
    sender.start()
    seconds, cpu = done.get()
    sender.join()
    server.stop()
    print(
        f"server={server.name} smtp-only e-mails={count} seconds={seconds:.2f} "
        f"rate={count / seconds:.0f}/s "
        f"ms-per-email={seconds * 1000 / count:.3f} "
        f"client-cpu-ms-per-email={cpu * 1000 / count:.3f}"
    )


def send_alone(*, port, count, done):
    import smtplib

    # About the size of a notification e-mail with its text and HTML parts (4 KB).
    head = b"From: shop@marketplace.example\r\nTo: bob@bobs-bikes.example\r\nSubject: Hi\r\n"
    data = head + b"Message-ID: <om.x@marketplace.example>\r\n\r\n" + b"x" * 70 * 56
    data = data.replace(b"x" * 70, b"x" * 68 + b"\r\n")
    connection = smtplib.SMTP("127.0.0.1", port)
    for _warm in range(100):
        connection.sendmail("shop@marketplace.example", ["bob@bobs-bikes.example"], data)
    started, cpu = time.perf_counter(), time.process_time()
    for _n in range(count):
        connection.sendmail("shop@marketplace.example", ["bob@bobs-bikes.example"], data)
    done.put((time.perf_counter() - started, time.process_time() - cpu))
    connection.quit()


def profile_path(path, number):
    return path if number == 1 else f"{path}.{number}"


def work(*, port, batch, now, ready, done, profile, no_server):
    """One worker process: deliver until nothing is due, report how many it sent, its CPU
    time and (--no-server) the Message-IDs it kept."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from bench.worker_throughput import Kept
    from order_messages.notifications.worker import deliver_due

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    if no_server:
        settings.EMAIL_BACKEND = "bench.worker_throughput.Kept"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    warm_up()
    ready.wait()
    sent = 0
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    while True:
        report = deliver_due(limit=batch, now=now)
        sent += report.sent
        if not report.handled:
            break
    cpu = time.process_time() - cpu
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    connections.close_all()
    done.put((sent, cpu, Kept.message_ids))


def warm_up():
    """What a worker process does once, before its first e-mail, not per e-mail: import
    the URL configuration (the first ``reverse``), compile the e-mail templates, load the
    recipients' translations and the e-mail modules. Prepares one due e-mail and
    serialises it without sending or recording it (``prepare`` writes nothing)."""
    from order_messages.models import Notification
    from order_messages.notifications.email import prepare

    row = Notification.objects.select_related("conversation", "user").filter(status="pending")
    prepared = prepare(row.first())
    prepared.email.message().as_bytes(linesep="\r\n")


class Kept:
    """An e-mail backend that makes each e-mail's bytes as Django's SMTP backend does and
    keeps its Message-ID (--no-server)."""

    message_ids = []

    def __init__(self, **kwargs):
        pass

    def open(self):
        pass

    def close(self):
        pass

    def send_messages(self, email_messages):
        for email in email_messages:
            email.message().as_bytes(linesep="\r\n")
            Kept.message_ids.append(str(email.extra_headers["Message-ID"]))
        return len(email_messages)


def fresh_postgres_database(url):
    """Drop and create the benchmark's own database, so every run starts alike."""
    from urllib.parse import urlsplit

    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def make_outbox(count, tqdm):
    """``count`` due message e-mails: customers write to vendors about orders of the demo
    store (the worker asks the store, through the access policy, who may still be told)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from demo.store.models import Order, OrderItem, Product
    from order_messages.actions import post_message
    from order_messages.adapter import get_adapter
    from order_messages.models import Notification, Role
    from order_messages.queries import Actor

    User = get_user_model()
    alice = User.objects.get(username="alice")
    product = Product.objects.select_related("vendor").filter(vendor__slug="bobs-bikes").first()
    orders = Order.objects.bulk_create(
        Order(
            number=f"B{i}",
            customer=alice,
            email=alice.email,
            name="Alice Archer",
            placed_at=timezone.now(),
        )
        for i in range(count)
    )
    OrderItem.objects.bulk_create(
        OrderItem(
            order=o, product=product, vendor=product.vendor, name=product.name, price=product.price
        )
        for o in orders
    )
    adapter = get_adapter()
    actor = Actor(alice, Role.CUSTOMER, "Alice Archer")
    for i in tqdm(range(count), desc="filling the outbox", unit="e-mail", mininterval=5):
        order = adapter.get_order(f"B{i}")
        bikes = order.sub_order("bobs-bikes")
        post_message(order=order, sub_order=bikes, actor=actor, body=f"Question {i} about my order")
    Notification.objects.update(due_at=timezone.now())


if __name__ == "__main__":
    main()
