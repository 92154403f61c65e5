"""Pages of a listing from a snapshot: cursors, offsets, limits, without a lake."""

import pytest

from jupyterlab_odlake.core.errors import InvalidRequest
from jupyterlab_odlake.core.paging import MAX_PAGE, Snapshots, encode_cursor


def test_cursor_pages_walk_the_whole_listing_once():
    produced = []

    def produce():
        produced.append(1)
        return list(range(10))

    snapshots, cursor, seen = Snapshots(), None, []
    while True:
        page = snapshots.page("k", produce, 4, cursor)
        seen += page.items
        assert page.total == 10
        cursor = page.next
        if cursor is None:
            break
    assert seen == list(range(10))
    assert len(produced) == 1  # later pages come from the snapshot


def test_an_offset_jumps_and_the_last_page_has_no_cursor():
    page = Snapshots().page("k", lambda: range(10), 4, offset=8)
    assert page.items == [8, 9] and page.next is None


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1])
def test_limits_outside_the_range_are_refused(limit):
    with pytest.raises(InvalidRequest, match="limit"):
        Snapshots().page("k", lambda: [], limit)


def test_a_negative_offset_is_refused():
    with pytest.raises(InvalidRequest, match="offset"):
        Snapshots().page("k", lambda: [], 10, offset=-1)


@pytest.mark.parametrize(
    "cursor, reason",
    [
        ("garbage!", "not one this server gave out"),
        (encode_cursor("other", 4), "another listing"),
        (encode_cursor("k", -3), "another listing"),
    ],
)
def test_a_foreign_cursor_is_refused(cursor, reason):
    with pytest.raises(InvalidRequest, match=reason):
        Snapshots().page("k", lambda: range(10), 4, cursor)


def test_a_snapshot_expires():
    calls = []
    snapshots = Snapshots(seconds=0)
    snapshots.page("k", lambda: calls.append(1) or [1, 2, 3], 1)
    snapshots.page("k", lambda: calls.append(1) or [1, 2, 3], 1, offset=1)
    assert len(calls) == 2
