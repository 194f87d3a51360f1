"""How fast each seller answers: the arithmetic of the response figures.

The worker rolls every message up into ``ResponseDay`` rows (``actions.metrics``), one per
seller and UTC day, so that the dashboard reads about thirty small rows per seller
whatever the number of messages (``queries.metrics``). First-response times are kept as a
count per bucket of ``BUCKETS``; percentiles are read from the merged counts by linear
interpolation within the bucket the rank falls in (as Prometheus' ``histogram_quantile``
does), so a median is exact to within its bucket: within 5 minutes below a quarter of an
hour, within a day between one and two days. A rank in the last, open-ended bucket is
reported as "more than a week" (``math.inf``).

Changing ``BUCKETS`` makes the stored counts meaningless: run ``roll_up_responses
--rebuild`` after it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

from django.utils.formats import number_format
from django.utils.translation import gettext

MINUTE, HOUR, DAY = 60, 3600, 86400
# Upper bounds (seconds, inclusive) of the first-response buckets.
BUCKETS: tuple[float, ...] = (
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    7 * DAY,
    math.inf,
)
# The longest time a bucket can tell: beyond it, only "more than".
LONGEST = BUCKETS[-2]


def bucket_of(seconds: float) -> int:
    """The index of the bucket a response time falls in."""
    return bisect.bisect_left(BUCKETS, max(seconds, 0))


def empty_histogram() -> list[int]:
    return [0] * len(BUCKETS)


def merge_histograms(histograms: Iterable[Sequence[int]]) -> list[int]:
    """The bucket-wise sum. Shorter lists (written before buckets were added) count as
    zeros in the missing buckets."""
    total = empty_histogram()
    for histogram in histograms:
        for i, n in enumerate(histogram[: len(total)]):
            total[i] += n
    return total


def quantile(histogram: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0 < q < 1) in seconds, interpolated within its bucket; None
    without any response, ``math.inf`` when it lies beyond the last finite bound."""
    total = sum(histogram)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            upper = BUCKETS[i]
            if upper == math.inf:
                return math.inf
            lower = BUCKETS[i - 1] if i else 0
            return lower + (upper - lower) * (rank - seen) / n
        seen += n
    return math.inf  # unreachable with consistent counts


def share(part: int, whole: int) -> float | None:
    """part / whole between 0 and 1, or None when there is nothing to divide."""
    if whole <= 0:
        return None
    return min(max(part / whole, 0.0), 1.0)


def duration_text(seconds: float | None) -> str:
    """A response time as the dashboard shows it: "4 min", "2.5 h", "3 d", "> 1 week"."""
    if seconds is None:
        return "—"
    if seconds == math.inf:
        return gettext("> 1 week")
    if seconds < HOUR:
        # Translators: a response time in minutes, e.g. "12 min".
        return gettext("%(n)s min") % {"n": number_format(max(1, round(seconds / MINUTE)))}
    if seconds < 2 * DAY:
        hours = seconds / HOUR
        n = number_format(round(hours, 1), 1) if hours < 10 else number_format(round(hours))
        # Translators: a response time in hours, e.g. "2.5 h".
        return gettext("%(n)s h") % {"n": n}
    days = seconds / DAY
    # Translators: a response time in days, e.g. "3.5 d".
    return gettext("%(n)s d") % {"n": number_format(round(days, 1), 1)}


def percent_text(value: float | None) -> str:
    if value is None:
        return "—"
    # Translators: a share in per cent, e.g. "97 %".
    return gettext("%(n)s %%") % {"n": number_format(math.floor(value * 100))}
