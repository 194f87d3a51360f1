"""The virus scan (ORDER_MESSAGES_ATTACHMENT_CLAMD), against a stand-in for ClamAV's daemon
that speaks its INSTREAM protocol on a Unix socket or on 127.0.0.1: clean files pass,
infected ones are refused by name, and while the scanner cannot be asked nothing is
stored."""

import os
import socketserver
import struct
import tempfile
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from order_messages import actions
from order_messages.errors import AttachmentRefused, ScanUnavailable
from order_messages.models import Attachment

from . import files

# The anti-virus test file every scanner knows (https://www.eicar.org): harmless, and found.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class INStreamHandler(socketserver.StreamRequestHandler):
    """One clamd connection: ``zINSTREAM\\0``, chunks each prefixed with its length (four
    bytes, network order), a zero length, then the verdict."""

    def handle(self):
        command = b""
        while not command.endswith(b"\0"):
            byte = self.rfile.read(1)
            if not byte:
                return
            command += byte
        if command != b"zINSTREAM\0":
            self.wfile.write(b"UNKNOWN COMMAND\0")
            return
        data = b""
        while True:
            (length,) = struct.unpack("!L", self.rfile.read(4))
            if not length:
                break
            data += self.rfile.read(length)
        self.server.streams.append(data)
        if EICAR in data:
            self.wfile.write(b"stream: Eicar-Signature FOUND\0")
        else:
            self.wfile.write(b"stream: OK\0")


class UnixClamd(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class TCPClamd(socketserver.ThreadingTCPServer):
    daemon_threads = True


def serve(server):
    server.streams = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return thread


@pytest.fixture
def clamd(settings):
    """A scanner on a Unix socket in a folder of its own, which the settings name."""
    # A folder of its own under /tmp: a socket's path has at most 107 characters.
    with tempfile.TemporaryDirectory(prefix="clamd-") as folder:
        path = os.path.join(folder, "clamd.ctl")
        server = UnixClamd(path, INStreamHandler)
        serve(server)
        settings.ORDER_MESSAGES_ATTACHMENT_CLAMD = path
        server.path = path
        yield server
        server.shutdown()
        server.server_close()


@pytest.fixture
def upload(access_as):
    """``upload(name, content)``: Alice uploads a file for her conversation about 1002 with
    Bob's Bikes."""
    access = access_as("alice", "1002")
    actor = access.actor_in(access.sub_order("bobs-bikes"))

    def make(name, content):
        return actions.upload_attachment(
            order_number="1002", vendor_key="bobs-bikes", actor=actor, name=name, content=content
        )

    return make


def infected_pdf() -> bytes:
    """A valid PDF with the test signature in a comment after its end."""
    return files.pdf() + b"%" + EICAR + b"\n"


def stored_files() -> set[Path]:
    return {p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()}


def test_a_clean_photo_is_scanned_as_sent_and_stored(clamd, upload):
    photo = files.phone_photo()

    attachment = upload("tent.jpg", photo)

    assert clamd.streams == [photo]  # what was sent, before cleaning, in full
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_a_large_file_reaches_the_scanner_in_chunks_whole(clamd, upload):
    photo = files.phone_photo(width=1600, height=1200, size_hint=1)
    assert len(photo) > 200_000

    upload("big.jpg", photo)

    assert clamd.streams == [photo]


def test_an_infected_file_is_refused_by_name_and_nothing_is_stored(clamd, upload):
    before, rows = stored_files(), Attachment.objects.count()

    with pytest.raises(AttachmentRefused) as refused:
        upload("invoice.pdf", infected_pdf())

    message = refused.value.messages[0]
    assert "invoice.pdf" in message and "Eicar-Signature" in message
    assert refused.value.code == "attachment_refused"
    assert Attachment.objects.count() == rows
    assert stored_files() == before


def test_without_the_scanner_every_upload_is_refused_and_nothing_is_stored(clamd, upload):
    clamd.shutdown()
    clamd.server_close()
    os.unlink(clamd.path)
    before, rows = stored_files(), Attachment.objects.count()

    for name, content in [("tent.jpg", files.phone_photo()), ("invoice.pdf", files.pdf())]:
        with pytest.raises(ScanUnavailable) as refused:
            upload(name, content)
        assert refused.value.code == "scan_unavailable"

    assert Attachment.objects.count() == rows
    assert stored_files() == before


def test_a_scanner_that_answers_nonsense_counts_as_unavailable(settings, upload):
    class Mumbling(socketserver.StreamRequestHandler):
        def handle(self):
            self.rfile.read(10)
            self.wfile.write(b"INSTREAM size limit exceeded. ERROR\0")

    rows = Attachment.objects.count()
    with tempfile.TemporaryDirectory(prefix="clamd-") as folder:
        path = os.path.join(folder, "clamd.ctl")
        server = UnixClamd(path, Mumbling)
        serve(server)
        settings.ORDER_MESSAGES_ATTACHMENT_CLAMD = path
        try:
            with pytest.raises(ScanUnavailable):
                upload("tent.jpg", files.phone_photo())
        finally:
            server.shutdown()
            server.server_close()
    assert Attachment.objects.count() == rows


def test_a_scanner_on_a_tcp_port(settings, upload):
    server = TCPClamd(("127.0.0.1", 0), INStreamHandler)
    serve(server)
    settings.ORDER_MESSAGES_ATTACHMENT_CLAMD = f"127.0.0.1:{server.server_address[1]}"
    rows = Attachment.objects.count()
    try:
        photo = files.phone_photo()
        upload("tent.jpg", photo)
        with pytest.raises(AttachmentRefused, match="Eicar-Signature"):
            upload("invoice.pdf", infected_pdf())
    finally:
        server.shutdown()
        server.server_close()

    assert server.streams == [photo, infected_pdf()]
    assert Attachment.objects.count() == rows + 1


def test_the_composer_is_told_which_file_and_why(clamd, client_for):
    alice = client_for("alice")
    url = reverse("order_messages:upload_file", args=["1002", "bobs-bikes"])
    rows = Attachment.objects.count()

    infected = alice.post(url, {"file": SimpleUploadedFile("invoice.pdf", infected_pdf())})
    clamd.shutdown()
    clamd.server_close()
    os.unlink(clamd.path)
    unavailable = alice.post(url, {"file": SimpleUploadedFile("tent.jpg", files.phone_photo())})

    assert infected.status_code == 422
    assert "invoice.pdf" in infected.json()["error"]
    assert unavailable.status_code == 503
    assert unavailable.json()["code"] == "scan_unavailable"
    assert Attachment.objects.count() == rows
