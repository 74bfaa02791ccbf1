"""Hostile input: OData injection, malformed ids and hashes, odd comments, control characters, 10,000 names.

The module runs in this process (tests/support/in_process.py), which checks its options as a task does."""

import re

import pytest

from tests.support.quarantine import SHA1, WRITE, outcomes, quarantine_in_process, seed, writes
from tests.support.reliability import INPUT_REFUSALS, case_options, refused_cleanly

INJECTIONS = ["x' or machineId ne 'y", "ws-02.contoso.local' or '1' eq '1", "a&$top=1#"]
# One name term of an OData $filter: the property compared with (or, for a name without a dot, starting with) a
# string literal in which a quote is written twice.
NAME_TERM = re.compile(r"computerDnsName eq '((?:[^']|'')*)'|startswith\(computerDnsName,'((?:[^']|'')*)'\)")


@pytest.mark.parametrize("case", sorted(INPUT_REFUSALS))
def test_refused_before_any_request(refusals, measured, case):
    """Each malformed input is refused with a message that says what is wrong, before any request (the request
    log stays empty: no token, no API call)."""
    result = refusals.results[case]
    measured(result.get("msg"))
    problem = refused_cleanly(result, INPUT_REFUSALS[case][1])
    assert problem is None, problem
    assert refusals.request_log == []


def name_literals(odata_filter):
    """The names an `or` chain of computerDnsName terms compares with, read as OData reads string literals;
    None when the filter is anything else (an injection would make it something else)."""
    terms = list(NAME_TERM.finditer(odata_filter))
    if " or ".join(term.group(0) for term in terms) != odata_filter:
        return None
    return [(term.group(1) if term.group(1) is not None else term.group(2)).replace("''", "'") for term in terms]


def test_odata_injection_in_names_matches_nothing(simulator, modules, wire, measured):
    """Names that try to widen the $filter (quotes, `or`, `&$top=`) are sent as escaped string literals, match no
    machine and are reported as not found; only the machine named correctly gets an action."""
    machines = seed(simulator, 3)
    names = INJECTIONS + [machines[0]["computerDnsName"]]

    run, result = quarantine_in_process(modules, machine_names=names, allow_partial=True)

    lookups = [answer for answer in wire.answers if answer.route == "machines.list"]
    sent = [name_literals(answer.parameters.get("$filter", "")) for answer in lookups]
    logged = [entry["query"] for entry in simulator.log_for(route="machines.list")]
    by_name = {entry["machine_name"]: entry for entry in result["actions"]}
    measured("filter sent: %s; outcomes: %s" % (
        lookups[0].parameters.get("$filter") if lookups else None, {name: entry["outcome"] for name, entry in by_name.items()}))
    assert not run.failed, run.result
    assert len(lookups) == 1 and sent[0] is not None, "the filter is not a plain list of name comparisons: %s" % logged
    # Every name, as given and lower-cased, is one literal; nothing else.
    assert sorted(set(sent[0])) == sorted({spelling for name in names for spelling in (name, name.lower())})
    assert "'x'' or machineId ne ''y'" in logged[0]
    assert outcomes(result) == {machines[0]["id"]: "created", None: "failed"}
    assert all(by_name[name]["error"]["code"] == "MachineNotFound" for name in INJECTIONS)
    assert [entry["path"].split("/")[3] for entry in writes(simulator)] == [machines[0]["id"]]


def test_ten_thousand_names_are_handled(simulator, modules, measured):
    """10,000 names (the most one task takes) are looked up with one listing of the fleet, not one call per name,
    and each gets its own result: created for the 30 that exist, MachineNotFound for the others."""
    simulator.seed_fleet(30, observed_sha1=SHA1)

    result = modules.run("stop_and_quarantine_file", **case_options({"name_count": 10000})).result

    summary = result.get("summary", {})
    measured("%d results (created %d, failed %d); %d machine listings, %d writes" % (
        len(result.get("actions", [])), summary.get("created", 0), summary.get("failed", 0),
        simulator.counters.get("machines.list", 0), len(writes(simulator))))
    assert len(result["actions"]) == 10000
    assert summary["created"] == 30 and summary["failed"] == 9970
    assert {entry["error"]["code"] for entry in result["actions"] if entry["outcome"] == "failed"} == {"MachineNotFound"}
    assert simulator.counters.get("machines.list") == 1
    assert len(writes(simulator)) == 30
    assert simulator.counters.get(WRITE + " 201") == 30
