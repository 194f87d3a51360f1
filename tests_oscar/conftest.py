"""The Oscar demo shop's tests: the app installed into a store built on django-oscar, with
the Oscar adapter, run in a process of their own:

    pytest -p no:cacheprovider --ds=demo.oscar_shop.settings tests_oscar

They import only the app, Oscar, Django and the demo shop (``demo.oscar_shop``,
``demo.mailbox``, ``demo.catalogue``, ``demo.secret``): CI runs them against the built
wheel installed in a clean virtualenv, where neither ``tests/`` nor ``demo.store`` is at
hand."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings

FAST_HASHERS = [
    # The seed hashes five passwords; PBKDF2 would take seconds. The second entry still
    # verifies hashes made without the override.
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def pytest_configure(config):
    # Oscar's own deprecation warnings (treebeard 8 renames its tree methods), and
    # Haystack's simple backend, which keeps no index, on every product saved.
    config.addinivalue_line("filterwarnings", r"ignore:Using Category\.\w+\(\) is deprecated")
    config.addinivalue_line(
        "filterwarnings", "ignore:update is not implemented in this backend:UserWarning"
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The Oscar shop's seed (seed_oscar), written once; each test runs in a transaction
    over it."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("seed_oscar", stdout=StringIO())


@pytest.fixture(scope="session", autouse=True)
def media_root(tmp_path_factory):
    """Uploaded files go to a folder of the test run, not the demo's media-oscar/."""
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield


@pytest.fixture(autouse=True)
def shop_language():
    """Each test starts in the shop's language, whatever a request before it activated."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def users(db, settings):
    """The seed's people by username: alice, carol, bob, dave, admin."""
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return {u.username: u for u in get_user_model().objects.all()}


@pytest.fixture
def client_for(users):
    """A test client logged in as a seed user: ``client_for("alice")``."""

    def make(username):
        client = Client()
        client.force_login(users[username])
        return client

    return make
