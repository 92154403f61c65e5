"""Pages of listings read from streams: cursors, offsets, limits, rows that move, without a lake."""

import base64
import json

import pytest

from jupyterlab_odlake.core.errors import InvalidRequest
from jupyterlab_odlake.core.rucio.paging import MAX_PAGE, Cursors, Position, rows_page, stream_page


class Rows:
    """A stream as Rucio gives one: rows in its order, counting what was read."""

    def __init__(self, rows):
        self.rows, self.read, self.asked = list(rows), 0, []

    def __call__(self, wanted):
        self.asked.append(wanted)
        for row in self.rows:
            self.read += 1
            yield row


def walk(streams, limit, cursors=None, listing="k"):
    cursors = cursors or Cursors()
    cursor, pages = None, []
    while True:
        page = stream_page(listing, streams, str, limit, cursor, cursors)
        pages.append(page)
        cursor = page.next
        if cursor is None:
            return pages


def test_cursor_pages_walk_every_stream_once_in_its_order():
    a, b = Rows(range(10)), Rows(range(100, 103))
    pages = walk([a, b], 4)
    assert [i for p in pages for i in p.items] == [*range(10), 100, 101, 102]
    assert [p.total for p in pages] == [None, None, None, 13]  # the count is known once the end is read


def test_a_page_reads_only_the_rows_up_to_its_end():
    big = Rows(range(100_000))
    page = stream_page("k", [big], str, 100, None, Cursors())
    assert page.items == list(range(100)) and page.total is None and page.next
    assert big.read == 101 and big.asked == [101]  # Rucio is told how many rows are needed
    assert stream_page("k", [Rows(range(5))], str, 100, None, Cursors()).total == 5


def test_an_offset_jumps_and_the_last_page_has_no_cursor():
    page = stream_page("k", [Rows(range(10))], str, 4, None, Cursors(), offset=8)
    assert page.items == [8, 9] and page.next is None and page.total == 10
    page = stream_page("k", [Rows(range(3)), Rows(range(10, 20))], str, 4, None, Cursors(), offset=5)
    assert page.items == [12, 13, 14, 15] and page.next


def test_rows_added_or_removed_before_the_cursor_neither_repeat_nor_vanish():
    rows = [f"n{i:03}" for i in range(0, 40, 2)]
    cursors = Cursors()
    first = stream_page("k", [Rows(rows)], str, 5, None, cursors)
    assert first.items == rows[:5]
    grown = sorted([*rows, "n001", "n003"])  # two rows come before the cursor's place
    second = stream_page("k", [Rows(grown)], str, 5, first.next, cursors)
    assert second.items == rows[5:10]
    shrunk = [r for r in rows if r != "n002"]
    again = stream_page("k", [Rows(shrunk)], str, 5, first.next, cursors)
    assert again.items == rows[5:10]


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1])
def test_limits_outside_the_range_are_refused(limit):
    with pytest.raises(InvalidRequest, match="limit"):
        stream_page("k", [Rows([])], str, limit, None, Cursors())


def test_a_negative_offset_is_refused():
    with pytest.raises(InvalidRequest, match="offset"):
        stream_page("k", [Rows([])], str, 10, None, Cursors(), offset=-1)


def forged(cursor):
    signature, body = base64.urlsafe_b64decode(cursor).decode().split(".", 1)
    data = json.loads(body)
    data["offset"] = 0
    return base64.urlsafe_b64encode(f"{signature}.{json.dumps(data)}".encode()).decode()


def test_foreign_forged_and_expired_cursors_are_refused():
    cursors = Cursors(seconds=60)
    good = cursors.encode("k", Position(0, 4, 4, "3"))
    cases = [
        ("garbage!", "not one this server gave out"),
        (forged(good), "not one this server gave out"),
        (Cursors().encode("k", Position(0, 4, 4)), "not one this server gave out"),  # another server's
        (cursors.encode("other", Position(0, 4, 4)), "another listing"),
        (cursors.encode("k", Position(0, 4, 4), now=0), "expired"),
        (base64.urlsafe_b64encode(b'x.{"o": Infinity}').decode(), "not one this server gave out"),
    ]
    for cursor, reason in cases:
        with pytest.raises(InvalidRequest, match=reason):
            stream_page("k", [Rows(range(10))], str, 4, cursor, cursors)
    assert stream_page("k", [Rows(range(10))], str, 4, good, cursors).items == [4, 5, 6, 7]


class Held:
    """A listing held whole, read by position, counting the rows read."""

    def __init__(self, rows):
        self.rows, self.read = list(rows), 0

    def __call__(self, start, count):
        found = self.rows[start : start + count]
        self.read += len(found)
        return found


def test_pages_by_row_are_the_stream_pages_and_read_only_their_rows():
    rows = [f"n{i:04}" for i in range(2345)]
    cursors, held = Cursors(), Held(rows)
    cursor, by_row = None, []
    while True:
        page = rows_page("k", held, len(rows), str, 100, cursor, cursors)
        by_row += page.items
        assert page.total == len(rows)
        cursor = page.next
        if cursor is None:
            break
    assert by_row == [i for p in walk([Rows(rows)], 100, cursors) for i in p.items] == rows
    assert held.read == len(rows) + 23  # each page its own rows, and the anchor row before it
    page = rows_page("k", held, len(rows), str, 10, None, cursors, offset=2340)
    assert page.items == rows[2340:] and page.next is None


def test_a_cursor_goes_from_the_stream_to_rows_and_back():
    rows = [f"n{i:04}" for i in range(50)]
    cursors = Cursors()
    first = stream_page("k", [Rows(rows)], str, 10, None, cursors)
    second = rows_page("k", Held(rows), len(rows), str, 10, first.next, cursors)
    third = stream_page("k", [Rows(rows)], str, 10, second.next, cursors)
    assert first.items + second.items + third.items == rows[:30]


def test_rows_moved_before_a_cursor_are_found_by_its_anchor_in_rows_too():
    rows = [f"n{i:03}" for i in range(0, 40, 2)]
    cursors = Cursors()
    first = rows_page("k", Held(rows), len(rows), str, 5, None, cursors)
    grown = sorted([*rows, "n001", "n003"])
    assert rows_page("k", Held(grown), len(grown), str, 5, first.next, cursors).items == rows[5:10]
    shrunk = [r for r in rows if r != "n002"]
    assert rows_page("k", Held(shrunk), len(shrunk), str, 5, first.next, cursors).items == rows[5:10]
    with pytest.raises(InvalidRequest, match="another listing"):
        rows_page("other", Held(rows), len(rows), str, 5, first.next, cursors)
