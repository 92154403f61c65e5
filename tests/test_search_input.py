"""Search input Rucio's server would misread or fail on is refused first, with what to write instead."""

import pytest

from jupyterlab_odlake.core.errors import InvalidRequest
from jupyterlab_odlake.core.rucio.search import check_filters, check_pattern


@pytest.mark.parametrize(
    "pattern, said",
    [
        ("343981", "as a number"),
        ("0", "as a number"),
        ("1.5", "as a number"),
        ("None", "as the value None"),
        ("True", "as the value True"),
        ("(1, 2)", "as a Python value"),
        ("2024-01-31T00:00:00", "as a date"),
        ("true", "turns 'true'"),
        ("untrue_sample", "turns 'true'"),
        ("*FALSE*", "turns 'true'"),
    ],
)
def test_a_pattern_rucio_would_misread_is_refused_with_advice(pattern, said):
    with pytest.raises(InvalidRequest, match=said):
        check_pattern(pattern)


@pytest.mark.parametrize(
    "pattern", ["*", "GamGam*", "*343981*", "mc_343981.ggH125_gamgam.GamGam.root", "data-1", "a%b"]
)
def test_ordinary_patterns_pass(pattern):
    check_pattern(pattern)


@pytest.mark.parametrize(
    "groups, said",
    [
        ([{"length.gt": "x", "name": "*"}], "length needs a whole number"),
        ([{"bytes": "1e3", "name": "*"}], "bytes needs a whole number"),
        ([{"created_before": "notadate", "name": "*"}], "created_before needs a date"),
        ([{"name": "*"}, {"created_after": "yesterday", "name": "*"}], "created_after needs a date"),
    ],
)
def test_filter_values_rucio_cannot_compare_are_refused(groups, said):
    with pytest.raises(InvalidRequest, match=said):
        check_filters(groups)


def test_good_filter_values_pass():
    check_filters([{"length.gte": "3", "created_after": "2020-01-01T00:00:00", "dsid": "343981", "name": "*"}])
