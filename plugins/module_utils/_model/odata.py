# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OData for the API's $filter: literals, clauses, and looking entities up by a list of values.

No value ever reaches a $filter as text someone wrote: strings are quoted with ``odata_string`` and datetimes are
rendered from parsed values, so a value can narrow a query, never change its logic.
"""

from __future__ import annotations

from datetime import timezone

from ansible_collections.mde.response.plugins.module_utils._model.entities import unique_by_id

# Values per filtered call: twenty quoted ids keep the URL well under the 2,048 characters proxies accept.
BATCH_SIZE = 20
# Beyond this many literals, one listing filtered by the other clauses costs fewer calls than the batches.
LOOKUP_LIMIT = 100


def odata_string(value):
    """Quote ``value`` as an OData string literal, so that user input can never change a $filter's logic."""
    return "'%s'" % str(value).replace("'", "''")


def odata_datetime(moment):
    """A DateTimeOffset literal in UTC, floored to the second, so that ``ge`` never skips the moment itself."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def equals(field_name, value):
    """``field eq 'value'``, the value quoted."""
    return "%s eq %s" % (field_name, odata_string(value))


def starts_with(field_name, value):
    """``startswith(field,'value')``, the value quoted."""
    return "startswith(%s,%s)" % (field_name, odata_string(value))


def name_or_prefix(field_name, name):
    """``eq`` for a full device name; ``startswith`` for one without a dot, which may also be a short name."""
    return equals(field_name, name) if "." in name else starts_with(field_name, name)


def or_chain(clauses):
    """The clauses joined with ``or``, without parentheses (a whole $filter, or a part the caller groups)."""
    return " or ".join(clauses)


def any_of(field_name, values):
    """``(field eq 'a' or field eq 'b')``, every value quoted."""
    return "(%s)" % or_chain(equals(field_name, value) for value in values)


def all_of(clauses):
    """The clauses joined with ``and``, or None when there is none."""
    present = [clause for clause in clauses if clause]
    return " and ".join(present) or None


def batches(items, size=BATCH_SIZE):
    """``items`` cut into lists of at most ``size``."""
    items = list(items)
    return [items[start:start + size] for start in range(0, len(items), size)]


def name_spellings(names):
    """Each name as given and lower-cased, without repeats.

    Defender stores device names lower-cased; whether it compares them case-sensitively is not documented.
    """
    return list(dict.fromkeys(spelling for name in names for spelling in (name, name.lower())))


def list_where_any(list_entities, field_name, literals, odata_filter=None, grouped=True, clause=equals):
    """Entities whose ``field_name`` may match one of ``literals`` and that match ``odata_filter``; no repeats.

    Each literal is compared with ``clause(field_name, literal)`` (``equals`` or ``name_or_prefix``). Up to
    LOOKUP_LIMIT literals: filtered calls in batches of BATCH_SIZE (``grouped`` puts each batch's or-chain in
    parentheses; without another clause the bare chain is the whole filter). More: one listing filtered by
    ``odata_filter`` alone. Either way the caller keeps only the entities it asked for.
    """
    if len(literals) > LOOKUP_LIMIT:
        return list_entities(odata_filter)
    entities = []
    for batch in batches(literals):
        chain = or_chain(clause(field_name, value) for value in batch)
        if grouped:
            chain = "(%s)" % chain
        entities.extend(list_entities(all_of([chain, odata_filter])))
    return unique_by_id(entities)
