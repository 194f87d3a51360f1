"""Uploads nobody posts are deleted by the worker, rows and files, after
ATTACHMENT_ABANDONED_AFTER; posted files and younger uploads stay, and a post that comes
after the sweep is refused rather than posted without its file."""

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from order_messages import actions
from order_messages.attachments.storage import attachment_storage
from order_messages.errors import AttachmentUnavailable
from order_messages.management.commands import deliver_notifications
from order_messages.models import Attachment, Message

from . import files
from .conftest import snapshot

HOUR = 60 * 60


@pytest.fixture(autouse=True)
def an_hour_to_post(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_ABANDONED_AFTER = HOUR


@pytest.fixture
def alice(access_as):
    """Alice in her conversation about order 1002 with Bob's Bikes: ``alice.upload()`` and
    ``alice.post(ids)``."""
    access = access_as("alice", "1002")
    bikes = access.sub_order("bobs-bikes")
    actor = access.actor_in(bikes)

    class Alice:
        @staticmethod
        def upload(name="tent.jpg", content=None):
            return actions.upload_attachment(
                order_number="1002",
                vendor_key="bobs-bikes",
                actor=actor,
                name=name,
                content=content or files.phone_photo(),
            )

        @staticmethod
        def post(ids, body="Photos of the tent"):
            return actions.post_message(
                order=access.order, sub_order=bikes, actor=actor, body=body, attachments=ids
            )

    return Alice


def stored(attachment) -> bool:
    """Whether the upload's row, file and thumbnail are all there."""
    storage = attachment_storage()
    names = [attachment.file] + ([attachment.thumbnail] if attachment.thumbnail else [])
    return Attachment.objects.filter(pk=attachment.pk).exists() and all(
        storage.exists(name) for name in names
    )


def gone(attachment) -> bool:
    """Whether the upload's row, file and thumbnail are all gone."""
    storage = attachment_storage()
    return not Attachment.objects.filter(pk=attachment.pk).exists() and not any(
        storage.exists(name) for name in (attachment.file, attachment.thumbnail) if name
    )


def test_an_upload_nobody_posted_is_deleted_with_its_files_once_abandoned(
    alice, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        abandoned = alice.upload("abandoned.jpg")
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        posted = alice.upload("posted.jpg")
        alice.post([posted.pk])
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        young = alice.upload("young.jpg", content=files.png())
    assert abandoned.thumbnail and stored(abandoned)

    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert actions.delete_abandoned_uploads() == 0
    assert stored(abandoned)

    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert actions.delete_abandoned_uploads() == 1

    assert gone(abandoned)
    assert stored(posted) and stored(young)
    posted.refresh_from_db()
    assert posted.message is not None


def test_the_worker_sweeps_with_once(alice, django_capture_on_commit_callbacks):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        abandoned = [alice.upload(f"photo-{i}.png", content=files.png()) for i in range(3)]
    out = StringIO()

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("deliver_notifications", "--once", stdout=out)

    assert "abandoned uploads deleted 3" in out.getvalue().splitlines()
    assert all(gone(upload) for upload in abandoned)


def test_the_worker_sweeps_at_most_every_few_minutes(alice, monkeypatch):
    """The loop passes its monotonic clock; a full batch means more are waiting, and the
    next round sweeps again."""
    monkeypatch.setattr(deliver_notifications, "SWEEP_BATCH", 2)
    sweep = deliver_notifications.UploadSweep()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = [alice.upload(f"first-{i}.png", content=files.png()) for i in range(3)]

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert sweep.run_if_due(1000.0) == 2  # a full batch
        assert sweep.run_if_due(1001.0) == 1  # so the next round goes on
        later = alice.upload("later.png", content=files.png())
    with time_machine.travel(start + timedelta(hours=4), tick=False):
        assert sweep.run_if_due(1002.0) == 0  # not due yet
        assert sweep.run_if_due(1000.0 + 1 + deliver_notifications.SWEEP_SECONDS) == 1

    assert not Attachment.objects.filter(pk__in=[a.pk for a in [*first, later]]).exists()


def test_a_post_after_the_sweep_is_refused_and_posts_nothing(alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        abandoned = alice.upload()
        kept = alice.upload("kept.png", content=files.png())
    Attachment.objects.filter(pk=kept.pk).update(created_at=start + timedelta(hours=1))
    before = snapshot()

    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert actions.delete_abandoned_uploads() == 1
        with pytest.raises(AttachmentUnavailable) as refused:
            alice.post([kept.pk, abandoned.pk])

    assert refused.value.code == "attachment_unavailable"
    assert snapshot() == before
    kept.refresh_from_db()
    assert kept.message is None  # the one still there waits to be posted again
    assert not Message.objects.filter(body="Photos of the tent").exists()


# -- racing for real, on PostgreSQL -----------------------------------------------------------
# SQLite has one write lock: a post and a sweep there never overlap at all.


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def in_thread(work):
    """Run ``work`` on its own connection; returns the thread and its outcome."""
    outcome = {}

    def run():
        try:
            outcome["result"] = work()
        except BaseException as error:  # noqa: BLE001 — handed to the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_for(condition) -> None:
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    pytest.fail("the other connection never got there")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no SELECT … FOR UPDATE SKIP LOCKED"
)
@pytest.mark.django_db(transaction=True)
def test_a_sweep_during_a_post_leaves_the_posted_file(demo, alice):
    upload = alice.upload()
    Attachment.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(hours=2))
    claimed, commit = threading.Event(), threading.Event()

    def post_slowly():
        with transaction.atomic():
            message = alice.post([upload.pk])
            claimed.set()
            commit.wait(timeout=30)
        return message

    poster, outcome = in_thread(post_slowly)
    assert claimed.wait(timeout=30)
    try:
        assert actions.delete_abandoned_uploads() == 0  # the claimed row is locked: skipped
    finally:
        commit.set()
        poster.join(timeout=30)

    assert "error" not in outcome, outcome.get("error")
    upload.refresh_from_db()
    assert upload.message_id == outcome["result"].pk
    assert stored(upload)
    assert actions.delete_abandoned_uploads() == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no SELECT … FOR UPDATE SKIP LOCKED"
)
@pytest.mark.django_db(transaction=True)
def test_a_post_during_a_sweep_waits_and_is_refused(demo, alice):
    upload = alice.upload()
    Attachment.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(hours=2))
    messages = Message.objects.count()
    swept, commit = threading.Event(), threading.Event()

    def sweep_slowly():
        with transaction.atomic():
            deleted = actions.delete_abandoned_uploads()
            swept.set()
            commit.wait(timeout=30)
        return deleted

    sweeper, swept_outcome = in_thread(sweep_slowly)
    assert swept.wait(timeout=30)
    poster, posted_outcome = in_thread(lambda: alice.post([upload.pk]))
    try:
        wait_for(waiting_on_a_lock)  # the post waits for the sweep's row lock
    finally:
        commit.set()
        sweeper.join(timeout=30)
        poster.join(timeout=30)

    assert swept_outcome == {"result": 1}
    assert isinstance(posted_outcome.get("error"), AttachmentUnavailable)
    assert Message.objects.count() == messages
    assert gone(upload)
