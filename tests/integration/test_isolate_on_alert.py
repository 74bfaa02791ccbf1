"""The isolate_on_alert rulebook's playbook, run once through ansible-playbook with the extra variables the rulebook
renders from a high-severity alert: it counts this automation's isolations of the last hour in Defender, under the
cap it isolates the alerted machine, and nothing else is written. The cap's refusal and its counting rules are
unit-tested (tests/unit/plugins/plugin_utils/test_machine_action.py); ansible-rulebook itself runs in make test-eda."""

from __future__ import annotations

import os
from datetime import timedelta

import jinja2
import yaml

from tests.support.ansible_runner import REPO
from tests.support.machine_actions import RESPONDER, action_writes, register_responder

RULEBOOK = os.path.join(REPO, "extensions", "eda", "rulebooks", "isolate_on_alert.yml")
MARKER = "[mde.response isolate_on_alert]"


def rulebook_extra_vars(event):
    """The rule's run_playbook extra_vars rendered with ``event``, as ansible-rulebook renders them."""
    with open(RULEBOOK, encoding="utf-8") as handle:
        [ruleset] = yaml.safe_load(handle)
    [rule] = ruleset["rules"]
    action = rule["action"]["run_playbook"]
    assert action["name"] == "mde.response.isolate_on_alert"
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return {name: environment.from_string(value).render(event=event) if isinstance(value, str) else value
            for name, value in action["extra_vars"].items()}


def test_an_alert_under_the_cap_isolates_its_machine_and_only_it(simulator, ansible):
    register_responder(simulator)
    alerted = simulator.add_machine("ws-0042.contoso.local")
    others = [simulator.add_machine("ws-%02d.contoso.local" % number) for number in range(1, 5)]
    now = simulator.clock.now()
    # This automation's isolations in the last hour count; older ones, cancelled ones and other people's do not.
    for machine in others[:2]:
        simulator.add_machine_action(machine["id"], action_type="Isolate", status="Succeeded", created=now - timedelta(minutes=10),
                                     comment="%s Defender alert da-1: earlier" % MARKER)
    simulator.add_machine_action(others[2]["id"], action_type="Isolate", status="Succeeded", created=now - timedelta(minutes=5),
                                 comment="INC-9: by hand")
    simulator.add_machine_action(others[3]["id"], action_type="Isolate", status="Succeeded", created=now - timedelta(hours=3),
                                 comment="%s Defender alert da-0: long ago" % MARKER)
    event = {"alert": {"id": "da637472900382838869_1364969609", "severity": "High", "status": "New", "title": "Ransomware behavior",
                       "machineId": alerted["id"], "computerDnsName": alerted["computerDnsName"]}}
    extra_vars = rulebook_extra_vars(event)

    run = ansible.playbook("mde.response.isolate_on_alert", extra_vars=extra_vars, env=RESPONDER)

    assert run.rc == 0, run.output
    assert action_writes(simulator) == [("Isolate", alerted["id"], 201)]
    [isolation] = simulator.log_for(route="machines.isolate")
    assert isolation["body"]["Comment"] == "%s Defender alert %s: Ransomware behavior" % (MARKER, event["alert"]["id"])
    assert "2 of 5 isolation(s) this hour so far: isolating %s" % alerted["id"] in run.output
    assert run.result("Refuse above the cap per hour")["changed"] is False
    assert simulator.log_for(route="machineactions.list")
