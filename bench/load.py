"""Load through real HTTP: uvicorn with several workers serves one system; wrk, in its own
process, sends the scenario's requests over keep-alive connections and reports
throughput and latency percentiles."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk.lua")
WORKERS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(*, settings: str, env: dict, workers: int = WORKERS):
    """uvicorn serving the settings' project on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "demo.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],  # fmt: skip
        cwd=ROOT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings, "DEBUG": "0"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/bench/floor/", timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn ({settings}) did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def check(base: str, scenario: dict, *, patience: float = 120) -> None:
    """One request of the scenario, outside the measurement: it must answer as expected,
    or every figure would measure an error page. A server error is asked again for up to
    ``patience`` seconds: requests of the scenario before that wrk stopped waiting for (a
    page of postman's long thread takes seconds) may still hold every pooled database
    connection, and a request then gets none."""
    deadline = time.monotonic() + patience
    while True:
        try:
            status = answer(base, scenario)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = 503
        if status < 500 or time.monotonic() > deadline:
            break
        time.sleep(2)
    if status != scenario["expect"]:
        path = scenario["requests"][0]["path"]
        raise RuntimeError(f"{scenario['name']}: {path} answered {status}")


def answer(base: str, scenario: dict) -> int:
    """The status the scenario's first request gets."""
    request = scenario["requests"][0]
    headers = {"Cookie": request["cookie"]}
    if request["csrf"]:
        headers["X-CSRFToken"] = request["csrf"]
    if request["method"] == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    http = urllib.request.Request(
        base + request["path"],
        data=request["body"].encode() if request["method"] == "POST" else None,
        headers=headers,
        method=request["method"],
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(http, timeout=600).status
    except urllib.error.HTTPError as error:
        return error.code


def wrk_command(base: str, scenario: dict, seconds: float, folder: Path) -> list[str]:
    requests = folder / f"{abs(hash(scenario['name']))}.tsv"
    with requests.open("w") as out:
        for r in scenario["requests"]:
            out.write("\t".join([r["method"], r["path"], r["cookie"], r["csrf"], r["body"]]) + "\n")
    return [
        shutil.which("wrk") or "wrk",
        "-t1", f"-c{scenario['connections']}", f"-d{max(1, round(seconds))}s",
        "--timeout", "60s", "-s", str(LUA), base, "--", str(requests),
    ]  # fmt: skip


def parse(output: str) -> dict:
    line = next(x for x in reversed(output.splitlines()) if x.startswith("{"))
    stats = json.loads(line)
    seconds = stats["duration_us"] / 1e6
    return {
        "requests": stats["requests"],
        "rps": round(stats["requests"] / seconds, 1),
        "p50_ms": round(stats["p50_us"] / 1000, 2),
        "p99_ms": round(stats["p99_us"] / 1000, 2),
        "errors": stats["errors"],
    }


def run(
    base: str, scenarios: list[dict], *, seconds: float, warmup: float, between=lambda: None
) -> dict[str, dict]:
    """Each scenario (and the one it runs together with) after a short warm-up; returns
    {name: figures}. Scenarios whose responses failed raise: their figures would lie.
    ``between`` runs before each phase (to let the server finish abandoned requests)."""
    by_name = {s["name"]: s for s in scenarios}
    partners = {s["together_with"] for s in scenarios if s["together_with"]}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        for scenario in scenarios:
            if scenario["name"] in partners:
                continue
            group = [scenario] + (
                [by_name[scenario["together_with"]]] if scenario["together_with"] else []
            )
            between()
            for s in group:
                check(base, s)
            for duration in (warmup, seconds):  # the figures are the second run's
                between()
                processes = [
                    subprocess.Popen(
                        wrk_command(base, s, duration, Path(folder)),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                    )
                    for s in group
                ]
                outputs = [p.communicate()[0] for p in processes]
            for s, output in zip(group, outputs, strict=True):
                figures = parse(output)
                if figures["errors"]:
                    raise RuntimeError(f"{s['name']}: {figures['errors']} failed responses")
                results[s["name"]] = figures
                print(
                    f"  {s['name']:<28} {figures['rps']:>9,.1f} req/s  "
                    f"p50 {figures['p50_ms']:>9.2f} ms  p99 {figures['p99_ms']:>9.2f} ms",
                    flush=True,
                )
    return results
