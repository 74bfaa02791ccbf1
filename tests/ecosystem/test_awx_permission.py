"""An AWX job of mde.response.quarantine with an app that lacks Machine.StopAndQuarantine: one refused write, and
the job's artifacts (set_stats) carry every machine's failure with its code and the permission to grant."""

import json

from tests.ecosystem.test_awx import endpoints, job_events, run_job, survey_answers
from tests.simulator.config import AppRegistration
from tests.support.quarantine import SHA1, ids, seed, writes

LIMITED_APP_ID = "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"
LIMITED_APP_SECRET = "limited8Q~awx-secret.value"


def test_the_job_artifacts_show_every_machine_refused_for_the_missing_permission(simulator, tmp_path):
    machines = seed(simulator, 12)
    simulator.register_app(AppRegistration(client_id=LIMITED_APP_ID, secret=LIMITED_APP_SECRET, roles=("Machine.Read.All",)))
    credential = {"AZURE_CLIENT_ID": LIMITED_APP_ID, "AZURE_SECRET": LIMITED_APP_SECRET, "AZURE_TENANT": simulator.connection["tenant_id"]}

    status, output = run_job(tmp_path / "job", dict(credential, **endpoints(simulator)),
                             survey_answers(sha1=SHA1, comment="INC-4711: AWX job", machine_ids="\n".join(ids(machines))))

    assert status == "failed", output
    assert [entry["status"] for entry in writes(simulator)] == [403]
    events = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((tmp_path / "job" / "artifacts" / "job" / "job_events").iterdir())]
    [stats] = [event for event in events if event["event"] == "playbook_on_stats"]
    artifacts = stats["event_data"]["artifact_data"]
    assert artifacts["quarantine_file_summary"]["failed"] == 12
    failures = artifacts["quarantine_file_failures"]
    assert sorted(failure["machine_id"] for failure in failures) == sorted(ids(machines))
    assert {(failure["error"]["code"], failure["error"]["http_status"], failure["error"]["missing_permission"])
            for failure in failures} == {("Forbidden", 403, "Machine.StopAndQuarantine")}
    assert {row["outcome"] for row in artifacts["quarantine_file_results"]} == {"failed"}
    text = job_events(tmp_path / "job")
    assert "The application lacks the permission Machine.StopAndQuarantine (12 machine(s) refused or not sent)" in text
    assert "then grant admin consent" in text and "MDE_TOKEN_CACHE=false" in text
