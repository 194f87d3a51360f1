"""Run inside one system's Django settings (DJANGO_SETTINGS_MODULE): log the benchmark's
people in, pick the scenarios' URLs in the generated data, count each page's queries and
time the underlying queries in-process. Prints one JSON document.

    DJANGO_SETTINGS_MODULE=bench.settings .venv/bin/python -m bench.probe
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, field

import django

PAGE = 20
DEPTH = 1_000
POSTERS = 200
REQUEST_SECONDS = 1.5  # each scenario's whole request timed in-process for about this long


@dataclass
class Request:
    method: str
    path: str
    cookie: str
    body: str = ""
    csrf: str = ""  # sent as X-CSRFToken


@dataclass
class Scenario:
    name: str
    requests: list[Request]
    connections: int = 8
    expect: int = 200  # the status every response must have
    # Where the benchmark reached a shallower page than asked (small data sets).
    note: str = ""
    queries: int | None = None  # database queries of one request, counted with the test client
    together_with: str = ""  # run at the same time as this other scenario
    # The whole request in-process (test client, no server): p50/p99 ms, or None for the
    # scenarios that only make sense under concurrent load.
    in_process: dict | None = None


@dataclass
class Probe:
    system: str
    scenarios: list[Scenario] = field(default_factory=list)
    queries: dict[str, dict] = field(default_factory=dict)


def page(name: str, path: str, cookie: str, note: str = "") -> Scenario:
    """A scenario of one GET."""
    return Scenario(name, [Request("GET", path, cookie)], note=note)


def login(user) -> tuple[str, str]:
    """A session cookie and CSRF token for the user, as the login form would leave them."""
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    client = Client()
    client.force_login(user)
    csrf = _get_new_csrf_string()
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", csrf


def client_for(request: Request):
    """A function sending the request through the whole stack with Django's test client
    (its middleware, the session and the user of the cookie, the view and the templates),
    in this process; it returns the response."""
    from urllib.parse import parse_qsl

    from django.test import Client

    client = Client()
    for part in request.cookie.split("; "):
        name, value = part.split("=", 1)
        client.cookies[name] = value

    def send():
        if request.method == "GET":
            return client.get(request.path)
        return client.post(request.path, dict(parse_qsl(request.body)))

    return send


def count_queries(request: Request) -> int:
    """The database queries of one request through the whole stack (test client), in the
    steady state: the second of two alike (the first may still mark messages read)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = client_for(request)
    send()
    with CaptureQueriesContext(connection) as captured:
        send()
    return len(captured.captured_queries)


def time_request(
    request: Request, *, expect: int = 200, budget: float = 2.0, least: int = 100
) -> dict:
    """The whole request in-process (test client, as count_queries sends it): p50 and p99
    milliseconds over about ``budget`` seconds and at least ``least`` runs, after one
    warm-up. No server, no network: what remains is Django's and the page's own work."""
    send = client_for(request)
    status = send().status_code
    if status != expect:
        raise RuntimeError(f"{request.method} {request.path}: {status}, not {expect}")
    return timed(send, budget=budget, least=least)


def timed(fn, *, budget: float = 1.0, least: int = 3) -> dict:
    """Median and p99 milliseconds of fn() over about ``budget`` seconds (at least
    ``least`` runs, or three when they take over ten budgets; at most 10,000)."""
    fn()  # warm
    samples = []
    started = time.perf_counter()
    # A request that takes seconds (postman's pages at 10^7 messages) is timed at least
    # three times and for about ten budgets, not ``least`` times.
    while (
        (len(samples) < least and time.perf_counter() - started < 10 * budget)
        or time.perf_counter() - started < budget
        or len(samples) < 3
    ):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
        if len(samples) >= 10_000:
            break
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 3),
        "runs": len(samples),
    }


def system_probe():
    """The probe of the system whose settings are active: postman's or ours."""
    from django.conf import settings

    if "postman" in settings.INSTALLED_APPS:
        from .peer.probe import probe
    else:
        from .ours import probe
    return probe


def run_in_ours_by_default(main) -> None:
    """Run a benchmark's ``main`` in ours' settings unless DJANGO_SETTINGS_MODULE names
    others (the peer's settings read their own database)."""
    from .generate import OURS_URL

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DATABASE_URL", OURS_URL)
    os.environ.setdefault("DEBUG", "0")
    main()


def main():
    django.setup()

    result: Probe = system_probe()()
    concurrent = {s.together_with for s in result.scenarios} - {""}
    for scenario in result.scenarios:
        if not scenario.together_with and scenario.name not in concurrent:
            scenario.in_process = time_request(
                scenario.requests[0], expect=scenario.expect, budget=REQUEST_SECONDS
            )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
