"""demo.production: secrets from the environment, a clean ``check --deploy``, and none of
the demo-only pages."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(code_or_args, env_extra, tmp_path):
    # A server's environment: none of what the test run sets for itself (browser tests
    # set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_") and k not in CONFIGURATION
    }
    env.update(
        DJANGO_SETTINGS_MODULE="demo.production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        **env_extra,
    )
    return subprocess.run(
        [sys.executable, *code_or_args], cwd=REPO, env=env, capture_output=True, text=True
    )


PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "shop.example,www.shop.example",
    "SITE_URL": "https://shop.example",
    # Inbound mail through Mailgun and Postmark (INBOUND_PROVIDERS' default).
    "ANYMAIL_WEBHOOK_SECRET": "postmark:" + secrets.token_urlsafe(24),
    "MAILGUN_WEBHOOK_SIGNING_KEY": secrets.token_hex(16),
}
CONFIGURATION = (*PRODUCTION, "INBOUND_PROVIDERS")


def test_the_production_settings_pass_the_deployment_checks(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_a_secret_key_they_refuse_to_start_and_say_what_is_missing(tmp_path):
    result = run(["manage.py", "check"], {**PRODUCTION, "SECRET_KEY": ""}, tmp_path)

    assert result.returncode != 0
    assert "Set SECRET_KEY in the environment" in result.stderr


def check_deploy(env, tmp_path):
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)


def test_without_the_webhook_secret_the_deployment_checks_fail(tmp_path):
    """Postmark's inbound webhook has only basic auth: without ANYMAIL_WEBHOOK_SECRET anyone
    could post as any customer whose reply address they name."""
    result = check_deploy({**PRODUCTION, "ANYMAIL_WEBHOOK_SECRET": ""}, tmp_path)

    assert result.returncode != 0
    assert "order_messages.E002" in result.stderr and "'postmark'" in result.stderr
    assert "mailgun" not in result.stderr


def test_without_mailguns_signing_key_the_deployment_checks_fail(tmp_path):
    result = check_deploy({**PRODUCTION, "MAILGUN_WEBHOOK_SIGNING_KEY": ""}, tmp_path)

    assert result.returncode != 0
    assert "order_messages.E003" in result.stderr
    assert "MAILGUN_WEBHOOK_SIGNING_KEY" in result.stderr


def test_a_store_without_inbound_webhooks_needs_no_webhook_secret(tmp_path):
    env = {**PRODUCTION, "INBOUND_PROVIDERS": "", "ANYMAIL_WEBHOOK_SECRET": ""}
    env["MAILGUN_WEBHOOK_SIGNING_KEY"] = ""

    result = check_deploy(env, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    code = "from django.urls import resolve; resolve('/anymail/postmark/inbound/')"
    resolved = run(["-c", f"import django; django.setup(); {code}"], env, tmp_path)
    assert "Resolver404" in resolved.stderr


def test_the_demo_mailbox_and_webhook_pages_do_not_exist_in_production(tmp_path):
    code = """
import django
django.setup()
from django.conf import settings
from django.urls import Resolver404, resolve
for path in ("/demo/mailbox/", "/demo/webhooks/", "/demo/webhooks/receive/"):
    try:
        resolve(path)
    except Resolver404:
        print("absent", path)
print("debug", settings.DEBUG, "backend", settings.EMAIL_BACKEND)
"""
    result = run(["-c", code], PRODUCTION, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("absent") == 3, result.stdout
    assert "debug False backend django.core.mail.backends.smtp.EmailBackend" in result.stdout


def test_the_demo_footer_links_its_mailbox_only_where_it_exists(client_for, settings):
    assert b"/demo/mailbox/" in client_for("alice").get("/").content

    settings.DEMO_MAILBOX = False
    assert b"/demo/mailbox/" not in client_for("alice").get("/").content
