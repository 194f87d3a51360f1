"""The benchmark's generated marketplace has the shape it promises (bench/shape.py)."""

from collections import Counter

from bench.shape import HOT_SIZE, VENDORS, make_shape


def test_the_shape_holds_exactly_the_messages_asked_for_and_is_repeatable():
    one = make_shape(messages=123_457, end=2_000_000_000, seed=3)
    again = make_shape(messages=123_457, end=2_000_000_000, seed=3)

    assert sum(one.conv_count) == 123_457
    assert list(one.conv_count) == list(again.conv_count)
    assert list(one.conv_vendor) == list(again.conv_vendor)


def test_a_few_vendors_have_most_conversations_and_some_threads_are_long():
    shape = make_shape(messages=1_000_000, end=2_000_000_000)
    per_vendor = Counter(shape.conv_vendor)

    assert set(per_vendor) == set(range(VENDORS))
    assert per_vendor[0] > 0.25 * shape.conversations
    assert shape.hot == 2 and list(shape.conv_count[:2]) == [HOT_SIZE, HOT_SIZE]
    assert all(shape.conv_vendor[c] == 0 for c in range(shape.hot))
    assert max(shape.conv_count[shape.hot :]) >= 100


def test_customers_have_a_few_orders_and_an_order_at_most_two_vendors():
    shape = make_shape(messages=200_000, end=2_000_000_000)
    orders_per_customer = Counter(shape.order_customer)
    vendors_per_order = Counter(shape.conv_order)

    assert set(orders_per_customer.values()) <= {1, 2, 3, 4}
    assert set(vendors_per_order.values()) <= {1, 2}
    split = [c for c in range(shape.conversations) if vendors_per_order[shape.conv_order[c]] == 2]
    assert split and all(shape.order_is_split(c) for c in split)


def test_messages_of_a_conversation_are_in_time_order_and_never_in_the_future():
    shape = make_shape(messages=50_000, end=2_000_000_000)

    for c in range(0, shape.conversations, 97):
        times = [shape.message_time(c, s) for s in range(1, shape.conv_count[c] + 1)]
        assert times == sorted(times)
        assert times[-1] <= shape.end


def test_no_message_is_in_the_future_even_where_a_long_thread_starts_just_before_the_end():
    """At 10^7 messages one conversation of 630 began 268 seconds before the end: the
    roll-up (bench/dashboard.py) would have waited for its messages to be written."""
    shape = make_shape(messages=10_000_000, end=2_000_000_000)

    late = [
        c
        for c in range(shape.conversations)
        if shape.message_time(c, shape.conv_count[c]) > shape.end
    ]

    assert late == []
