"""Geometry for the dashboard's server-rendered SVG chart: numbers in, coordinates out.

The template only places what is computed here, so the chart needs no JavaScript and the
arithmetic can be tested without parsing SVG.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.utils.formats import date_format
from django.utils.translation import get_language, gettext, ngettext, pgettext

from .metrics import DAY, HOUR, LONGEST, MINUTE


class DailyCounts(Protocol):
    date: dt.date
    messages: int
    disputes: int


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    date: dt.date
    title: str = ""  # the tooltip


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    value: int
    date: dt.date
    title: str = ""


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Label:
    x: float
    text: str
    date: dt.date
    anchor: str = "middle"  # SVG text-anchor


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    # The plot area; axis labels sit outside it.
    left: float
    top: float
    right: float
    bottom: float
    y_max: int
    bars: list[Bar]  # messages
    markers: list[Marker]  # disputes
    # The disputes line as SVG polyline points, one per stretch of activity: runs of days
    # without disputes are left out rather than drawn over the x-axis.
    lines: list[str]
    y_ticks: list[Tick]
    x_labels: list[Label]

    @property
    def y_label_x(self) -> float:
        """Where the y-axis labels end (they are right-aligned)."""
        return self.left - 8

    @property
    def x_label_y(self) -> float:
        """The baseline of the date labels under the plot."""
        return self.bottom + 20


def nice_scale(value: int, *, max_intervals: int = 5) -> tuple[int, int]:
    """(top, step) of an integer axis from 0 that shows ``value``: a whole step of 1, 2,
    2.5 or 5 times a power of ten, at most ``max_intervals`` of them, the lowest top, and
    then the most ticks."""
    value = max(int(value), 1)  # an empty chart still gets an axis from 0 to 1
    raw = value / max_intervals
    exponent = math.floor(math.log10(raw)) if raw >= 1 else 0
    steps = [
        int(c)
        for power in (exponent, exponent + 1)
        for factor in (1, 2, 2.5, 5)
        if (c := factor * 10**power) >= raw and c == int(c)
    ]

    def top(step: int) -> int:
        return math.ceil(value / step) * step

    step = min(steps, key=lambda s: (top(s), s))
    return top(step), step


def line_runs(markers: Sequence[Marker]) -> list[str]:
    """Polyline points for each stretch of markers that is not zero or next to a non-zero."""
    values = [m.value for m in markers]
    runs, run = [], []
    for i, marker in enumerate(markers):
        if any(values[max(i - 1, 0) : i + 2]):
            run.append(f"{marker.x},{marker.y}")
        else:
            if len(run) > 1:
                runs.append(" ".join(run))
            run = []
    if len(run) > 1:
        runs.append(" ".join(run))
    return runs


@functools.lru_cache(maxsize=512)
def _day_text(date: dt.date, language: str) -> str:
    # Translators: a day in the dashboard's tooltips, in the notation of Django's "date"
    # template filter ("D, M j" gives "Tue, Mar 5").
    return date_format(date, pgettext("date format: weekday, month and day", "D, M j"))


def day_text(date: dt.date) -> str:
    """A day as the charts' tooltips write it, formatted once per day and language: a
    dashboard has some two hundred of them."""
    return _day_text(date, get_language())


def date_labels(dates: Sequence[dt.date], *, left: float, right: float, every: int) -> list[Label]:
    """A label under every ``every``-th day's slot, counting back from the last (today),
    so the newest day always has one."""
    # Translators: how the dates under the dashboard chart are written, in the notation of
    # Django's "date" template filter ("M j" gives "Mar 5").
    label_format = pgettext("date format of the chart's axis", "M j")
    slot = (right - left) / max(len(dates), 1)
    labels = []
    for i, date in enumerate(dates):
        if (len(dates) - 1 - i) % every:
            continue
        text = date_format(date, label_format)
        if i == len(dates) - 1:  # flush with the plot's end, so it cannot overflow
            labels.append(Label(x=right, text=text, date=date, anchor="end"))
        else:
            labels.append(Label(x=round(left + slot * (i + 0.5), 2), text=text, date=date))
    return labels


def daily_chart(
    *,
    days: Sequence[DailyCounts],
    width: int = 960,
    height: int = 300,
    margin: tuple[float, float, float, float] = (16, 14, 34, 44),  # top, right, bottom, left
    label_every: int = 7,
    bar_ratio: float = 0.64,
) -> DailyChart:
    """Bars for messages and a line with markers for disputes, one slot per day, on one
    shared y-axis. Dates are labelled every ``label_every`` days counting back from the
    last (today), so the newest day always has a label."""
    top_margin, right_margin, bottom_margin, left_margin = margin
    left, top = left_margin, top_margin
    right, bottom = width - right_margin, height - bottom_margin
    plot_width, plot_height = right - left, bottom - top
    peak = max((max(d.messages, d.disputes) for d in days), default=0)
    y_max, step = nice_scale(peak)

    def y_of(value: int) -> float:
        return round(bottom - value / y_max * plot_height, 2)

    slot = plot_width / max(len(days), 1)
    bar_width = round(slot * bar_ratio, 2)
    bars, markers = [], []
    for i, day in enumerate(days):
        centre = left + slot * (i + 0.5)
        y = y_of(day.messages)
        bars.append(
            Bar(
                x=round(centre - bar_width / 2, 2),
                y=y,
                width=bar_width,
                height=round(bottom - y, 2),
                value=day.messages,
                date=day.date,
                title=ngettext(
                    "%(day)s: %(count)s customer message",
                    "%(day)s: %(count)s customer messages",
                    day.messages,
                )
                % {"day": day_text(day.date), "count": day.messages},
            )
        )
        markers.append(
            Marker(
                x=round(centre, 2),
                y=y_of(day.disputes),
                value=day.disputes,
                date=day.date,
                title=ngettext(
                    "%(day)s: %(count)s dispute opened",
                    "%(day)s: %(count)s disputes opened",
                    day.disputes,
                )
                % {"day": day_text(day.date), "count": day.disputes},
            )
        )
    return DailyChart(
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        y_max=y_max,
        bars=bars,
        markers=markers,
        lines=line_runs(markers),
        y_ticks=[Tick(y=y_of(v), value=v) for v in range(0, y_max + 1, step)],
        x_labels=date_labels([d.date for d in days], left=left, right=right, every=label_every),
    )


# -- how fast a seller answers ----------------------------------------------------------------


class DailyResponses(Protocol):
    date: dt.date
    responses: int
    median: float | None
    p90: float | None
    median_text: str
    p90_text: str


@dataclass(frozen=True)
class TimeBar:
    x: float
    y: float
    width: float
    height: float
    text: str  # the value as shown ("2.5 h")
    responses: int
    date: dt.date
    title: str = ""


@dataclass(frozen=True)
class TimePoint:
    x: float
    y: float
    text: str
    date: dt.date
    title: str = ""


@dataclass(frozen=True)
class TimeTick:
    y: float
    text: str


@dataclass(frozen=True)
class ResponseChart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    bars: list[TimeBar]  # the median of each day with answers
    points: list[TimePoint]  # the 90th percentile of each day with answers
    lines: list[str]  # polyline points of the 90th percentile, per run of days with answers
    y_ticks: list[TimeTick]
    x_labels: list[Label]

    @property
    def y_label_x(self) -> float:
        return self.left - 8

    @property
    def x_label_y(self) -> float:
        return self.bottom + 20


def time_unit(seconds: float) -> tuple[int, str]:
    """The unit an axis up to ``seconds`` is counted in: (seconds per unit, its format)."""
    if seconds <= 2 * HOUR:
        # Translators: a response time in minutes, e.g. "12 min".
        return MINUTE, gettext("%(n)s min")
    if seconds <= 3 * DAY:
        # Translators: a response time in hours, e.g. "2.5 h".
        return HOUR, gettext("%(n)s h")
    # Translators: a response time in days, e.g. "3.5 d".
    return DAY, gettext("%(n)s d")


def response_chart(
    *,
    days: Sequence[DailyResponses],
    width: int = 960,
    height: int = 260,
    margin: tuple[float, float, float, float] = (16, 14, 34, 56),  # top, right, bottom, left
    label_every: int = 7,
    bar_ratio: float = 0.64,
) -> ResponseChart:
    """Bars for each day's median first-response time and a line with markers for its
    90th percentile, on one time axis from zero (in minutes, hours or days, whichever
    reads best). Days without answers are left empty; a time beyond the last bucket
    (more than a week) is drawn at a week."""
    top_margin, right_margin, bottom_margin, left_margin = margin
    left, top = left_margin, top_margin
    right, bottom = width - right_margin, height - bottom_margin
    plot_width, plot_height = right - left, bottom - top

    def finite(seconds: float | None) -> float:
        return min(seconds or 0, LONGEST)

    peak = max((max(finite(d.median), finite(d.p90)) for d in days), default=0)
    unit, unit_format = time_unit(peak)
    y_max, step = nice_scale(math.ceil(peak / unit))

    def y_of(seconds: float | None) -> float:
        return round(bottom - finite(seconds) / unit / y_max * plot_height, 2)

    slot = plot_width / max(len(days), 1)
    bar_width = round(slot * bar_ratio, 2)
    bars, points, lines, run = [], [], [], []
    for i, day in enumerate(days):
        centre = round(left + slot * (i + 0.5), 2)
        if not day.responses or day.median is None:
            if len(run) > 1:
                lines.append(" ".join(run))
            run = []
            continue
        y = y_of(day.median)
        bars.append(
            TimeBar(
                x=round(centre - bar_width / 2, 2),
                y=y,
                width=bar_width,
                height=round(bottom - y, 2),
                text=day.median_text,
                responses=day.responses,
                date=day.date,
                title=ngettext(
                    "%(day)s: median %(time)s (%(count)s answer)",
                    "%(day)s: median %(time)s (%(count)s answers)",
                    day.responses,
                )
                % {"day": day_text(day.date), "time": day.median_text, "count": day.responses},
            )
        )
        point = TimePoint(
            x=centre,
            y=y_of(day.p90),
            text=day.p90_text,
            date=day.date,
            title=gettext("%(day)s: 90th percentile %(time)s")
            % {"day": day_text(day.date), "time": day.p90_text},
        )
        points.append(point)
        run.append(f"{point.x},{point.y}")
    if len(run) > 1:
        lines.append(" ".join(run))
    return ResponseChart(
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        bars=bars,
        points=points,
        lines=lines,
        y_ticks=[
            TimeTick(y=round(bottom - v / y_max * plot_height, 2), text=unit_format % {"n": v})
            for v in range(0, y_max + 1, step)
        ],
        x_labels=date_labels([d.date for d in days], left=left, right=right, every=label_every),
    )
