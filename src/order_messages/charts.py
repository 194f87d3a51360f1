"""Geometry for the dashboard's server-rendered SVG chart: numbers in, coordinates out.

The template only places what is computed here, so the chart needs no JavaScript and the
arithmetic can be tested without parsing SVG.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.utils.formats import date_format
from django.utils.translation import pgettext


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


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    value: int
    date: dt.date


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
    bars, markers, x_labels = [], [], []
    # Translators: how the dates under the dashboard chart are written, in the notation of
    # Django's "date" template filter ("M j" gives "Mar 5").
    label_format = pgettext("date format of the chart's axis", "M j")
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
            )
        )
        markers.append(
            Marker(x=round(centre, 2), y=y_of(day.disputes), value=day.disputes, date=day.date)
        )
        if (len(days) - 1 - i) % label_every == 0:
            text = date_format(day.date, label_format)
            if i == len(days) - 1:  # flush with the plot's end, so it cannot overflow
                x_labels.append(Label(x=right, text=text, date=day.date, anchor="end"))
            else:
                x_labels.append(Label(x=round(centre, 2), text=text, date=day.date))
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
        x_labels=x_labels,
    )
