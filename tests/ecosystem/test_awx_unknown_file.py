"""An AWX job of mde.response.quarantine for a hash Defender has no record of: the warning is in the job's events
(its output) and the file in its artifacts, and the job fails (a mistyped hash must not give a green job) unless
the survey's allow_unknown_files accepts it."""

import json

from tests.ecosystem.test_awx import endpoints, job_events, run_job, survey_answers
from tests.support.quarantine import TYPO_SHA1 as TYPO, ids, seed, writes


def test_the_job_output_and_artifacts_name_a_file_defender_has_no_record_of(simulator, tmp_path):
    machines = seed(simulator, 2)
    connection = simulator.connection
    credential = {"AZURE_CLIENT_ID": connection["client_id"], "AZURE_SECRET": connection["client_secret"],
                  "AZURE_TENANT": connection["tenant_id"]}

    status, output = run_job(tmp_path / "job", dict(credential, **endpoints(simulator)),
                             survey_answers(sha1=TYPO, comment="INC-4711: AWX job", machine_ids="\n".join(ids(machines))))

    assert status == "failed", output
    assert "Defender has no record of %s and nothing was quarantined for it" % TYPO in job_events(tmp_path / "job")
    assert len(writes(simulator)) == 2
    assert "Defender has no record of file %s in this tenant, so nothing could be quarantined" % TYPO in job_events(tmp_path / "job")
    events = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((tmp_path / "job" / "artifacts" / "job" / "job_events").iterdir())]
    [stats] = [event for event in events if event["event"] == "playbook_on_stats"]
    artifacts = stats["event_data"]["artifact_data"]
    assert artifacts["quarantine_file_unknown_files"] == [TYPO]
    assert {row["outcome"] for row in artifacts["quarantine_file_results"]} == {"not_present"}
    # The plan's check-mode run and the real run each asked once.
    assert [(entry["path"], entry["status"]) for entry in simulator.log_for(route="files.get")] == [("/api/files/%s" % TYPO, 404)] * 2
