"""The mde.response.contain playbook on a fleet with machines it cannot act on and an offline one, then released:
outcomes that tell the truth, progress while it waits, and only the writes that can work on the wire."""

import re

from tests.integration.test_contain_playbook import PLAYBOOK, nonzero, reports, survey_answers
from tests.support.quarantine import FAST, SHA1, WRITE

CANCEL = "machineactions.cancel"


def fleet(simulator):
    """Two online Windows machines, an offline laptop, a Mac and a Windows 10 below 1703, all holding the file."""
    machines = {
        "ws-01": simulator.add_machine("ws-01.contoso.local", observed_files=[SHA1]),
        "ws-02": simulator.add_machine("ws-02.contoso.local", os_platform="Windows10", version="22H2", observed_files=[SHA1]),
        "laptop-07": simulator.add_machine("laptop-07.contoso.local", health_status="Inactive", quarantine_outcome="Pending",
                                           observed_files=[SHA1]),
        "mac-01": simulator.add_machine("mac-01.contoso.local", os_platform="macOS", observed_files=[SHA1]),
        "desktop-legacy": simulator.add_machine("desktop-legacy.contoso.local", os_platform="Windows10", version="1607", observed_files=[SHA1]),
    }
    simulator.add_file(SHA1, observed_on=[machine["id"] for machine in machines.values()])
    return machines


def outcomes_by_name(report):
    return {entry["machine_name"].split(".")[0]: entry["outcome"] for file in report["files"] for entry in file["machines"]["actions"]}


def test_contain_skips_unsupported_machines_shows_progress_and_release_names_the_quarantined(simulator, ansible):
    machines = fleet(simulator)
    simulator.configure(clock_speed=FAST)
    # The offline laptop is waited for two and a half real seconds, with a progress line each second.
    answers = survey_answers(sha1=SHA1, comment="INC-4711: dropper", wait="yes", wait_timeout="300", report_dir="contained")

    run = ansible.playbook(PLAYBOOK, extra_vars=dict(answers, contain_progress_interval=1), env={"MDE_TIME_SCALE": FAST})

    # Unsupported machines fail nothing (the indicator covers them) and get no write; the offline one is queued.
    assert run.rc == 0, run.output
    assert "DEPRECATION" not in run.output, run.output
    written = sorted(entry["params"]["machine_id"] for entry in simulator.log_for(route=WRITE))
    assert written == sorted(machines[name]["id"] for name in ("ws-01", "ws-02", "laptop-07"))
    report, _markdown = reports(ansible.workdir + "/contained")
    assert outcomes_by_name(report) == {"ws-01": "created", "ws-02": "created", "laptop-07": "queued", "mac-01": "unsupported",
                                        "desktop-legacy": "unsupported"}
    assert report["failures"] == [] and nonzero(report["summary"]["machines"]) == {"created": 2, "queued": 1, "unsupported": 2}
    assert "2 machine(s) cannot run StopAndQuarantineFile and got no action: mac-01.contoso.local (OsPlatformNotSupported), " \
           "desktop-legacy.contoso.local (ClientVersionNotSupported)" in run.output
    assert [item["indicatorValue"] for item in simulator.indicators.indicators()] == [SHA1]
    # Progress lines while it waits: the offline machine named, and only final actions counted as done.
    lines = re.findall(r"^%s: (\d+)/5 machines done.*$" % SHA1, run.stdout, re.MULTILINE)
    waiting = [line for line in run.stdout.splitlines() if line.startswith(SHA1 + ":") and "waiting for the actions" in line]
    assert lines and waiting, run.stdout
    assert all("1 machine(s) offline (laptop-07.contoso.local): their actions stay Pending until the machines connect" in line
               for line in waiting), waiting
    assert not [line for line in waiting if line.startswith(SHA1 + ": 5/5")], waiting

    # Release: the pending action is cancelled, the succeeded ones are reported quarantined with how to restore.
    simulator.reset()
    release = ansible.playbook(PLAYBOOK, extra_vars=survey_answers(sha1=SHA1, comment="INC-4711: false positive", state="absent",
                                                                   report_dir="released"), env={"MDE_TIME_SCALE": FAST})

    assert release.rc == 0, release.output
    assert [entry["path"] for entry in simulator.log_for(route=WRITE)] == []
    assert len(simulator.log_for(route=CANCEL)) == 1
    report, markdown = reports(ansible.workdir + "/released")
    assert outcomes_by_name(report) == {"ws-01": "quarantined", "ws-02": "quarantined", "laptop-07": "cancelled", "mac-01": "unsupported",
                                        "desktop-legacy": "unsupported"}
    assert "releasing does not restore a file: it stays quarantined on 2 machine(s)" in release.output
    assert "MpCmdRun.exe" in release.output and "-Restore -Name EUS:Win32/CustomEnterpriseBlock -All" in release.output
    assert "quarantined 2" in release.stdout and "not_present" not in nonzero(report["summary"]["machines"])
    assert "| quarantined |" in markdown or "quarantined" in markdown
