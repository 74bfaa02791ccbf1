"""Indicators as code when the token cannot be renewed part way through the writes."""

from tests.simulator.config import CLIENT_ID
from tests.integration.test_role_file_indicators import calls, converge


def test_a_token_that_cannot_be_renewed_between_imports_keeps_what_was_written(simulator, ansible, tmp_path, measured):
    """600 entries take two imports; the tenant revokes the token at the second, and the token service refuses the
    renewal: the first 500 stay reported as created, the other 100 and the deletions are named unsent, nothing more
    is sent, and the task says changed."""
    stale = [simulator.indicators.add_indicator("%040x" % (1000 + number), created_by=CLIENT_ID, source_type="AadApp",
                                                application="mde.response:blocked-files") for number in range(2)]
    simulator.faults.add("indicators.import", "revoke_token", start=2, times=1)
    simulator.faults.add("token", "status", start=2, status=400)
    entries = [{"file_hash": "%040x" % number} for number in range(600)]

    run, result = converge(ansible, tmp_path, entries, file_indicators_exclusive=True, file_indicators_max_deletions=2,
                           file_indicators_max_deletion_percent=100)

    sent = [(entry["route"], entry["status"]) for entry in calls(simulator) if entry["method"] != "GET"]
    measured("%s; changed=%s, %d created, %d unsent; writes sent: %s" % (
        result.get("msg"), result.get("changed"), len(result.get("created", ())), len(result.get("unsent", ())), sent))
    assert run.rc != 0
    assert result["changed"] is True and len(result["created"]) == 500
    assert [item["write"] for item in result["unsent"]] == ["create"] * 100 + ["delete"] * 2
    assert result["error"]["code"] == "AuthenticationFailed"
    assert sent[0] == ("indicators.import", 200) and "indicators.delete" not in {route for route, _status in sent}
    assert len(simulator.indicators.indicators()) == 502 and {item["id"] for item in stale} <= {
        item["id"] for item in simulator.indicators.indicators()}
    assert "List blocked-files: 500 created, 0 updated, 0 deleted, 0 unchanged" in run.stdout
    assert "102 write(s) were not sent" in result["msg"] and "500 write(s) went through" in result["msg"]
