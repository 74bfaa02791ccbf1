"""A well-formed SHA-1 Defender has never seen in the tenant (a typo) is said plainly, apart from not_present:
by the module (run in this process, tests/support/in_process.py), and through ansible-playbook by the role and the
mde.response.quarantine playbook, against the simulator."""

import os

import pytest

from tests.integration.test_quarantine_playbook import run_collection_playbook, survey_answers
from tests.simulator.config import AppRegistration
from tests.support.messages import NO_RECORD, NOTHING_QUARANTINED, NOTHING_WOULD_BE_QUARANTINED
from tests.support.quarantine import OTHER_SHA1, TYPO_SHA1 as TYPO, ids, outcomes, seed, writes
from tests.support.reports import report_files
from tests.support.role_tasks import FINAL_TASK, STATS_TASK, SUMMARY_TASK

NO_FILE_READ_APP = {"AZURE_CLIENT_ID": "11111111-2222-4333-8444-555555555555", "AZURE_CLIENT_SECRET": "no-file-read-secret"}


def quarantine(modules, sha1, check=False, env=None, **options):
    """The module once, in this process: the run and the module's result."""
    run = modules.run("stop_and_quarantine_file", check=check, env=env, sha1=sha1, comment="integration test", **options)
    return run, run.result


def warned(run, text):
    return any(text in warning for warning in run.warnings)


def file_lookups(simulator):
    return [(entry["path"], entry["status"]) for entry in simulator.log_for(route="files.get")]


@pytest.mark.parametrize("unknown_file_response", ["resource_not_found", "not_found", "no_body"])
def test_a_hash_defender_has_no_record_of_is_a_warning_not_a_quiet_success(simulator, modules, unknown_file_response):
    machines = seed(simulator, 3)
    simulator.configure(unknown_file_response=unknown_file_response)

    run, result = quarantine(modules, TYPO, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"not_present"} and result["changed"] is False
    assert result["file_known"] is False
    assert warned(run, NOTHING_QUARANTINED % TYPO), run.warnings
    # Asked once for the run, not once per machine.
    assert file_lookups(simulator) == [("/api/files/%s" % TYPO, 404)]
    assert len(writes(simulator)) == 3


def test_a_known_file_absent_from_the_targets_is_not_present_without_that_warning(simulator, modules):
    machines = seed(simulator, 2)
    elsewhere = simulator.add_machine("elsewhere.contoso.local")
    simulator.add_file(OTHER_SHA1, observed_on=[elsewhere["id"]])

    run, result = quarantine(modules, OTHER_SHA1, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"not_present"}
    assert result["file_known"] is True
    assert not warned(run, "no record of file"), run.warnings
    assert file_lookups(simulator) == [("/api/files/%s" % OTHER_SHA1, 200)]


def test_check_mode_warns_that_nothing_would_be_quarantined(simulator, modules):
    machines = seed(simulator, 2)

    run, result = quarantine(modules, TYPO, check=True, machine_ids=ids(machines))

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"would_create"}
    assert result["file_known"] is False
    assert warned(run, NOTHING_WOULD_BE_QUARANTINED % TYPO), run.warnings
    assert file_lookups(simulator) == [("/api/files/%s" % TYPO, 404)]
    assert writes(simulator) == []


def test_an_app_without_file_read_gets_no_false_warning(simulator, modules):
    machines = seed(simulator, 2)
    simulator.register_app(AppRegistration(client_id=NO_FILE_READ_APP["AZURE_CLIENT_ID"], secret=NO_FILE_READ_APP["AZURE_CLIENT_SECRET"],
                                           roles=("Machine.Read.All", "Machine.StopAndQuarantine")))

    run, result = quarantine(modules, TYPO, machine_ids=ids(machines), env=NO_FILE_READ_APP)

    assert not run.failed, run.result
    assert set(outcomes(result).values()) == {"not_present"}
    assert result["file_known"] is None
    assert run.warnings == []
    assert file_lookups(simulator) == [("/api/files/%s" % TYPO, 403)]


# By default a file unknown to Defender that nothing was quarantined for fails the job (a mistyped hash must not give
# a green job); the survey's allow_unknown_files accepts it.
@pytest.mark.parametrize("wait, allow_unknown_files", [("no", "no"), ("yes", "yes")])
def test_the_playbook_names_the_unknown_file_in_its_summary_report_and_statistics(simulator, ansible, wait, allow_unknown_files):
    machines = seed(simulator, 2)
    elsewhere = simulator.add_machine("elsewhere.contoso.local")
    simulator.add_file(OTHER_SHA1, observed_on=[elsewhere["id"]])

    # With wait the role runs the module as background jobs and reads their results with async_status.
    run = run_collection_playbook(ansible, survey_answers(sha1="%s %s" % (TYPO, OTHER_SHA1), comment="INC-4711: typo",
                                                          machine_ids=" ".join(ids(machines)), wait=wait, report_dir="reports",
                                                          allow_unknown_files=allow_unknown_files))

    final = run.result(FINAL_TASK)
    if allow_unknown_files == "yes":
        assert run.rc == 0, run.output
    else:
        assert run.rc != 0, run.output
        # The typo alone is named, and the playbook's variable that accepts it.
        assert "Defender has no record of %s and nothing was quarantined for it" % TYPO in final["msg"]
        assert OTHER_SHA1 not in final["msg"] and "set allow_unknown_files to true" in final["msg"]
    summary = run.result(SUMMARY_TASK)["msg"]
    typo_line = summary.index("%s: not_present 2" % TYPO)
    assert summary[typo_line + 1].startswith("WARNING: " + NOTHING_QUARANTINED % TYPO)
    assert summary[typo_line + 2] == "%s: not_present 2" % OTHER_SHA1
    assert "no record of file %s" % OTHER_SHA1 not in run.output
    report, _table = report_files(os.path.join(ansible.workdir, "reports"))
    assert report["unknown_files"] == [TYPO]
    assert [(file["sha1"], file["file_known"]) for file in report["files"]] == [(TYPO, False), (OTHER_SHA1, True)]
    [markdown] = [name for name in os.listdir(os.path.join(ansible.workdir, "reports")) if name.endswith(".md")]
    with open(os.path.join(ansible.workdir, "reports", markdown), encoding="utf-8") as handle:
        assert NO_RECORD % TYPO in handle.read()
    assert run.result(STATS_TASK)["ansible_stats"]["data"]["quarantine_file_unknown_files"] == [TYPO]
    # Once for the plan (a check-mode run) and once for the run that found the file absent: never per machine.
    assert sorted(file_lookups(simulator)) == sorted([("/api/files/%s" % TYPO, 404)] * 2 + [("/api/files/%s" % OTHER_SHA1, 200)] * 2)
