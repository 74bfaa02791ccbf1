"""Where it runs: a HOME that is not the account's home, as in containers and CI runners."""

from tests.support.quarantine import FAST, SHA1, seed
from tests.support.reports import written
from tests.support.role_tasks import FACT_TASK

PLAYBOOK = "role_quarantine_file.yml"


def test_waiting_works_when_home_is_not_the_accounts_home(simulator, ansible, tmp_path, measured):
    """HOME points elsewhere than the account's home in the password database: the role's background jobs (every
    real run) write their status where the job status reads of quarantine_progress look, so every file is waited
    for and reported, never "could not find job"."""
    machines = seed(simulator, 2)
    simulator.configure(clock_speed=FAST)
    home = tmp_path / "home"
    home.mkdir()

    run = ansible.playbook(PLAYBOOK, env={"MDE_TIME_SCALE": FAST, "HOME": str(home)}, extra_vars={
        "quarantine_file_comment": "INC-7", "quarantine_file_sha1s": SHA1, "quarantine_file_observed": True,
        "quarantine_file_wait": True})
    actions = run.result(FACT_TASK)["ansible_facts"]["quarantine_file_report"]["files"][0]["actions"] if run.rc == 0 else []
    measured("rc %d; %d writes; outcomes %s; 'could not find job' in the output: %s" % (
        run.rc, len(written(simulator)), sorted((entry["outcome"], entry["status"]) for entry in actions),
        "could not find job" in run.output))

    assert run.rc == 0, run.output
    assert "could not find job" not in run.output
    assert sorted((entry["machine_id"], entry["outcome"], entry["status"]) for entry in actions) == sorted(
        (machine["id"], "created", "Succeeded") for machine in machines)
