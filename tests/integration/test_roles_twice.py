"""The three roles and the two playbooks through ansible-playbook, twice: the connection the play sets with
module_defaults reaches every role (a role's own connection variable adds to it), and a rerun with nothing to do
changes nothing, task by task."""

import re

from tests.simulator.config import CLIENT_ID, TENANT_ID, AppRegistration
from tests.support.quarantine import OTHER_SHA1, SHA1, WRITE, ids, seed
from tests.support.reports import written

PLAYBOOK = "roles_twice.yml"
INDICATOR_WRITES = ("indicators.submit", "indicators.import")
CONTAIN_APP_ID = "22222222-3333-4444-8555-666666666666"
CONTAIN_APP_SECRET = "contain-app-secret"
# Tasks that only read: they never report a change, not even on the first run.
READS = ("Read what a real run would do, before anything is written",)
# Tasks that made a change on the first run: the quarantines' (reported when their background jobs are followed),
# contain's indicator and the list's.
WRITES = ("Print the progress of the runs until every file is done", "Put the indicator in place for each file (or remove it)",
          "Converge the tenant's file indicators to the list")


def recap_changed(run):
    [changed] = re.findall(r"^localhost\s*:.*\bchanged=(\d+)", run.stdout, re.MULTILINE)
    return int(changed)


def changed_tasks(run):
    return sorted({entry["task"] for entry in run.results if entry["result"].get("changed")})


def test_the_plays_connection_reaches_every_role_and_a_rerun_changes_nothing(simulator, ansible, tmp_path):
    machines = seed(simulator, 2)
    simulator.register_app(AppRegistration(client_id=CONTAIN_APP_ID, secret=CONTAIN_APP_SECRET))
    # No environment variable: the connection comes from the play's module_defaults alone.
    no_environment = {variable: None for variable in simulator.connection_environment}
    variables = {"play_connection": simulator.connection, "mde_connection": simulator.connection,
                 "contain_app": {"client_id": CONTAIN_APP_ID, "client_secret": CONTAIN_APP_SECRET},
                 "sha1": SHA1, "listed_sha1": OTHER_SHA1, "comment": "INC-20", "observed": True,
                 "report_dir": str(tmp_path / "reports")}

    first = ansible.playbook(PLAYBOOK, extra_vars=variables, env=no_environment)

    assert first.rc == 0, first.output
    log = simulator.request_log
    tokens = [entry for entry in log if entry["route"] == "token"]
    assert tokens and all(TENANT_ID in entry["path"] for entry in tokens)
    assert {entry["appid"] for entry in tokens} == {CLIENT_ID, CONTAIN_APP_ID}
    # The quarantine_file role, first, made every action, with the play's application.
    assert written(simulator) == sorted((machine, SHA1) for machine in ids(machines))
    assert {entry["appid"] for entry in log if entry["route"] == WRITE} == {CLIENT_ID}
    indicators = {indicator["indicatorValue"]: entry["appid"] for entry in log if entry["route"] in INDICATOR_WRITES
                  for indicator in entry["body"].get("Indicators", [entry["body"]])}
    # contain's indicator with contain's own application, the list's with the play's.
    assert indicators == {SHA1: CONTAIN_APP_ID, OTHER_SHA1: CLIENT_ID}
    assert [task for task in changed_tasks(first) if task in READS] == []
    assert set(WRITES) <= set(changed_tasks(first))
    simulator.reset()

    rerun = ansible.playbook(PLAYBOOK, extra_vars=variables, env=no_environment)

    assert rerun.rc == 0, rerun.output
    assert [entry for entry in simulator.request_log if entry["method"] != "GET" and entry["route"] != "token"] == []
    assert (recap_changed(rerun), changed_tasks(rerun)) == (0, [])
