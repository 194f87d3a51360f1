"""The benchmark's split of a request's time (bench/breakdown.py) charges each moment to the
innermost part running, and its parts add up to the whole."""

import time

from bench.breakdown import PARTS, Clock, table, timed_as


def test_time_goes_to_the_innermost_part_and_the_parts_add_up():
    clock = Clock()
    clock.restart()

    def statement():
        time.sleep(0.02)

    def render():
        time.sleep(0.01)
        timed_as(clock, "database", statement)()  # a query run while rendering

    began = time.perf_counter()
    time.sleep(0.01)  # the view's own work
    timed_as(clock, "templates", render)()
    whole = (time.perf_counter() - began) * 1000
    spent = clock.restart()

    assert set(spent) == set(PARTS)
    assert 19 <= spent["database"] < 30
    assert 9 <= spent["templates"] < 19  # its own time, not the statement's
    assert 9 <= spent["the rest"] < 19
    assert spent["the store"] == spent["session and user"] == 0
    assert abs(sum(spent.values()) - whole) < 2


def test_a_part_that_raises_is_left_all_the_same():
    clock = Clock()
    clock.restart()

    def failing():
        raise ValueError

    try:
        timed_as(clock, "the store", failing)()
    except ValueError:
        pass
    time.sleep(0.01)

    assert clock.stack == ["the rest"]
    assert clock.restart()["the rest"] >= 9


def test_the_table_gives_each_part_its_share_and_the_cost_in_floor_requests():
    rows = [
        {"scenario": "floor", "p50_ms": 2.0, "mean_ms": 2.0, **dict.fromkeys(PARTS, 0.5)},
        {
            "scenario": "thread",
            "p50_ms": 9.5,
            "mean_ms": 10.0,
            "database": 2.0,
            "templates": 5.0,
            "the store": 0.0,
            "the rest": 2.0,
            "session and user": 1.0,
        },
    ]
    text = table({"ours": {"messages": 10_000, "rows": rows}})

    line = next(line for line in text.splitlines() if line.startswith("| thread |"))
    assert line == (
        "| thread | ours | 9.50 | 10.00 | 5.00 | 1.00 (10%) | 2.00 (20%) | 5.00 (50%) | — "
        "| 2.00 (20%) |"
    )
