"""investigation_package's kind, options and downloads after the collections, without Ansible."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import succeeded_since
from ansible_collections.mde.response.plugins.module_utils._actions.action_results import EngineResult
from ansible_collections.mde.response.plugins.module_utils._actions.kind import SETTLE, WRITE
from ansible_collections.mde.response.plugins.module_utils._client.package_download import PackageDownloadError, PackageFile
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import COLLECT
from ansible_collections.mde.response.plugins.module_utils._model.machine_support import unsupported_code, unsupported_details
from ansible_collections.mde.response.plugins.module_utils._model.odata import all_of, equals, or_chain
from ansible_collections.mde.response.plugins.module_utils._packages.collection import CollectionKind
from ansible_collections.mde.response.plugins.module_utils._packages.download import fetch_packages, package_name, present_package
from ansible_collections.mde.response.plugins.module_utils._packages.request import PackageOptions
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, InputError
from tests.support.packages import collector_client

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ACTION_ID = "5d1c2b3a-0000-4000-8000-00000000aa01"


def collection(status, hours_ago=1, action_id=ACTION_ID):
    created = (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return {"id": action_id, "type": COLLECT, "status": status, "creationDateTimeUtc": created,
            "computerDnsName": "WS-01.contoso.local"}


def kind(within=86400):
    return CollectionKind("INC-1", wait_timeout=1800, succeeded_since=succeeded_since(NOW, within))


def test_a_collection_in_flight_or_recently_succeeded_is_existing_anything_else_collects_again():
    running, done, old, failed = (collection("InProgress"), collection("Succeeded"), collection("Succeeded", hours_ago=30),
                                  collection("Failed", hours_ago=0))
    assert (kind().decide(None, [failed, running, done]).step, kind().decide(None, [failed, running]).action) == (SETTLE, running)
    assert kind().decide(None, [failed, done]).action == done
    assert kind().decide(None, [old, failed]).step == WRITE
    assert kind(within=0).decide(None, [done]).step == WRITE
    assert kind().body() == {"Comment": "INC-1"}


def test_the_history_read_asks_for_collections_in_flight_and_those_succeeded_within_the_window(simulator):
    machine = simulator.add_machine("ws-01.contoso.local")
    seeded = {status: simulator.add_machine_action(machine["id"], action_type=COLLECT, status=status, created=created)
              for status, created in (("Pending", None), ("Succeeded", None), ("Failed", None))}
    simulator.add_machine_action(machine["id"], action_type=COLLECT, status="Succeeded", created="2020-01-01T00:00:00Z")
    client = collector_client(simulator)

    clauses = CollectionKind("x", 60, succeeded_since(simulator.clock.now(), 86400)).status_clauses(simulator.clock.now())
    read = client.list_machine_actions(all_of([equals("type", COLLECT), "(%s)" % or_chain(clauses)]))

    assert sorted(action["id"] for action in read) == sorted(seeded[status]["id"] for status in ("Pending", "Succeeded"))


def test_each_os_the_collection_does_not_run_on_is_unsupported_before_anything_is_sent():
    rule = CollectionKind.support
    assert unsupported_code({"osPlatform": "Windows11"}, rule) is None
    assert unsupported_code({"osPlatform": "Windows10", "version": "1703"}, rule) is None
    assert unsupported_code({"osPlatform": "Windows10", "version": "1607"}, rule) == "ClientVersionNotSupported"
    assert unsupported_code({"osPlatform": "Android"}, rule) == "OsPlatformNotSupported"
    assert "Windows 10 version 1703" in unsupported_details("ClientVersionNotSupported", {}, rule=rule)["message"]


def test_options_need_an_absolute_folder_and_a_duration(tmp_path):
    assert PackageOptions.from_options({"dest": str(tmp_path)}) == PackageOptions(str(tmp_path), 86400)
    assert PackageOptions.from_options({"dest": str(tmp_path / "new") + "/", "succeeded_within": "2h"}).succeeded_within == 7200
    with pytest.raises(InputError, match=r'\{\{ playbook_dir \}\}/packages'):
        PackageOptions.from_options({"dest": "packages"})
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        PackageOptions.from_options({"dest": str(tmp_path / "file")})
    with pytest.raises(InputError, match="succeeded_within must be"):
        PackageOptions.from_options({"dest": str(tmp_path), "succeeded_within": "a day"})


def entry(outcome, status="Succeeded", action_id=ACTION_ID):
    return {"machine_id": "m1", "machine_name": "ws-01", "outcome": outcome, "action_id": action_id, "status": status,
            "error": None, "action": collection(status, action_id=action_id) if action_id else None}


def engine_result(*entries):
    summary = {outcome: sum(item["outcome"] == outcome for item in entries) for outcome in ("created", "existing", "would_create", "failed")}
    return EngineResult(changed=any(item["outcome"] == "created" for item in entries), summary=summary, actions=list(entries))


class FakeClient:
    def __init__(self, error=None):
        self.downloads = []
        self.error = error

    def download_package(self, action_id, path):
        self.downloads.append(action_id)
        if self.error:
            raise self.error
        with open(path, "wb") as stream:
            stream.write(b"zip")
        return PackageFile.of(path)


def test_a_package_already_in_dest_is_not_downloaded_again_and_changes_nothing(tmp_path):
    client = FakeClient()
    first = fetch_packages(client, engine_result(entry("existing")), str(tmp_path / "out"), check_mode=False)
    assert (first.changed, first.actions[0]["download"]) == (True, "downloaded")
    assert first.actions[0]["package"]["path"] == str(tmp_path / "out" / ("ws-01.contoso.local_%s.zip" % ACTION_ID))
    assert oct(os.stat(tmp_path / "out").st_mode & 0o777) == "0o700"

    again = fetch_packages(client, engine_result(entry("existing")), str(tmp_path / "out"), check_mode=False)
    predicted = fetch_packages(None, engine_result(entry("existing")), str(tmp_path / "out"), check_mode=True)
    assert (again.changed, again.actions[0]["download"], again.actions[0]["package"]) == (False, "present", first.actions[0]["package"])
    assert predicted.actions[0]["download"] == "present" and client.downloads == [ACTION_ID]


def test_check_mode_names_the_file_a_real_run_would_write_and_writes_nothing(tmp_path):
    result = fetch_packages(None, engine_result(entry("existing"), entry("existing", status="Pending", action_id="b2"),
                                                entry("would_create", status=None, action_id=None), entry("failed", "Failed", "c3")),
                            str(tmp_path / "out"), check_mode=True)
    assert [item["download"] for item in result.actions] == ["would_download", "would_download", "would_download", None]
    assert result.actions[1]["package"] == {"path": str(tmp_path / "out" / "ws-01.contoso.local_b2.zip"), "size": None, "sha256": None}
    assert result.actions[2]["package"] is None and not os.path.exists(tmp_path / "out")
    # A file a real run would write is a change even where no collection is asked for.
    assert fetch_packages(None, engine_result(entry("existing")), str(tmp_path / "out"), check_mode=True).changed


@pytest.mark.parametrize("error", [PackageDownloadError("GET https://store/p.zip: the download broke 5 times"),
                                   ApiError("The package is not available", code="ResourceNotFound", http_status=404)])
def test_a_failed_download_fails_the_machine_keeps_its_collection_and_says_a_rerun_downloads_it(tmp_path, error):
    result = fetch_packages(FakeClient(error), engine_result(entry("created")), str(tmp_path), check_mode=False)
    [failed] = result.actions
    assert (failed["outcome"], failed["download"], failed["action_id"]) == ("failed", "failed", ACTION_ID)
    assert "run the task again within succeeded_within" in failed["error"]["message"]
    assert result.summary["failed"] == 1 and result.summary["created"] == 0 and result.changed
    assert os.listdir(tmp_path) == []


def test_file_names_are_safe_and_found_again_whatever_name_they_were_saved_under(tmp_path):
    odd = dict(entry("existing"), action={"computerDnsName": "../Evil host"}, action_id="a/b")
    assert package_name(odd) == "_evil_host_a_b.zip"
    (tmp_path / ("old-name_%s.zip" % ACTION_ID)).write_bytes(b"zip")
    (tmp_path / (".x_%s.zip.part" % ACTION_ID)).write_bytes(b"half")
    assert present_package(str(tmp_path), ACTION_ID) == str(tmp_path / ("old-name_%s.zip" % ACTION_ID))
    assert present_package(str(tmp_path / "missing"), ACTION_ID) is None


def test_a_link_refused_for_a_missing_permission_stops_the_downloads_left(tmp_path):
    refusal = ApiError("Missing application roles. API required roles: Machine.Read.All,Machine.ReadWrite.All, application"
                       " roles: Machine.CollectForensics.", code="Forbidden", http_status=403)
    client = FakeClient(refusal)

    result = fetch_packages(client, engine_result(entry("existing"), entry("existing", action_id="b2")), str(tmp_path), False)

    assert client.downloads == [ACTION_ID]
    assert [item["error"]["missing_permission"] for item in result.actions] == ["Machine.Read.All"] * 2
    assert "not asked for: an earlier package link was refused" in result.actions[1]["error"]["message"]
    assert [item["download"] for item in result.actions] == ["failed", "failed"]
