import pytest
from django.core.management import call_command
from django.test import Client

from order_messages.adapter import get_adapter
from order_messages.queries import access_order


@pytest.fixture
def demo(db):
    """The demo marketplace's data (seed_demo): users by username."""
    from django.contrib.auth import get_user_model

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return {u.username: u for u in get_user_model().objects.all()}


@pytest.fixture
def client_for(demo):
    """A logged-in test client for a demo user: ``client_for("alice")``."""

    def make(username):
        client = Client()
        client.force_login(demo[username])
        return client

    return make


@pytest.fixture
def order_access(demo):
    """``order_access("alice", "1001")``: what that user may see of that order."""

    def make(username, number):
        return access_order(user=demo[username], order_number=number)

    return make


@pytest.fixture
def order():
    def get(number):
        return get_adapter().get_order(number)

    return get
