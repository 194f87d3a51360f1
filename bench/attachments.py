"""What a phone photo costs a post: a plain message against one carrying a 12-megapixel,
~3 MB JPEG, in-process, the photo's part split into its steps.

    .venv/bin/python -m bench.attachments [--runs 15] [--profile]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/om_bench_attachments \
        .venv/bin/python -m bench.attachments

Uses its own database (DATABASE_URL, default a fresh SQLite file in /tmp) and a temporary
MEDIA_ROOT (the default FileSystemStorage), with the benchmark's settings (DEBUG off, no
virus scan). Each run, Alice, in her conversation about order 1002 with Bob's Bikes, posts a
plain message; then uploads the photo through ``upload_attachment`` (its two steps timed
inside the action: inspecting and re-encoding, and writing the file and its thumbnail to
the storage) and posts a message carrying it. The first run warms up and is not counted.
Medians over the runs and the queries of each step go to bench/results/attachments-*.json
and, for every database measured, into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.markdown import write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
START, END = "<!-- attachments:start -->", "<!-- attachments:end -->"
# (key, what the table calls it)
STEPS = [
    ("plain_post", "post a plain message"),
    ("inspect", "photo: inspect and re-encode (upright, no EXIF, thumbnail)"),
    ("storage", "photo: write the file and its thumbnail to the storage"),
    ("upload", "photo: the whole upload (the two above, its checksum and its row)"),
    ("photo_post", "photo: post the message that carries it"),
    ("photo_total", "photo: upload and post"),
]
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def phone_photo(*, width=4000, height=3000) -> bytes:
    """A JPEG as a phone takes it: 12 megapixels of a gradient under sensor-like noise,
    about 3 MB, with the camera, the place (GPS) and orientation 6 (held upright: the
    pixels are turned) in its EXIF."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((width, height))
    across = gradient.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.merge("RGB", (gradient, across, Image.new("L", (width, height), 120)))
    image = Image.blend(image, Image.effect_noise((width, height), 40).convert("RGB"), 0.2)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0112] = 6  # Orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 31.0, 12.34), 3: "E", 4: (13.0, 24.0, 56.78)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=86, exif=exif)
    return out.getvalue()


class Stopwatch:
    """Wraps a function so each call's duration is kept: the action's own steps, timed
    where the action calls them."""

    def __init__(self, function):
        self.function, self.last = function, 0.0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.last = time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="counted runs (after one warm-up)")
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of inspecting the photo"
    )
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/om-bench-attachments.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    media = tempfile.TemporaryDirectory(prefix="om-bench-media-")
    os.environ["MEDIA_ROOT"] = media.name
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite:////tmp/"):
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite://") :] + suffix).unlink(missing_ok=True)
    if url.startswith("postgres"):
        from bench.worker_throughput import fresh_postgres_database

        fresh_postgres_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from order_messages.actions import attachments

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    photo = phone_photo()
    print(f"database={connection.vendor} photo={len(photo) / 1e6:.2f} MB", flush=True)
    # The upload's steps, timed where the action calls them.
    inspect = attachments.inspect_upload = Stopwatch(attachments.inspect_upload)
    storage = attachments.save_files = Stopwatch(attachments.save_files)
    bench = Bench(photo=photo, inspect=inspect, storage=storage)
    runs = [bench.run(i) for i in range(args.runs + 1)][1:]  # the first warms up

    result = summarise(runs, photo=photo, vendor=connection.vendor)
    for key, label in STEPS:
        print(f"{label}: {result['median_ms'][key]:.1f} ms, {result['queries'][key]} queries")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"attachments-{connection.vendor}.json").write_text(json.dumps(result, indent=1))
    write_report(ROOT / "BENCHMARKS.md")
    media.cleanup()
    if args.profile:
        profile_inspect(photo, inspect.function)


def profile_inspect(photo: bytes, inspect_upload, calls: int = 5) -> None:
    """Where inspecting and re-encoding spends its time: Pillow's decoder, encoders and
    pixel operations, by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        inspect_upload(name="IMG_2041.JPG", content=photo)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


class Bench:
    """Alice, in her conversation about order 1002 with Bob's Bikes."""

    def __init__(self, *, photo: bytes, inspect: Stopwatch, storage: Stopwatch):
        from django.contrib.auth import get_user_model

        from order_messages.adapter import get_adapter
        from order_messages.queries import access_order

        alice = get_user_model().objects.get(username="alice")
        self.order = get_adapter().get_order("1002")
        self.bikes = self.order.sub_order("bobs-bikes")
        self.actor = access_order(user=alice, order_number="1002").actor_in(self.bikes)
        self.photo, self.inspect, self.storage = photo, inspect, storage

    def run(self, number: int) -> dict:
        """The plain post, then the photo's upload and the post that carries it, each
        timed and with its queries counted."""
        from order_messages import actions
        from order_messages.attachments.storage import attachment_storage

        times, queries = {}, {}
        self.timed(times, queries, "plain_post", lambda: self.post(f"Run {number}: any news?"))
        upload = self.timed(
            times,
            queries,
            "upload",
            lambda: actions.upload_attachment(
                order_number="1002",
                vendor_key="bobs-bikes",
                actor=self.actor,
                name="IMG_2041.JPG",
                content=self.photo,
            ),
        )
        self.timed(times, queries, "photo_post", lambda: self.post("The tent, torn", [upload.pk]))
        times["inspect"], times["storage"] = self.inspect.last, self.storage.last
        queries["inspect"] = queries["storage"] = 0
        times["photo_total"] = times["upload"] + times["photo_post"]
        queries["photo_total"] = queries["upload"] + queries["photo_post"]
        return {
            "times": times,
            "queries": queries,
            "stored_bytes": upload.size,
            "thumbnail_bytes": attachment_storage().size(upload.thumbnail),
            "stored_pixels": (upload.width, upload.height),
        }

    def post(self, body: str, attachments=()):
        from order_messages import actions

        return actions.post_message(
            order=self.order,
            sub_order=self.bikes,
            actor=self.actor,
            body=body,
            attachments=attachments,
        )

    @staticmethod
    def timed(times: dict, queries: dict, key: str, work):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = work()
            times[key] = time.perf_counter() - started
        queries[key] = len(captured)
        return result


def summarise(runs: list[dict], *, photo: bytes, vendor: str) -> dict:
    last = runs[-1]
    return {
        "database": vendor,
        "date": date.today().isoformat(),
        "python": platform.python_version(),
        "runs": len(runs),
        "photo_bytes": len(photo),
        "stored_bytes": last["stored_bytes"],
        "thumbnail_bytes": last["thumbnail_bytes"],
        "stored_pixels": last["stored_pixels"],
        "median_ms": {
            key: statistics.median(r["times"][key] for r in runs) * 1000 for key, _ in STEPS
        },
        # The same in every run; the last run's.
        "queries": last["queries"],
    }


def write_report(path: Path) -> None:
    """The table of every database measured so far, between the markers."""
    found = {}
    for vendor in DATABASES:
        result = RESULTS / f"attachments-{vendor}.json"
        if result.exists():
            found[vendor] = json.loads(result.read_text())
    columns = "".join(f" {DATABASES[vendor]}, ms | queries |" for vendor in found)
    lines = ["| step |" + columns, "| --- |" + " ---: | ---: |" * len(found)]
    for key, label in STEPS:
        cells = "".join(
            f" {r['median_ms'][key]:.1f} | {r['queries'][key]} |" for r in found.values()
        )
        lines.append(f"| {label} |{cells}")
    notes = []
    for vendor, r in found.items():
        width, height = r["stored_pixels"]
        notes.append(
            f"- {DATABASES[vendor]}: {r['runs']} runs on {r['date']}, a "
            f"{r['photo_bytes'] / 1e6:.2f} MB photo stored as {width} × {height}, "
            f"{r['stored_bytes'] / 1e6:.2f} MB, with a {r['thumbnail_bytes'] / 1e3:.1f} kB "
            "thumbnail."
        )
    table = "\n".join(lines) + "\n\n" + "\n".join(notes)
    if not write_section(path, START, END, table):
        sys.exit(f"{path} has no {START} … {END} section to write into")


if __name__ == "__main__":
    main()
