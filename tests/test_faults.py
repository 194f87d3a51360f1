"""Faults (SPEC 9, issue 7): the mail server going away mid-batch and coming back, a worker
killed mid-batch, PostgreSQL restarting under load, Redis down and back. Each against real
servers and processes: aiosmtpd, ``manage.py deliver_notifications``, a private PostgreSQL
instance, a private redis-server, the demo under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection
from django.utils import timezone

from order_messages.actions import create_token
from order_messages.models import Message, Notification, Participant
from order_messages.notifications.worker import deliver_due
from tests.conftest import (
    assert_counters_exact,
    conversation_of,
    make_conversations,
    write_messages,
)
from tests.smtp import Handler, Received, SMTPServer, free_port
from tests.test_live import login

REPO = Path(__file__).resolve().parent.parent
Status = Notification.Status
ALICE, BOB = "alice@customers.example", "bob@bobs-bikes.example"
CAROL, DAVE = "carol@customers.example", "dave@daves-outdoor.example"
THREAD = "/messages/orders/1002/bobs-bikes/"
API_THREAD = "/api/v1/orders/1002/conversations/bobs-bikes/messages"
UNSENT = "SELECT count(*) FROM order_messages_notification WHERE status <> 'sent'"

pytestmark = pytest.mark.usefixtures("no_conversations")


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def smtp(smtp, settings):
    """The SMTP server (tests/conftest.py), with retries soon and many."""
    settings.ORDER_MESSAGES_EMAIL_RETRY_BASE = 30
    settings.ORDER_MESSAGES_EMAIL_MAX_ATTEMPTS = 8
    return smtp


def six_conversations(demo):
    """Three of Alice's with Bob's Bikes, three of Carol's with Dave's Outdoor."""
    return make_conversations(
        customer=demo["alice"], vendor_user=demo["bob"], count=3, start=9000
    ) + make_conversations(
        customer=demo["carol"],
        vendor_user=demo["dave"],
        count=3,
        start=9100,
        vendor=("daves-outdoor", "Dave's Outdoor"),
    )


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def run_manage(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def settings_env(directory: Path, *, database_url: str, **overrides) -> dict:
    """The environment of a subprocess running the demo with ``overrides`` on its settings
    (written as a module that extends demo.settings)."""
    lines = ["from demo.settings import *  # noqa: F403"]
    lines += [f"{name} = {value!r}" for name, value in overrides.items()]
    (directory / "fault_settings.py").write_text("\n".join(lines) + "\n")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(directory), str(REPO)]),
        "DJANGO_SETTINGS_MODULE": "fault_settings",
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.contextmanager
def database_for_subprocesses(directory: Path):
    """(DATABASE_URL, read): a URL under which other processes see this test's database,
    and ``read(sql)`` to look at it meanwhile. PostgreSQL's test database is shared as it
    is; SQLite's lives in this process's memory, so it is copied to a file for them and
    copied back afterwards. Meanwhile this process must not write to it."""
    if connection.vendor == "postgresql":
        params = connection.settings_dict
        auth = quote(params["USER"] or "postgres")
        if params["PASSWORD"]:
            auth += ":" + quote(params["PASSWORD"])
        host = params["HOST"] or "127.0.0.1"

        def read(sql: str) -> list[tuple]:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

        yield f"postgres://{auth}@{host}:{params['PORT'] or 5432}/{params['NAME']}", read
        return
    file = directory / "shared.sqlite3"
    connection.ensure_connection()
    with contextlib.closing(sqlite3.connect(file)) as target:
        connection.connection.backup(target)

    def read(sql: str) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(file, timeout=20)) as db:
            return db.execute(sql).fetchall()

    yield f"sqlite:///{file}", read
    with contextlib.closing(sqlite3.connect(file)) as source:
        source.backup(connection.connection)


def start_logged(command: list[str], *, env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)


def query(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as db:
        return db.execute(sql).fetchall()


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(interval)
    return result


# -- 1. the mail server goes away mid-batch and comes back --------------------------------------


class StopsTheServerAfter(SMTPBackend):
    """Django's SMTP backend; the server it talks to goes down after ``sent`` e-mails, in
    the middle of the worker's batch."""

    def __init__(self, server: SMTPServer, sent: int, **kwargs):
        super().__init__(**kwargs)
        self.server, self.left = server, sent

    def send_messages(self, email_messages):
        if self.left == 0:
            self.server.stop()
        self.left -= 1
        return super().send_messages(email_messages)


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_lost_mid_batch_loses_and_doubles_no_email(demo, smtp):
    """Six conversations, four recipients. The server stops after two e-mails of the first
    batch; the others fail and wait. Messages written while it is down join the waiting
    e-mails or start new ones. Once it is back, every message reaches each recipient in
    exactly one e-mail, and every e-mail arrives once."""
    conversations = six_conversations(demo)
    write_messages(conversations, text="Before the outage")
    at = timezone.now() + timedelta(days=1)  # past the batching delay

    report = deliver_due(now=at, connection=StopsTheServerAfter(smtp, 2))

    assert (report.sent, report.retrying, report.failed) == (2, 4, 0)
    assert not smtp.running and len(smtp.received) == 2

    write_messages(conversations, text="During the outage")
    write_messages(conversations[:3], text="Later in the outage")
    for hours in (2, 4):  # the worker keeps trying while the server is down
        report = deliver_due(now=at + timedelta(hours=hours))
        assert report.sent == 0 and report.retrying > 0 and report.failed == 0

    smtp.start()
    for hours in range(6, 30, 2):
        if not deliver_due(now=at + timedelta(hours=hours)).handled:
            break

    rows = Notification.objects.all()
    assert not rows.exclude(status__in=[Status.SENT, Status.SKIPPED]).exists()
    sent_ids = sorted(rows.filter(status=Status.SENT).values_list("message_id", flat=True))
    received_ids = smtp.message_ids()
    assert sorted(received_ids) == sent_ids  # each e-mail once, none missing
    assert len(set(received_ids)) == len(received_ids)
    checked = 0
    for participant in Participant.objects.filter(conversation__in=conversations):
        texts = [text_of(m) for m in smtp.messages(participant.user.email)]
        for body in (
            Message.objects.filter(conversation=participant.conversation, seq__gt=1)
            .exclude(author=participant.user)
            .values_list("body", flat=True)
        ):
            assert sum(body in text for text in texts) == 1, (participant, body)
            checked += 1
    assert checked == 6 + 6 + 3  # each message written has one reader
    assert {r.rcpt_tos[0] for r in smtp.received} == {ALICE, BOB, CAROL, DAVE}


# -- 2. a worker killed with SIGKILL mid-batch ---------------------------------------------------


class StallingHandler(Handler):
    """Accepts ``accept`` e-mails; keeps the next one but does not answer until released, as
    a server that has queued an e-mail when its client dies waiting for the "250"."""

    def __init__(self, accept: int):
        super().__init__()
        self.accept: int | None = accept
        self.released = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            stall = self.accept is not None and len(self.received) >= self.accept
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
        while stall and not self.released.is_set():
            await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_a_resent_email_keeps_its_id(demo, tmp_path):
    """Ten e-mails due; ``manage.py deliver_notifications`` has sent three and the server has
    taken the fourth but not yet answered when the worker is killed (SIGKILL). A new worker
    takes over once the dead one's claim lapses."""
    conversations = six_conversations(demo) + make_conversations(
        customer=demo["alice"], vendor_user=demo["bob"], count=4, start=9200
    )
    write_messages(conversations, text="Hello")
    Notification.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    planned = dict(Notification.objects.values_list("message_id", "email"))
    assert len(planned) == 10
    server = SMTPServer()
    server.handler = StallingHandler(accept=3)
    server.start()
    workers = []
    try:
        with database_for_subprocesses(tmp_path) as (database_url, read):
            env = settings_env(
                tmp_path,
                database_url=database_url,
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST=server.host,
                EMAIL_PORT=server.port,
                EMAIL_TIMEOUT=120,  # the stalled e-mail holds the worker until it is killed
                ORDER_MESSAGES_EMAIL_CLAIM_SECONDS=3,
            )
            command = [sys.executable, "manage.py", "deliver_notifications", "--interval", "0.2"]

            def start_worker():
                log = tmp_path / f"worker-{len(workers)}.log"
                workers.append(start_logged(command, env=env, log=log))
                return workers[-1]

            first = start_worker()
            wait_for(lambda: len(server.received) == 4, timeout=60, what="the fourth e-mail")
            in_flight = server.received[-1].message["Message-ID"]
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL

            server.handler.accept = None
            server.handler.released.set()
            start_worker()
            wait_for(lambda: read(UNSENT) == [(0,)], timeout=60, what="every e-mail to be sent")
            # Asked to stop, a worker finishes its round and records it before leaving.
            workers[-1].send_signal(signal.SIGTERM)
            assert workers[-1].wait(timeout=30) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        server.stop()

    copies = Counter(server.message_ids())
    assert set(copies) == set(planned)
    # At least once: the e-mail in flight at the kill may arrive twice, under one Message-ID
    # that mail servers and clients recognise; every other e-mail arrives exactly once.
    assert {mid: n for mid, n in copies.items() if n > 1} == {in_flight: 2}
    for received in server.received:
        assert received.rcpt_tos == (planned[received.message["Message-ID"]],)
    rows = Notification.objects.all()
    assert set(rows.values_list("status", flat=True)) == {Status.SENT}
    assert {r.email for r in rows} == {ALICE, BOB, CAROL, DAVE}


# -- 3. PostgreSQL restarted under load --------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian keeps them off the PATH)."""
    if initdb := shutil.which("initdb"):
        return Path(initdb).resolve().parent
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    return max(found, key=lambda p: float(p.parent.name), default=None)


class PrivatePostgres:
    """A PostgreSQL server of this test's own, on a free port, that it may stop and start.
    Run as the ``postgres`` user when the test runs as root (the server refuses root)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="om-faults-pg-"))
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str, check: bool = True) -> None:
        done = subprocess.run(
            [*self.as_owner, str(self.bindir / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode:
            pytest.fail(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def create(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self.run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast", *, check: bool = True) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=check)

    def remove(self) -> None:
        self.stop("immediate", check=False)  # it may not be running
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def private_postgres():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL's programs are needed (Debian: apt-get install postgresql)")
    server = PrivatePostgres(bindir)
    try:
        server.create()
        server.run("createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "shop")
        yield server
    finally:
        server.remove()


class Load:
    """Requests from a few threads until stopped: each answer is kept with the phase of
    the test in which its request was sent."""

    def __init__(self):
        self.lock = threading.Lock()
        self.phase = "up"
        self.stopping = threading.Event()
        self.answers: list[tuple[str, str, int | None, httpx.Response | None]] = []
        self.accepted: dict[str, list[str]] = {"api": [], "form": []}
        self.threads: list[threading.Thread] = []
        self.gave_up: list[str] = []

    def keep(self, kind, phase, response, error=None):
        with self.lock:
            status = response.status_code if response is not None else None
            self.answers.append((kind, phase, status, response if error is None else error))

    def request(self, kind, send, *args, **kwargs):
        phase = self.phase
        try:
            response = send(*args, **kwargs)
        except httpx.TransportError as error:
            self.keep(kind, phase, None, error)
            return None
        self.keep(kind, phase, response)
        return response

    def start(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def get(self, kind, client, path, language):
        while not self.stopping.is_set():
            self.request(kind, client.get, path, headers={"Accept-Language": language})
            time.sleep(0.05)

    def post_api(self, app):
        """Posts, each retried with its Idempotency-Key until it is accepted."""
        number = 0
        while not self.stopping.is_set():
            body, key = f"API post {number}", f"key-{number}"
            deadline = time.monotonic() + 120
            while True:
                response = self.request(
                    "api",
                    app.post,
                    API_THREAD,
                    json={"body": body},
                    headers={"Idempotency-Key": key},
                )
                if response is not None and response.status_code == 201:
                    self.accepted["api"].append(body)
                    break
                if response is not None and response.status_code != 503:
                    break  # kept among the answers, for the test to find
                if time.monotonic() > deadline:
                    self.gave_up.append(body)
                    return
                time.sleep(0.2)
            number += 1
            time.sleep(0.1)

    def post_form(self, client):
        """Posts through the page's form; one that is refused is not sent again."""
        number = 0
        while not self.stopping.is_set():
            body = f"Form post {number}"
            data = {"body": body, "csrfmiddlewaretoken": client.cookies["csrftoken"]}
            response = self.request("form", client.post, THREAD, data=data)
            if response is not None and response.status_code == 302:
                self.accepted["form"].append(body)
            number += 1
            time.sleep(0.1)

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=150)

    def of(self, *, phase: str | None = None):
        with self.lock:
            return [answer for answer in self.answers if phase in (None, answer[1])]


def wait_until_served(base: str, process: subprocess.Popen) -> None:
    def answers():
        assert process.poll() is None, "uvicorn exited"
        try:
            return httpx.get(f"{base}/accounts/login/", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(answers, timeout=30, what="uvicorn", interval=0.2)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="runs in the PostgreSQL pass: the connection pool is PostgreSQL's",
)
def test_postgresql_restarting_under_load_gives_503s_then_recovers_and_loses_no_post(
    private_postgres, smtp_server, tmp_path
):
    """The demo under uvicorn, with demo/settings.py's connection pool, and its
    notification worker, on a PostgreSQL of their own. While pages, the badge and posts
    through the form and the API keep coming, PostgreSQL stops for longer than the pool
    waits for a connection, then starts again. Neither process is restarted."""
    url = private_postgres.url("shop")
    smtp_server.start()  # another test may have stopped it
    smtp_server.reset()
    env = settings_env(
        tmp_path,
        database_url=url,
        ORDER_MESSAGES_POST_RATE_LIMIT=None,  # the load posts faster than a person may
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host,
        EMAIL_PORT=smtp_server.port,
        ORDER_MESSAGES_EMAIL_BATCH_DELAY=1,
        # What a worker had claimed when the database went away is sent by the next round.
        ORDER_MESSAGES_EMAIL_CLAIM_SECONDS=3,
    )
    run_manage("migrate", "--noinput", env=env)
    run_manage("seed_demo", "--no-history", env=env)
    token = run_manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        "from order_messages.actions import create_token;"
        "print(create_token(user=get_user_model().objects.get(username='bob'), name='Load')[1])",
        env=env,
    ).stdout.split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log, worker_log = tmp_path / "uvicorn.log", tmp_path / "worker.log"
    server = start_logged(
        [sys.executable, "-m", "uvicorn", "demo.asgi:application"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        env=env,
        log=server_log,
    )
    worker = start_logged(
        [sys.executable, "manage.py", "deliver_notifications", "--interval", "0.2"],
        env=env,
        log=worker_log,
    )
    load = Load()
    try:
        wait_until_served(base, server)
        # A request waits up to the pool's timeout for a connection while the database is
        # away; the clients wait longer than that.
        reader, badge, writer = (login(base, "alice") for _ in range(3))
        app = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        for client in (reader, badge, writer, app):
            client.timeout = httpx.Timeout(60)
        load.start(load.get, "page", reader, THREAD, "en")
        load.start(load.get, "badge", badge, "/messages/unread/", "de")
        load.start(load.post_api, app)
        load.start(load.post_form, writer)
        time.sleep(2)

        load.phase = "down"
        private_postgres.stop("fast")
        # Longer than the pool's timeout for a connection (10 s), twice over: each kind of
        # request is refused while the database is away.
        time.sleep(25)
        private_postgres.start()  # returns once it accepts connections
        load.phase = "back"

        def answered_since():
            return {k for k, *_ in load.of(phase="back")} == {"page", "badge", "api", "form"}

        wait_for(answered_since, timeout=60, what="an answer of each kind", interval=0.2)
        time.sleep(1)
        load.stop()
        # While both sides post and alice keeps reading, each message is read before its
        # e-mail is due, and is rightly not e-mailed. This one nobody reads: it is e-mailed.
        last = app.post(API_THREAD, json={"body": "After the load"})
        assert last.status_code == 201

        def outbox_drained():
            return not query(
                url,
                "SELECT 1 FROM order_messages_notification WHERE status IN ('pending', 'sending')",
            )

        wait_for(outbox_drained, timeout=90, what="the worker to send what was due", interval=0.5)
        worker_survived, server_survived = worker.poll() is None, server.poll() is None
    finally:
        load.stop()
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=20)

    assert server_survived and worker_survived  # they recovered by themselves
    assert not load.gave_up
    problems = [(k, p, r) for k, p, status, r in load.of() if status not in (200, 201, 302, 503)]
    assert not problems  # never a 500, never a dropped connection
    # While it was away, every kind of request was refused cleanly.
    assert {k for k, _p, status, _r in load.of(phase="down") if status == 503} == {
        "page",
        "badge",
        "api",
        "form",
    }
    # Once PostgreSQL is back, every request succeeds: the site recovered with it.
    back = load.of(phase="back")
    assert [(k, status) for k, _p, status, _r in back if status not in (200, 201, 302)] == []

    for kind, _phase, status, response in load.of():
        if status != 503:
            continue
        assert response.headers["Retry-After"] == "10"
        if kind == "api":
            error = response.json()["error"]
            assert error["code"] == "unavailable" and error["message"]
        else:
            assert response.headers["content-type"].startswith("text/html")
            heading = "Gleich wieder da" if kind == "badge" else "Back in a moment"
            assert heading in response.text and "Traceback" not in response.text
    assert "Traceback" not in server_log.read_text()

    bodies = Counter(body for (body,) in query(url, "SELECT body FROM order_messages_message"))
    for kind in ("api", "form"):
        assert load.accepted[kind], kind
        for body in load.accepted[kind]:
            assert bodies[body] == 1, body  # kept, and kept once
    run_manage("check_unread_counts", env=env)  # fails on any wrong count

    # The worker kept going: every e-mail it recorded as sent arrived, none failed, and
    # one it sent again (its record lost with the connection) kept its Message-ID.
    rows = query(url, "SELECT message_id, status FROM order_messages_notification")
    sent = {message_id for message_id, status in rows if status == "sent"}
    assert sent and not [r for r in rows if r[1] == "failed"]
    texts = [
        part.get_content()
        for message in smtp_server.messages()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    ]
    assert any("After the load" in text for text in texts)
    assert set(smtp_server.message_ids()) == sent


# -- 4. Redis down and back ------------------------------------------------------------------------


class RedisServer:
    """A private redis-server on a free port, without persistence: killed and started
    again, it has forgotten everything, as a restarted cache does."""

    def __init__(self, binary: str, directory: Path):
        self.binary, self.directory = binary, directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, what="redis-server to start", interval=0.1)

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is needed (Debian: apt-get install redis-server)")
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    server.kill()


def post_form(client: httpx.Client, *, text: str) -> httpx.Response:
    """Post through the conversation page's form, as a browser without JavaScript does."""
    client.get(THREAD)
    return client.post(
        THREAD, data={"body": text, "csrfmiddlewaretoken": client.cookies["csrftoken"]}
    )


def bodies_in_thread():
    return list(
        Message.objects.filter(conversation=conversation_of("1002", "bobs-bikes"))
        .order_by("seq")
        .values_list("body", flat=True)
    )


def read_stream(client, *, headers=None, timeout=10.0):
    """A stream that ends by itself: its status, type and whole text."""
    response = client.get("/messages/live/", headers=headers, timeout=timeout)
    return response.status_code, response.headers.get("content-type", ""), response.text


def test_with_redis_unreachable_posts_are_kept_and_the_stream_asks_to_come_back_later(
    asgi_server, demo, settings
):
    settings.ORDER_MESSAGES_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nobody there
    alice = login(asgi_server, "alice")
    _row, token = create_token(user=demo["bob"], name="Phone")
    app = httpx.Client(base_url=asgi_server, headers={"Authorization": f"Bearer {token}"})

    assert post_form(alice, text="Through the page").status_code == 302
    answer = app.post(API_THREAD, json={"body": "Through the API"}, timeout=10)

    assert answer.status_code == 201, answer.text
    assert bodies_in_thread() == ["Through the page", "Through the API"]
    assert_counters_exact()
    # Not a 500, not a connection left hanging: a stream that ends at once and tells the
    # browser when to try again; the page polls meanwhile.
    for client in (alice, app):
        status, content_type, text = read_stream(client)
        assert (status, content_type, text) == (200, "text/event-stream", "retry: 10000\n\n")


class Listener:
    """A stream read in a thread: ``opened`` once its first line came (the server has
    subscribed it by then), its ``events``, ``ended`` when it is over; it stops by itself
    after ``want`` events."""

    def __init__(self, client: httpx.Client, *, want: int | None, headers: dict | None = None):
        self.client, self.want, self.headers = client, want, headers
        self.opened, self.ended = threading.Event(), threading.Event()
        self.events: list[dict] = []
        threading.Thread(target=self.listen, daemon=True).start()
        assert self.opened.wait(timeout=10), "the stream did not open"

    def listen(self):
        current = {}
        try:
            with self.client.stream(
                "GET", "/messages/live/", headers=self.headers, timeout=30
            ) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    self.opened.set()
                    if line.startswith(("id:", "event:", "data:")):
                        name, _, value = line.partition(":")
                        current[name] = value.strip()
                    elif line == "" and current:
                        self.events.append(current)
                        current = {}
                        if len(self.events) == self.want:
                            return
        finally:
            self.opened.set()
            self.ended.set()

    def wait(self) -> list[dict]:
        assert self.ended.wait(timeout=10), f"only {self.events} came"
        return self.events


def test_when_redis_comes_back_live_events_flow_again(asgi_server, demo, settings, redis_server):
    settings.ORDER_MESSAGES_REDIS_URL = redis_server.url
    settings.ORDER_MESSAGES_LIVE_HEARTBEAT = 0.5
    alice, bob = login(asgi_server, "alice"), login(asgi_server, "bob")

    listener = Listener(bob, want=2)
    assert post_form(alice, text="Before Redis stops").status_code == 302
    before = listener.wait()
    assert [e["event"] for e in before] == ["message.posted", "unread.changed"]
    last_seen = before[-1]["id"]

    # Redis dies under an open stream: the stream ends (the browser will reconnect), it
    # does not hang.
    listener = Listener(bob, want=None)
    redis_server.kill()
    assert listener.wait() == []

    assert post_form(alice, text="While Redis is down").status_code == 302
    assert read_stream(bob)[2] == "retry: 10000\n\n"

    redis_server.start()  # the same port, nothing remembered
    listener = Listener(bob, want=3, headers={"Last-Event-ID": last_seen})
    assert post_form(alice, text="After Redis is back").status_code == 302
    after = listener.wait()

    # Its numbering began again: the browser is told to refresh what it shows (and so sees
    # what was posted while Redis was down), then follows the new events.
    assert [e["event"] for e in after] == ["refresh", "message.posted", "unread.changed"]
    assert json.loads(after[1]["data"])["excerpt"] == "After Redis is back"
    assert bodies_in_thread() == [
        "Before Redis stops",
        "While Redis is down",
        "After Redis is back",
    ]
    assert_counters_exact()
