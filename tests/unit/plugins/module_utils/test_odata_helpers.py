# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OData literals and clauses, and the batched look-up both the engine and the info modules use."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.odata import (
    BATCH_SIZE,
    LOOKUP_LIMIT,
    all_of,
    any_of,
    equals,
    list_where_any,
    name_spellings,
    odata_datetime,
    odata_string,
)
from tests.simulator.defender import MACHINE_TYPE
from tests.simulator.odata import compile_filter


@pytest.mark.parametrize("value, literal", [
    ("plain", "'plain'"),
    ("x' or true or 'y", "'x'' or true or ''y'"),
    ("''", "''''''"),
    ("", "''"),
    (42, "'42'"),
])
def test_string_literals_double_single_quotes(value, literal):
    assert odata_string(value) == literal


def test_a_quoted_value_is_one_literal_for_a_strict_parser():
    hostile = "x' or computerDnsName ne 'y"
    matches = compile_filter(equals("computerDnsName", hostile), MACHINE_TYPE)
    assert matches({"computerDnsName": hostile})
    assert not matches({"computerDnsName": "other"})


def test_datetime_literals_are_utc_and_floored_to_the_second():
    moment = datetime(2025, 3, 1, 13, 30, 15, 999999, tzinfo=timezone(timedelta(hours=1)))
    assert odata_datetime(moment) == "2025-03-01T12:30:15Z"


def test_clauses():
    assert any_of("id", ["a", "b'c"]) == "(id eq 'a' or id eq 'b''c')"
    assert all_of(["x eq 1", None, "", "y eq 2"]) == "x eq 1 and y eq 2"
    assert all_of([None]) is None


def test_name_spellings_add_the_lower_case_once():
    assert name_spellings(["WS-1", "ws-2", "WS-1"]) == ["WS-1", "ws-1", "ws-2"]


class Listing:
    """list_entities that records each $filter and returns entities with the ids it names."""

    def __init__(self, entities):
        self.entities = entities
        self.filters = []

    def __call__(self, odata_filter=None):
        self.filters.append(odata_filter)
        return list(self.entities)


def test_few_literals_are_listed_in_batches_and_repeats_are_dropped():
    listing = Listing([{"id": "A"}, {"id": "a"}, {"id": "b"}])
    found = list_where_any(listing, "id", ["x%d" % number for number in range(BATCH_SIZE + 1)], "z eq 1")
    assert found == [{"id": "A"}, {"id": "b"}]
    assert len(listing.filters) == 2
    assert listing.filters[0].count("id eq") == BATCH_SIZE and listing.filters[0].endswith(") and z eq 1")
    assert listing.filters[1] == "(id eq 'x%d') and z eq 1" % BATCH_SIZE


def test_an_ungrouped_lookup_sends_a_bare_or_chain():
    listing = Listing([])
    list_where_any(listing, "id", ["a", "b"], grouped=False)
    assert listing.filters == ["id eq 'a' or id eq 'b'"]


def test_many_literals_cost_one_listing_with_the_other_clauses_only():
    listing = Listing([])
    list_where_any(listing, "id", ["x%d" % number for number in range(LOOKUP_LIMIT + 1)], "z eq 1")
    assert listing.filters == ["z eq 1"]
