"""The demo store cannot be taken over by a stranger: its SECRET_KEY is its own, its public
mailbox shows only the app's e-mails (no password resets), and its login form locks out
after a few wrong passwords (django-axes)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client, override_settings

from demo.mailbox.models import DemoEmail
from demo.settings import BASE_DIR, SECRET_KEY_FILE, demo_secret_key
from order_messages.guest import make_guest_token
from tests.conftest import deliver_notifications

REPO = Path(__file__).resolve().parent.parent


# -- the secret key -----------------------------------------------------------------------------


def test_a_guest_link_signed_with_the_old_public_key_is_refused(demo, order):
    """The demo's key used to be a constant in the repository: anyone could sign a guest
    link to any order with it."""
    with override_settings(SECRET_KEY="demo-only-not-secret"):
        forged = make_guest_token(order("1006"))
    genuine = make_guest_token(order("1006"))

    assert Client().get(f"/messages/guest/{forged}/").status_code == 404
    assert Client().get(f"/messages/guest/{genuine}/").status_code == 302


def test_the_key_is_created_once_and_then_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    path = tmp_path / "secret"

    first = demo_secret_key(path)

    assert len(first) >= 50 and path.read_text().strip() == first
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert demo_secret_key(path) == first
    assert demo_secret_key(tmp_path / "another") != first


def test_the_environment_comes_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")

    assert demo_secret_key(tmp_path / "secret") == "from-the-environment"
    assert not (tmp_path / "secret").exists()


def test_without_a_writable_place_the_key_is_random_all_the_same(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    path = tmp_path / "missing-directory" / "secret"

    key = demo_secret_key(path)

    assert len(key) >= 50 and key != demo_secret_key(path)


def test_the_running_demo_uses_its_local_key():
    if os.environ.get("SECRET_KEY"):
        pytest.skip("SECRET_KEY is set in the environment")
    assert django_settings.SECRET_KEY == SECRET_KEY_FILE.read_text().strip()
    assert SECRET_KEY_FILE.parent == BASE_DIR


def test_the_local_key_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    relative = SECRET_KEY_FILE.relative_to(REPO)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(relative)], cwd=REPO)
    tracked = subprocess.run(
        ["git", "grep", "-q", "-F", "demo-only-not-secret", "--", "demo", "src"], cwd=REPO
    )

    assert ignored.returncode == 0
    assert tracked.returncode == 1  # the old constant is nowhere in the sources


# -- the demo mailbox ---------------------------------------------------------------------------


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    settings.EMAIL_HOST = ""


def test_a_password_reset_e_mail_does_not_appear_in_the_demo_mailbox(demo, mailbox):
    response = Client().post("/accounts/password_reset/", {"email": demo["alice"].email})
    assert response.status_code == 302

    page = Client().get("/demo/mailbox/").content.decode()

    assert not DemoEmail.objects.exists()
    assert "/accounts/reset/" not in page and "Password reset" not in page


def test_the_apps_notifications_do_appear_in_the_demo_mailbox(demo, mailbox, post):
    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")

    report = deliver_notifications()

    assert report.sent >= 1
    recorded = DemoEmail.objects.get(to__contains=demo["alice"].email)
    assert "Your bike ships tomorrow." in recorded.text
    assert recorded.subject in Client().get("/demo/mailbox/").content.decode()


def test_account_e_mails_still_go_through_smtp_when_it_is_set(demo, smtp, settings):
    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"

    mail.send_mail("Password reset", "Your link: ...", None, [demo["alice"].email])

    assert [m["Subject"] for m in smtp.messages()] == ["Password reset"]
    assert not DemoEmail.objects.exists()


# -- login throttling ---------------------------------------------------------------------------


def log_in(client, password, username="alice"):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_after_five_wrong_passwords_even_the_right_one_is_refused(demo):
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "guess").status_code == 200  # the form again, with its error
    assert log_in(client, "guess").status_code == 429  # the fifth: locked out

    response = log_in(client, "demo")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_few_typos_do_not_lock_anyone_out(demo):
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "typo")

    response = log_in(client, "demo")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(demo["alice"].pk)


def test_the_lockout_is_per_account_and_address_not_for_everyone(demo):
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        log_in(Client(), "guess")

    assert log_in(Client(), "demo").status_code == 429
    assert log_in(Client(), "demo", username="carol").status_code == 302
    other_address = Client(REMOTE_ADDR="192.0.2.7")
    assert log_in(other_address, "demo").status_code == 302
