"""investigation_package: once through ansible-playbook, and its variants in process against the HTTPS simulator
(outcomes, files on disk and the simulator's request log)."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.support.packages import (
    COLLECTOR,
    COLLECT,
    DOWNLOAD,
    FAST,
    LINK,
    calls,
    collect_in_process,
    outcomes,
    package_sha256,
    register_collector,
)

SIZE = 300_000


@pytest.fixture(name="fast")
def fixture_fast(simulator):
    simulator.configure(clock_speed=FAST, investigation_package_bytes=SIZE)
    return simulator


def files(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_investigation_package_through_ansible_playbook(fast, ansible, tmp_path):
    register_collector(fast)
    fresh, collected = fast.add_machine("ws-01.contoso.local"), fast.add_machine("ws-02.contoso.local")
    earlier = fast.add_machine_action(collected["id"], action_type="CollectInvestigationPackage", status="Succeeded")
    dest = tmp_path / "packages"

    run = ansible.playbook("investigation_package.yml", {"machine_names": ["ws-01.contoso.local", "ws-02.contoso.local"],
                                                         "dest": str(dest)}, env=dict(COLLECTOR, MDE_TIME_SCALE=FAST))

    assert run.rc == 0, run.output
    predicted, done, again, predicted_again = (run.result(task) for task in ("Predict", "Collect", "Collect again", "Predict again"))
    assert outcomes(done) == [("created", "downloaded"), ("existing", "downloaded")] and done["changed"]
    new_id = done["actions"][0]["action_id"]
    # Check mode predicted the real run machine by machine, down to the file of the collection that already existed.
    assert outcomes(predicted) == [("would_create", "would_download"), ("existing", "would_download")] and predicted["changed"]
    assert predicted["actions"][1]["package"]["path"] == done["actions"][1]["package"]["path"]
    expected = {"ws-01.contoso.local_%s.zip" % new_id: package_sha256(fast, new_id),
                "ws-02.contoso.local_%s.zip" % earlier["id"]: package_sha256(fast, earlier["id"])}
    assert {name: hashlib.sha256((dest / name).read_bytes()).hexdigest() for name in files(dest)} == expected
    assert [entry["package"]["sha256"] for entry in done["actions"]] == list(expected.values())
    # The rerun and its prediction change nothing.
    for rerun in (again, predicted_again):
        assert (rerun["changed"], outcomes(rerun)) == (False, [("existing", "present"), ("existing", "present")])
    # On the wire: one collection (for the machine without one), one link and one download per package; no secret
    # of the link in the play's output.
    assert [entry["params"]["machine_id"] for entry in calls(fast, COLLECT)] == [fresh["id"]]
    assert sorted(entry["params"]["action_id"] for entry in calls(fast, LINK)) == sorted([new_id, earlier["id"]])
    assert [entry["status"] for entry in calls(fast, DOWNLOAD)] == [200, 200]
    assert "sig=" not in run.output and "safedownload" not in run.output


def test_a_collection_is_waited_for_downloaded_and_a_rerun_does_nothing(fast, modules, tmp_path):
    machine = fast.add_machine("ws-01.contoso.local")
    dest = tmp_path / "packages"

    predicted = collect_in_process(modules, dest, check=True, machine_names=["WS-01.contoso.local"])
    # Check mode writes nothing, not even the folder.
    assert not dest.exists()
    first = collect_in_process(modules, dest, machine_names=["WS-01.contoso.local"])
    rerun = collect_in_process(modules, dest, machine_ids=[machine["id"]])
    again_predicted = collect_in_process(modules, dest, check=True, machine_ids=[machine["id"]])

    assert outcomes(predicted.result) == [("would_create", "would_download")] and predicted.changed
    assert not first.failed, first.result
    [entry] = first.result["actions"]
    assert (entry["outcome"], entry["status"], entry["download"], first.changed) == ("created", "Succeeded", "downloaded", True)
    name = "ws-01.contoso.local_%s.zip" % entry["action_id"]
    assert entry["package"] == {"path": str(dest / name), "size": SIZE, "sha256": package_sha256(fast, entry["action_id"])}
    assert files(dest) == [name] and oct(os.stat(dest / name).st_mode & 0o777) == "0o600"
    # The rerun (by id this time) adopts the same collection and finds its file: no write, no link, no download.
    assert (rerun.changed, outcomes(rerun.result), rerun.result["actions"][0]["package"]) == (
        False, [("existing", "present")], entry["package"])
    assert outcomes(again_predicted.result) == [("existing", "present")] and not again_predicted.changed
    assert [len(calls(fast, route)) for route in (COLLECT, LINK, DOWNLOAD)] == [1, 1, 1]
    assert calls(fast, COLLECT)[0]["body"] == {"Comment": "INC-4711: forensics"}


def test_a_download_broken_midway_is_resumed_and_the_file_is_whole(fast, modules, tmp_path):
    fast.add_machine("ws-01.contoso.local")
    fast.faults.add(DOWNLOAD, "break_midway", times=1)

    run = collect_in_process(modules, tmp_path / "p", machine_names=["ws-01.contoso.local"])

    [entry] = run.result["actions"]
    assert not run.failed and entry["package"]["sha256"] == package_sha256(fast, entry["action_id"])
    assert [(item["fault"], item["status"]) for item in calls(fast, DOWNLOAD)] == [("break_midway", 200), (None, 206)]
    assert files(tmp_path / "p") == [os.path.basename(entry["package"]["path"])]


def test_links_that_expire_fail_the_machine_and_a_rerun_downloads_without_collecting_again(fast, modules, tmp_path):
    fast.add_machine("ws-01.contoso.local")
    fast.configure(package_uri_lifetime_seconds=-1)

    failed = collect_in_process(modules, tmp_path / "p", machine_names=["ws-01.contoso.local"])
    left = files(tmp_path / "p")
    fast.configure(package_uri_lifetime_seconds=300)
    rerun = collect_in_process(modules, tmp_path / "p", machine_names=["ws-01.contoso.local"])

    [entry] = failed.result["actions"]
    assert failed.failed and (entry["outcome"], entry["download"], entry["status"]) == ("failed", "failed", "Succeeded")
    assert entry["error"]["code"] == "PackageDownloadFailed" and "run the task again within succeeded_within" in entry["error"]["message"]
    assert "ws-01.contoso.local (PackageDownloadFailed)" in failed.result["msg"]
    message = entry["error"]["message"] + failed.result["msg"] + " ".join(failed.warnings)
    assert "sig=" not in message and "se=" not in message
    assert left == []
    assert (not rerun.failed, outcomes(rerun.result)) == (True, [("existing", "downloaded")])
    assert rerun.result["actions"][0]["action_id"] == entry["action_id"] and len(calls(fast, COLLECT)) == 1
    # Three links refused as expired, then one that worked.
    assert [item["status"] for item in calls(fast, DOWNLOAD)] == [403, 403, 403, 200]


def test_no_link_is_asked_for_before_the_collection_is_complete_and_the_apis_404_fails_the_machine(fast, modules, tmp_path):
    slow = fast.add_machine("slow.contoso.local")
    fast.add_machine("ws-01.contoso.local")
    fast.add_machine_action(slow["id"], action_type="CollectInvestigationPackage", status="InProgress")
    fast.faults.add(LINK, "status", status=404, times=1)

    run = collect_in_process(modules, tmp_path / "p", machine_names=["slow.contoso.local", "ws-01.contoso.local"],
                             wait_timeout=60, allow_partial=True)

    running, refused = run.result["actions"]
    assert (running["outcome"], running["error"]["code"], running["download"]) == ("failed", "WaitTimeout", None)
    assert (refused["outcome"], refused["download"], refused["error"]["http_status"]) == ("failed", "failed", 404)
    assert "run the task again within succeeded_within" in refused["error"]["message"]
    # The collection still running was joined, not asked for again, and its link never asked for.
    assert [item["params"]["machine_id"] for item in calls(fast, COLLECT)] == [refused["machine_id"]]
    assert [item["params"]["action_id"] for item in calls(fast, LINK)] == [refused["action_id"]]
    assert files(tmp_path / "p") == []


def test_a_400_for_a_collection_the_list_does_not_show_yet_fails_until_a_rerun_downloads_its_package(fast, modules, tmp_path):
    machine = fast.add_machine("ws-01.contoso.local")
    fast.configure(list_lag_seconds=3600)
    running = fast.add_machine_action(machine["id"], action_type="CollectInvestigationPackage", status="Pending",
                                      outcome="Succeeded")

    unlisted = collect_in_process(modules, tmp_path / "p", machine_ids=[machine["id"]])
    fast.configure(list_lag_seconds=0)
    rerun = collect_in_process(modules, tmp_path / "p", machine_ids=[machine["id"]])

    [entry] = unlisted.result["actions"]
    assert unlisted.failed and (entry["outcome"], entry["error"]["code"]) == ("failed", "CollectionNotListed")
    assert "run the task again in a few minutes" in entry["error"]["message"]
    # The API's 400 was the only write; the rerun joins the collection that ran, and downloads its package.
    assert [item["status"] for item in calls(fast, COLLECT)] == [400]
    [again] = rerun.result["actions"]
    assert (not rerun.failed, again["outcome"], again["action_id"], again["download"]) == (True, "existing", running["id"], "downloaded")


def test_a_missing_collect_permission_is_predicted_refused_named_and_nothing_is_downloaded(fast, modules, tmp_path):
    machines = [fast.add_machine("ws-%02d.contoso.local" % number)["id"] for number in range(3)]
    roles = ("Machine.Read.All",)

    predicted = collect_in_process(modules, tmp_path / "p", check=True, roles=roles, machine_ids=machines)
    refused = collect_in_process(modules, tmp_path / "p", roles=roles, machine_ids=machines)

    for run in (predicted, refused):
        assert run.failed and "Machine.CollectForensics" in run.result["msg"]
        assert {entry["error"]["missing_permission"] for entry in run.result["actions"]} == {"Machine.CollectForensics"}
    # The first refused write stops the others; no link or download follows.
    assert [item["status"] for item in calls(fast, COLLECT)] == [403]
    assert calls(fast, LINK) == [] and files(tmp_path / "p") == []


def test_machines_that_cannot_collect_are_unsupported_and_get_nothing(fast, modules, tmp_path):
    old = fast.add_machine("old.contoso.local", os_platform="Windows10", version="1607")
    mac = fast.add_machine("mac.contoso.local", os_platform="macOS", version="14.5")

    run = collect_in_process(modules, tmp_path / "p", machine_ids=[old["id"], mac["id"]])

    assert not run.failed and outcomes(run.result) == [("unsupported", None), ("unsupported", None)]
    assert [entry["unsupported"]["code"] for entry in run.result["actions"]] == ["ClientVersionNotSupported", "OsPlatformNotSupported"]
    # Decided from the entity for the old Windows; the API's refusal for macOS, which no rule decides here.
    assert [item["params"]["machine_id"] for item in calls(fast, COLLECT)] == [mac["id"]]
    assert calls(fast, LINK) == [] and not run.changed


def test_bad_input_is_refused_before_any_request(fast, modules, tmp_path):
    (tmp_path / "file").write_text("x")
    cases = {"dest must be an absolute path": dict(dest="packages"), "is a file, not a folder": dict(dest=tmp_path / "file"),
             "wait: false cannot be honoured": dict(dest=tmp_path, wait=False),
             "more than max_machines (25)": dict(dest=tmp_path, machine_names=["ws-%d" % n for n in range(26)])}
    for words, options in cases.items():
        options.setdefault("machine_names", ["ws-01.contoso.local"])
        run = collect_in_process(modules, options.pop("dest"), **options)
        assert run.failed and words in run.result["msg"], run.result
    assert [entry for entry in fast.request_log if entry["route"].startswith(("machine", "packages"))] == []
