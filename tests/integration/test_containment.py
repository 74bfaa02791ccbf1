"""machine_isolation and app_restriction: once through ansible-playbook for both modules (outcomes, the request log,
reruns, check mode, protection, a crossing action), and their variants in process against the HTTPS simulator."""

from __future__ import annotations

import pytest

from tests.support.containment import CONTAINER, MODULE_OF, contain, history, outcomes, register_container, sent, states
from tests.support.quarantine import FAST


def fleet(simulator, count, **machine_options):
    return [simulator.add_machine("ws-%02d.contoso.local" % number, **machine_options) for number in range(count)]


def ids(machines):
    return [machine["id"] for machine in machines]


def test_isolation_and_restriction_through_ansible_playbook(simulator, ansible):
    register_container(simulator)
    released, isolated, crossing, protected, old = (
        simulator.add_machine("ws-0.contoso.local"), simulator.add_machine("ws-1.contoso.local"),
        simulator.add_machine("ws-2.contoso.local"), simulator.add_machine("dc-1.contoso.local", tags=("domain-controller",)),
        simulator.add_machine("ws-4.contoso.local", os_platform="Windows10", version="1607"))
    history(simulator, isolated, ("Unisolate", "Succeeded", 120), ("Isolate", "Succeeded", 60, "Selective"),
            ("RestrictCodeExecution", "Succeeded", 50))
    _isolate, release = history(simulator, crossing, ("Isolate", "Succeeded", 90), ("Unisolate", "Pending", 5))
    machines = [released, isolated, crossing, protected, old]

    run = ansible.playbook("containment.yml", {"machine_ids": ids(machines)}, env=CONTAINER)

    assert run.rc == 0, run.output
    predicted, isolating, again = run.result("Predict isolation"), run.result("Isolate"), run.result("Isolate again")
    expected = ["created", "existing", "failed", "protected", "unsupported"]
    assert outcomes(isolating) == expected
    # Check mode predicts the real run machine by machine.
    assert outcomes(predicted) == ["would_create"] + expected[1:]
    assert states(predicted, "state_before", "state_after", "isolation_type_after") == states(
        isolating, "state_before", "state_after", "isolation_type_after")
    assert states(isolating, "state_before", "isolation_type_before", "state_after", "isolation_type_after") == [
        ("released", None, "isolated", "Full"), ("isolated", "Selective", "isolated", "Selective"),
        ("isolated", "Full", "isolated", "Full"), (None, None, None, None), (None, None, None, None)]
    assert isolating["actions"][2]["error"]["code"] == "CrossingActionInFlight"
    assert release["id"] in isolating["actions"][2]["error"]["message"]
    assert isolating["actions"][3]["protected"]["reason"] == "it has the protected tag domain-controller"
    assert isolating["actions"][4]["unsupported"]["code"] == "ClientVersionNotSupported"
    assert isolating["changed"] is True and predicted["changed"] is True
    # The rerun finds the Isolate it sent in flight: nothing to do.
    assert outcomes(again) == ["existing"] + expected[1:] and again["changed"] is False
    assert again["actions"][0]["action_id"] == isolating["actions"][0]["action_id"]

    restricting, restricted_again = run.result("Restrict"), run.result("Restrict again")
    expected = ["created", "existing", "created", "protected", "unsupported"]
    assert outcomes(run.result("Predict restriction")) == ["would_create", "existing", "would_create", "protected", "unsupported"]
    assert outcomes(restricting) == expected and restricting["changed"] is True
    assert states(restricting) == [("unrestricted", "restricted"), ("restricted", "restricted"), ("unrestricted", "restricted"),
                                   (None, None), (None, None)]
    assert "isolation_type_after" not in restricting["actions"][0]
    assert outcomes(restricted_again) == ["existing", "existing", "existing", "protected", "unsupported"]
    assert restricted_again["changed"] is False
    # On the wire: one Isolate and two restrictions, nothing across the crossing action, nothing to the protected or
    # unsupported machines, nothing in check mode or in the reruns.
    written = [(action_type, machine_id, status) for action_type, machine_id, _body, status in sent(simulator)]
    # The writes of one task go out in parallel.
    assert written[:1] + sorted(written[1:]) == [("Isolate", released["id"], 201)] + sorted(
        [("RestrictCodeExecution", released["id"], 201), ("RestrictCodeExecution", crossing["id"], 201)])
    assert sent(simulator)[0][2] == {"Comment": "INC-4711: contain", "IsolationType": "Full"}
    # Each run read the machines' actions of both types with one list call.
    assert len(simulator.log_for(route="machineactions.list")) == 6
