"""machine_tags: once through ansible-playbook for every user-facing case, and its variants in process through the
_tags package against the HTTPS simulator (outcomes and the simulator's request log)."""

from __future__ import annotations

import itertools

import pytest

from tests.support.tags import TAGGER, converge, register_tagger, tag_client, tag_writes, tags_of


def test_machine_tags_through_ansible_playbook(simulator, ansible):
    register_tagger(simulator)
    fleet = [simulator.add_machine("ws-%d.contoso.local" % number, tags=("INC-4711",) if number == 0 else ()) for number in range(5)]
    ids = [machine["id"] for machine in fleet]
    names = [machine["computerDnsName"] for machine in fleet[3:]]

    run = ansible.playbook("machine_tags.yml", {"machine_ids": ids[:3], "machine_names": names}, env=TAGGER)

    assert run.rc == 0, run.output
    predicted, tagged, again = run.result("Predict"), run.result("Tag"), run.result("Tag again")
    untagged, untagged_again = run.result("Untag"), run.result("Untag again")
    [refusal] = [entry for entry in run.results if entry["task"] == "Too many machines"]
    refused = refusal["result"]
    # Check mode predicts the real run machine by machine, and the calls it would send.
    assert [entry["outcome"] for entry in predicted["machines"]] == ["would_add"] * 5
    assert [entry["outcome"] for entry in tagged["machines"]] == ["added"] * 5
    assert [entry["tags"] for entry in predicted["machines"]] == [
        {tag: outcome.replace("added", "would_add") for tag, outcome in entry["tags"].items()} for entry in tagged["machines"]]
    assert [entry["tags_after"] for entry in predicted["machines"]] == [entry["tags_after"] for entry in tagged["machines"]]
    assert (predicted["writes"], tagged["writes"]) == (2, 2)
    assert tagged["machines"][0]["tags"] == {"INC-4711": "already", "watch": "added"}
    assert [entry["tags_after"] for entry in tagged["machines"]] == [["INC-4711", "watch"]] + [["INC-4711", "watch"]] * 4
    # --diff shows each machine's tags before and after, in check mode and for real.
    for task, following in (("Predict", "Tag"), ("Tag", "Tag again")):
        shown = run.stdout.split("TASK [%s]" % task)[1].split("TASK [%s]" % following)[0]
        assert '+        "watch"' in shown and '"%s": [' % fleet[0]["computerDnsName"] in shown and '"%s": [' % names[0] in shown, shown
    assert [entry["machine_name"] for entry in tagged["machines"][3:]] == names
    assert tagged["summary"]["added"] == 5 and tagged["changed"] is True
    # Reruns change nothing and write nothing.
    assert (again["changed"], again["writes"], again["summary"]["already"]) == (False, 0, 5)
    assert [entry["outcome"] for entry in untagged["machines"]] == ["removed"] * 5 and untagged["changed"] is True
    assert (untagged_again["changed"], untagged_again["writes"]) == (False, 0)
    assert refusal["status"] == "ok" and refused["failed_when_result"] is False
    assert "more than max_machines (2): nothing was sent" in refused["msg"]
    assert "set max_machines: 5" in refused["msg"]
    # On the wire: the three writes the plan needed and nothing else; every task read the machines with one call
    # for the ids and one for the names, and the refused task read nothing.
    assert tag_writes(simulator) == [
        ("Add", "INC-4711", sorted(ids[1:]), 200), ("Add", "watch", sorted(ids), 200), ("Remove", "watch", sorted(ids), 200)]
    assert len(simulator.log_for(route="machines.list")) == 10
    assert tags_of(simulator) == {machine_id: ["INC-4711"] for machine_id in ids}


def test_a_thousand_machines_take_two_writes_one_listing_and_a_rerun_none(simulator):
    client = tag_client(simulator)
    ids = [machine["id"] for machine in simulator.seed_fleet(1000)]

    predicted = converge(client, check_mode=True, tags=["INC-4711"], machine_ids=ids)
    first = converge(client, tags=["INC-4711"], machine_ids=ids)
    rerun = converge(client, tags=["INC-4711"], machine_ids=ids)

    assert (predicted.writes, predicted.summary["would_add"], first.writes, first.summary["added"]) == (2, 1000, 2, 1000)
    assert [len(machine_ids) for _action, _tag, machine_ids, _status in tag_writes(simulator)] == [500, 500]
    assert (rerun.writes, rerun.changed, rerun.summary["already"]) == (0, False, 1000)
    assert len(simulator.log_for(route="machines.list")) == 3
    assert all(tags == ["INC-4711"] for tags in tags_of(simulator).values())


@pytest.mark.parametrize("unknown, case, answer", list(itertools.product(("refuse", "ignore"), ("insensitive", "sensitive"), ("machines", "empty"))))
def test_variants_in_process(simulator, unknown, case, answer):
    simulator.configure(tag_unknown_machines=unknown, tag_case=case, tag_bulk_response=answer)
    client = tag_client(simulator)
    spelled = simulator.add_machine("spelled.contoso.local", tags=("vip", "VIP") if case == "sensitive" else ("vip",))
    plain = simulator.add_machine("plain.contoso.local")
    names = ["spelled.contoso.local", "plain.contoso.local", "gone.contoso.local"]

    added = converge(client, tags=["VIP"], machine_names=names)
    rerun = converge(client, tags=["VIP"], machine_names=names[:2])
    removed = converge(client, tags=["VIP"], state="absent", machine_names=names[:2])
    removed_again = converge(client, tags=["VIP"], state="absent", machine_names=names[:2])

    assert [entry["outcome"] for entry in added.machines] == ["already", "added", "failed"]
    assert added.machines[2]["error"]["code"] == "MachineNotFound" and "gone.contoso.local" in added.failure
    # Only a machine without the exact spelling is told apart in a warning.
    assert any("differs from 'VIP' only in case" in warning for warning in added.warnings) == (case == "insensitive")
    assert (rerun.writes, rerun.changed) == (0, False)
    assert [entry["outcome"] for entry in removed.machines] == ["removed", "removed"]
    assert (removed_again.writes, removed_again.changed) == (0, False)
    assert tags_of(simulator) == {spelled["id"]: [], plain["id"]: []}
    removals = [(action, tag) for action, tag, _ids, _status in tag_writes(simulator) if action == "Remove"]
    # Each spelling the machines have is removed as they spell it: one call for "vip", one for "VIP".
    assert removals == [("Remove", "vip"), ("Remove", "VIP")]


def test_a_403_names_the_permission_and_stops_the_writes_check_mode_predicts_it(simulator):
    client = tag_client(simulator, roles=("Machine.Read.All",))
    ids = [machine["id"] for machine in simulator.seed_fleet(3)]

    predicted = converge(client, check_mode=True, tags=["a", "b"], machine_ids=ids)
    result = converge(client, tags=["a", "b"], machine_ids=ids)

    assert [entry["tags"] for entry in result.machines] == [{"a": "failed", "b": "unsent"}] * 3
    assert [entry["tags"] for entry in predicted.machines] == [{"a": "failed", "b": "unsent"}] * 3
    for entry in result.machines + predicted.machines:
        assert entry["outcome"] == "failed" and entry["error"]["missing_permission"] == "Machine.ReadWrite.All"
        assert "grant admin consent" in entry["error"]["message"]
    assert "Machine.ReadWrite.All" in result.failure and result.changed is False
    assert [(action, tag, status) for action, tag, _ids, status in tag_writes(simulator)] == [("Add", "a", 403)]
    assert tags_of(simulator) == {machine_id: [] for machine_id in ids}
