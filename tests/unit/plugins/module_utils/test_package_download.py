"""Downloading investigation packages through the real DefenderClient from the simulator's download host."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.mde.response.plugins.module_utils._client.package_download import (
    MAX_LINKS,
    MAX_TRANSFERS,
    PackageDownloadError,
    PackageFile,
    download_package,
)
from ansible_collections.mde.response.plugins.module_utils._client.session import build_session
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError
from tests.support.connect_proxy import ConnectProxy
from tests.support.packages import DOWNLOAD, FAST, LINK, calls, collector_client, package_sha256

SIZE = 3 * 1024 * 1024 + 17     # several chunks, so that a transfer broken midway has written some


@pytest.fixture(name="collection")
def fixture_collection(simulator):
    # The client's clock runs FAST times real time (collector_client): so does the simulator's, for the link's limits.
    simulator.configure(investigation_package_bytes=SIZE, clock_speed=FAST)
    machine = simulator.add_machine("ws-01.contoso.local")
    return simulator.add_machine_action(machine["id"], action_type="CollectInvestigationPackage", status="Succeeded")


@pytest.fixture(name="folder")
def fixture_folder(tmp_path):
    """The destination folder, apart from the simulator's state."""
    path = tmp_path / "packages"
    path.mkdir()
    return path


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_a_package_downloads_whole_to_an_owner_only_file_with_no_token_and_no_secret_in_the_log(simulator, collection, folder):
    client = collector_client(simulator)
    path = str(folder / "ws-01.zip")

    package = client.download_package(collection["id"], path)

    assert package == PackageFile(path, SIZE, package_sha256(simulator, collection["id"]))
    assert PackageFile.of(path) == package
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and leftovers(folder) == []
    [download] = calls(simulator, DOWNLOAD)
    # The signature is the credential: no bearer token goes with it.
    assert (download["status"], download["appid"]) == (200, None)
    assert [entry["status"] for entry in calls(simulator, LINK)] == [200]


@pytest.mark.parametrize("ranges", ["honoured", "ignored"])
def test_a_broken_download_resumes_or_starts_over(simulator, collection, folder, ranges):
    simulator.configure(package_download_ranges=ranges)
    simulator.faults.add(DOWNLOAD, "break_midway", times=2)
    client = collector_client(simulator)

    package = client.download_package(collection["id"], str(folder / "p.zip"))

    assert (package.size, package.sha256) == (SIZE, package_sha256(simulator, collection["id"]))
    downloads = calls(simulator, DOWNLOAD)
    assert [entry["fault"] for entry in downloads] == ["break_midway", "break_midway", None]
    # Resumed with Range where the server serves ranges (206), whole again where it does not (200).
    assert downloads[-1]["status"] == (206 if ranges == "honoured" else 200)
    assert len(calls(simulator, LINK)) == 1 and leftovers(folder) == []


def test_a_download_that_keeps_breaking_fails_and_leaves_no_file(simulator, collection, folder):
    simulator.faults.add(DOWNLOAD, "break_midway")
    client = collector_client(simulator)

    with pytest.raises(PackageDownloadError) as failed:
        client.download_package(collection["id"], str(folder / "p.zip"))

    assert "broke %d times" % MAX_TRANSFERS in str(failed.value) and "run the task again" in str(failed.value)
    assert "sig=" not in str(failed.value) and "?" not in str(failed.value)
    assert os.listdir(folder) == [] and len(calls(simulator, DOWNLOAD)) == MAX_TRANSFERS


def test_an_expired_link_is_asked_for_again_and_the_download_goes_on(simulator, collection, folder):
    client = collector_client(simulator)
    links = []

    def link_that_expires_on_the_way():
        links.append(client.package_uri(collection["id"]))
        if len(links) == 1:
            simulator.clock.advance(simulator.config.package_uri_lifetime_seconds + 1)
        return links[-1]

    transport = client._transport  # pylint: disable=protected-access
    package = download_package(transport.session, link_that_expires_on_the_way, str(folder / "p.zip"), transport.clock, 10)

    assert package.sha256 == package_sha256(simulator, collection["id"]) and len(links) == 2
    assert [entry["status"] for entry in calls(simulator, DOWNLOAD)] == [403, 200]


def test_links_refused_again_and_again_fail_without_showing_the_signature(simulator, collection, folder):
    simulator.configure(package_uri_lifetime_seconds=-1)
    client = collector_client(simulator)

    with pytest.raises(PackageDownloadError) as failed:
        client.download_package(collection["id"], str(folder / "p.zip"))

    message = str(failed.value)
    assert "refused %d package links" % MAX_LINKS in message and "clock" in message and "sig" not in message
    assert len(calls(simulator, LINK)) == MAX_LINKS and os.listdir(folder) == []


def test_the_link_of_a_collection_not_complete_is_the_apis_404(simulator, folder):
    machine = simulator.add_machine("ws-02.contoso.local")
    running = simulator.add_machine_action(machine["id"], action_type="CollectInvestigationPackage", status="InProgress")
    client = collector_client(simulator)

    with pytest.raises(ApiError) as refused:
        client.download_package(running["id"], str(folder / "p.zip"))

    assert refused.value.http_status == 404 and os.listdir(folder) == [] and calls(simulator, DOWNLOAD) == []


def test_a_link_that_is_not_https_is_not_followed(folder):
    with pytest.raises(PackageDownloadError) as refused:
        download_package(None, lambda: "http://store.example/p.zip?sig=secret", str(folder / "p.zip"), None, 10)
    assert "not HTTPS (http://store.example/p.zip)" in str(refused.value) and "secret" not in str(refused.value)
    assert os.listdir(folder) == []


def session_for(simulator, **options):
    """A session built from connection settings as the API's is (TLS trust, proxy)."""
    settings = ConnectionSettings.from_options(dict(simulator.connection, token_cache=False, timeout=10, **options), environ={})
    return build_session(settings)


def test_the_download_goes_through_the_proxy_of_the_connection_settings(simulator, collection, folder):
    client = collector_client(simulator)
    with ConnectProxy() as proxy:
        session = session_for(simulator, proxy_url=proxy.url())
        package = download_package(session, lambda: client.package_uri(collection["id"]), str(folder / "p.zip"),
                                   client._transport.clock, 10)  # pylint: disable=protected-access
        tunnelled = proxy.targets()
    assert package.size == SIZE and tunnelled == ["127.0.0.1:%s" % simulator.base_url.rsplit(":", 1)[1]]


def test_a_store_whose_certificate_is_not_trusted_is_refused_at_once(simulator, collection, folder):
    client = collector_client(simulator)
    untrusting = session_for(simulator, ca_path=None)

    with pytest.raises(PackageDownloadError) as refused:
        download_package(untrusting, lambda: client.package_uri(collection["id"]), str(folder / "p.zip"),
                         client._transport.clock, 10)  # pylint: disable=protected-access

    assert "set ca_path" in str(refused.value) and calls(simulator, DOWNLOAD) == [] and os.listdir(folder) == []
