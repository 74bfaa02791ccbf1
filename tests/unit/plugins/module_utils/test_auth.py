# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Token providers against the simulator's token service, over real HTTPS with real msal flows."""

import hashlib
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time

import jwt
import msal
import pytest
import requests

from ansible_collections.mde.response.plugins.module_utils._client.auth import (
    ClientCredentialTokenProvider, ManagedIdentityTokenProvider, StaticTokenProvider, build_token_provider, readable_description)
from ansible_collections.mde.response.plugins.module_utils.errors import AuthenticationError, InputError
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.token_cache import (
    UNUSABLE_FOLDER_ADVICE, PersistentTokenCache, StoredResponse, prepare_cache_folder)
from ansible_collections.mde.response.plugins.module_utils._client.session import build_session
from ansible_collections.mde.response.plugins.module_utils._client.transport import HttpTransport, RateLimiter
from tests.simulator import Simulator

COLLECTION_TREE = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, ".collection-tree")
LEGACY_AUDIENCE = "https://api.securitycenter.microsoft.com"


@pytest.fixture(name="sim")
def fixture_sim(tmp_path):
    with Simulator(state_dir=tmp_path / "simulator") as running:
        yield running


@pytest.fixture(name="details")
def fixture_details(sim):
    return json.loads((sim.state_dir / "simulator.json").read_text())


@pytest.fixture(name="cache_dir")
def fixture_cache_dir(tmp_path):
    return str(tmp_path / "token-cache")


@pytest.fixture(name="no_managed_identity_environment")
def fixture_no_managed_identity_environment(monkeypatch):
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET",
                 "IMDS_ENDPOINT", "MSAL_FORCE_REGION"):
        monkeypatch.delenv(name, raising=False)


def settings_for(sim, cache_dir, **overrides):
    options = dict(sim.connection, token_cache_dir=cache_dir)
    options.update(overrides)
    return ConnectionSettings.from_options(options, environ={})


def provider_for(settings):
    return build_token_provider(settings, build_session(settings))


def claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def token_requests(sim):
    return sim.counters.get("token", 0)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_client_secret(sim, cache_dir):
    settings = settings_for(sim, cache_dir)
    provider = provider_for(settings)
    assert isinstance(provider, ClientCredentialTokenProvider)
    token = provider.get_token()
    assert sim.tokens.verify(token)["appid"] == sim.connection["client_id"]
    assert claims(token)["aud"] == LEGACY_AUDIENCE
    assert provider.get_token() == token
    assert token_requests(sim) == 1
    form = sim.log_for(route="token")[0]["body"]
    assert LEGACY_AUDIENCE + "/.default" in form["scope"].split()


def test_certificate(sim, cache_dir, details):
    settings = settings_for(sim, cache_dir, client_secret=None, client_id=details["cert_client_id"],
                            client_certificate_path=details["client_certificate_path"])
    assert settings.auth_method == "certificate"
    token = provider_for(settings).get_token()
    assert sim.tokens.verify(token)["appid"] == details["cert_client_id"]
    assert claims(token)["appidacr"] == "2"
    form = sim.log_for(route="token")[0]["body"]
    assert "client_assertion" in form and "client_secret" not in form


def test_encrypted_certificate_with_its_password(sim, cache_dir, details):
    settings = settings_for(sim, cache_dir, client_secret=None, client_id=details["cert_client_id"],
                            client_certificate_path=details["client_certificate_encrypted_path"],
                            client_certificate_password=details["client_certificate_password"])
    assert sim.tokens.verify(provider_for(settings).get_token())["appid"] == details["cert_client_id"]


@pytest.mark.parametrize("password, expected", [
    (None, "the private key in '{path}' is encrypted: set client_certificate_password"),
    ("wrong-password", "client_certificate_password does not decrypt the private key in '{path}'"),
])
def test_encrypted_certificate_without_the_right_password(sim, cache_dir, details, password, expected):
    path = details["client_certificate_encrypted_path"]
    settings = settings_for(sim, cache_dir, client_secret=None, client_id=details["cert_client_id"],
                            client_certificate_path=path, client_certificate_password=password)
    with pytest.raises(InputError) as raised:
        provider_for(settings)
    assert str(raised.value) == expected.format(path=path)
    assert token_requests(sim) == 0


def test_unusable_certificate_files_are_named_not_shown(sim, cache_dir, details, tmp_path):
    missing = str(tmp_path / "missing.pem")
    certificate_only = tmp_path / "certificate-only.pem"
    pem = open(details["client_certificate_path"], encoding="ascii").read()
    certificate_only.write_text(pem[pem.index("-----BEGIN CERTIFICATE-----"):])
    key_only = tmp_path / "key-only.pem"
    key_only.write_text(pem[:pem.index("-----BEGIN CERTIFICATE-----")])
    cases = {
        missing: "client_certificate_path '%s' cannot be read: No such file or directory" % missing,
        str(certificate_only): "client_certificate_path '%s' holds no usable PEM private key" % certificate_only,
        str(key_only): "client_certificate_path '%s' holds no PEM certificate" % key_only,
    }
    for path, expected in cases.items():
        settings = settings_for(sim, cache_dir, client_secret=None, client_id=details["cert_client_id"],
                                client_certificate_path=path)
        with pytest.raises(InputError) as raised:
            provider_for(settings)
        assert str(raised.value).startswith(expected)
        assert all(line not in str(raised.value) for line in pem.splitlines()[1:-1])


@pytest.mark.usefixtures("no_managed_identity_environment")
def test_managed_identity_system_and_user_assigned(sim, cache_dir, details, monkeypatch):
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.base_url)
    system = settings_for(sim, cache_dir, client_secret=None, client_id=None, tenant_id=None)
    assert system.auth_method == "managed_identity"
    provider = provider_for(system)
    assert isinstance(provider, ManagedIdentityTokenProvider)
    token = provider.get_token()
    assert sim.tokens.verify(token)["appid"] == details["managed_identity_client_id"]
    assert claims(token)["aud"] == LEGACY_AUDIENCE

    user = settings_for(sim, cache_dir, client_secret=None, client_id=details["managed_identity_client_id"],
                        auth_method="managed_identity")
    provider_for(user).get_token()
    queries = [entry["query"] for entry in sim.log_for(route="managed-identity")]
    assert "client_id=%s" % details["managed_identity_client_id"] in queries[1]
    assert "client_id" not in queries[0]
    assert "resource=%s" % LEGACY_AUDIENCE in queries[0]


@pytest.mark.usefixtures("no_managed_identity_environment")
def test_managed_identity_is_not_sent_through_the_proxy(sim, cache_dir, monkeypatch):
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.base_url)
    settings = settings_for(sim, cache_dir, client_secret=None, client_id=None, auth_method="managed_identity",
                            proxy_url="http://127.0.0.1:%d" % closed_port())
    assert sim.tokens.verify(provider_for(settings).get_token())


@pytest.mark.usefixtures("no_managed_identity_environment")
def test_an_unknown_managed_identity_is_refused_with_the_endpoint_named(sim, cache_dir, monkeypatch):
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.base_url)
    settings = settings_for(sim, cache_dir, client_secret=None, client_id="00000000-0000-0000-0000-000000000000",
                            auth_method="managed_identity")
    with pytest.raises(AuthenticationError) as raised:
        provider_for(settings).get_token()
    assert str(raised.value) == (
        "the managed identity endpoint at %s refused to issue a token for the user-assigned "
        "00000000-0000-0000-0000-000000000000 managed identity: invalid_request: Identity not found" % sim.base_url)


def test_static_token_is_used_as_given_and_cannot_be_renewed(sim, cache_dir):
    settings = settings_for(sim, cache_dir, access_token="given-token")
    provider = provider_for(settings)
    assert isinstance(provider, StaticTokenProvider)
    assert provider.get_token() == "given-token"
    with pytest.raises(AuthenticationError, match="the API refused the given access_token") as raised:
        provider.invalidate()
    assert "given-token" not in str(raised.value)
    assert sim.counters == {}
    assert not os.path.exists(cache_dir)


def test_a_wrong_secret_shows_the_aadsts_code_and_not_the_secret(sim, cache_dir):
    wrong = "Wr0ng~secret.value-1234567890"
    settings = settings_for(sim, cache_dir, client_secret=wrong)
    with pytest.raises(AuthenticationError) as raised:
        provider_for(settings).get_token()
    message = str(raised.value)
    assert message.startswith("the login service at %s refused to issue a token for client_id %s in tenant %s: "
                              "invalid_client: AADSTS7000215: Invalid client secret provided."
                              % (sim.base_url, sim.connection["client_id"], sim.connection["tenant_id"]))
    assert wrong not in message
    assert sim.connection["client_secret"] not in message
    # Entra's trace details are kept, on the same line, for a support request.
    assert re.search(r"\(Trace ID: [0-9a-f-]{36}; Correlation ID: [0-9a-f-]{36}; Timestamp: [0-9: -]+Z\)$", message), message
    assert "\r" not in message and "\n" not in message and "\\r\\n" not in message


def test_an_unknown_tenant_is_named_with_its_aadsts_code(sim, cache_dir):
    settings = settings_for(sim, cache_dir, tenant_id="11111111-2222-3333-4444-555555555555")
    with pytest.raises(AuthenticationError) as raised:
        provider_for(settings).get_token()
    assert str(raised.value).startswith(
        "the login service at %s has no usable configuration for tenant 11111111-2222-3333-4444-555555555555: "
        "AADSTS90002: Tenant '11111111-2222-3333-4444-555555555555' not found." % sim.base_url)
    # msal quotes Entra's JSON answer, whose CR LF it carries as the characters backslash, r, backslash, n.
    assert "\\r\\n" not in str(raised.value) and "\r\n" not in str(raised.value)
    assert re.search(r"subscriptions for the tenant\. \(Trace ID: [0-9a-f-]{36}; Correlation ID: [0-9a-f-]{36}; ", str(raised.value))
    assert token_requests(sim) == 0


@pytest.mark.parametrize("description, readable", [
    ("AADSTS700016: Application not found.\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-01-01 10:00:00Z",
     "AADSTS700016: Application not found. (Trace ID: t-1; Correlation ID: c-1; Timestamp: 2026-01-01 10:00:00Z)"),
    ("AADSTS90002: Tenant 'x' not found.\\r\\nTrace ID: t-2\\r\\nCorrelation ID: c-2",
     "AADSTS90002: Tenant 'x' not found. (Trace ID: t-2; Correlation ID: c-2)"),
    ("AADSTS50000: first line\n   second\tline  ", "AADSTS50000: first line second line"),
    ("Trace ID: t-3", "Trace ID: t-3"),
    ("", ""),
])
def test_entra_descriptions_become_one_readable_line(description, readable):
    assert readable_description(description) == readable


def test_a_login_service_that_is_down_is_named_without_a_traceback(sim, cache_dir):
    host = "https://127.0.0.1:%d" % closed_port()
    settings = settings_for(sim, cache_dir, authority_host=host)
    with pytest.raises(AuthenticationError) as raised:
        provider_for(settings).get_token()
    assert str(raised.value) == "could not reach the login service at %s: could not connect (connection refused)" % host
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None


def test_ca_path_wins_over_requests_ca_bundle(sim, cache_dir, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", requests.certs.where())
    assert sim.tokens.verify(provider_for(settings_for(sim, cache_dir)).get_token())


def test_without_the_simulators_ca_the_login_service_is_not_trusted(sim, cache_dir):
    settings = settings_for(sim, cache_dir, ca_path=None)
    with pytest.raises(AuthenticationError, match="its TLS certificate could not be verified"):
        provider_for(settings).get_token()


def test_a_revoked_token_is_replaced_after_the_api_refuses_it(sim, cache_dir):
    settings = settings_for(sim, cache_dir)
    session = build_session(settings)
    provider = build_token_provider(settings, session)
    transport = HttpTransport(settings, provider, session, pacer=RateLimiter(per_minute=1000, per_hour=10000))
    first = provider.get_token()
    sim.tokens.revoke_all()
    assert "value" in transport.request("GET", "/api/machineactions", route="machineactions.list")
    assert transport.stats.as_dict()["token_refreshes"] == 1
    assert provider.get_token() != first
    assert token_requests(sim) == 2
    assert first not in open(cache_file(cache_dir), encoding="utf-8").read()


def test_a_token_refused_twice_in_parallel_is_replaced_once(sim, cache_dir):
    provider = provider_for(settings_for(sim, cache_dir))
    first = provider.get_token()
    provider.invalidate(first)
    second = provider.get_token()
    provider.invalidate(first)
    assert provider.get_token() == second != first
    assert token_requests(sim) == 2


def cache_file(cache_dir):
    files = [name for name in os.listdir(cache_dir) if name.endswith(".json")]
    assert len(files) == 1
    return os.path.join(cache_dir, files[0])


def test_a_second_provider_reuses_the_persisted_token_and_discovery(sim, cache_dir):
    settings = settings_for(sim, cache_dir)
    token = provider_for(settings).get_token()
    assert provider_for(settings).get_token() == token
    assert token_requests(sim) == 1
    assert sim.counters.get("openid-configuration") == 1


def test_cache_folder_and_files_are_private(sim, cache_dir):
    os.makedirs(cache_dir, mode=0o755)
    os.chmod(cache_dir, 0o755)
    provider_for(settings_for(sim, cache_dir)).get_token()
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    for name in os.listdir(cache_dir):
        assert stat.S_IMODE(os.stat(os.path.join(cache_dir, name)).st_mode) == 0o600, name


def test_a_corrupt_cache_file_is_ignored_and_replaced(sim, cache_dir):
    settings = settings_for(sim, cache_dir)
    provider_for(settings).get_token()
    path = cache_file(cache_dir)
    for damage in ('{"format": 1, "token_cache": {"AccessToken": [', "not json at all", '{"format": 1}',
                   '{"format": 1, "token_cache": {}, "http_cache": {"k": {"response": {"status_code": "x"}}}}'):
        with open(path, "w", encoding="utf-8") as cache:
            cache.write(damage)
        assert sim.tokens.verify(provider_for(settings).get_token())
        assert json.load(open(path, encoding="utf-8"))["format"] == 1
    assert token_requests(sim) == 5


def test_another_secret_uses_another_cache_file_and_never_the_cached_token(sim, cache_dir):
    provider_for(settings_for(sim, cache_dir)).get_token()
    good_file = cache_file(cache_dir)
    with pytest.raises(AuthenticationError, match="AADSTS7000215"):
        provider_for(settings_for(sim, cache_dir, client_secret="another-secret")).get_token()
    assert token_requests(sim) == 2
    files = sorted(name for name in os.listdir(cache_dir) if name.endswith(".json"))
    assert len(files) == 2 and os.path.basename(good_file) in files
    for name in files:
        assert sim.connection["client_secret"] not in open(os.path.join(cache_dir, name), encoding="utf-8").read()


def test_token_cache_off_keeps_nothing_on_disk(sim, cache_dir):
    settings = settings_for(sim, cache_dir, token_cache=False)
    provider_for(settings).get_token()
    provider_for(settings).get_token()
    assert token_requests(sim) == 2
    assert not os.path.exists(cache_dir)


def test_cache_file_names_depend_on_authority_client_and_credential(tmp_path):
    names = {PersistentTokenCache(str(tmp_path), identity).path for identity in (
        "https://login/t1 app secret a", "https://login/t2 app secret a", "https://login/t1 app2 secret a",
        "https://login/t1 app secret b")}
    assert len(names) == 4


# Each module run is a new process: the cache must work across processes, one after another and all at once.

CHILD = """
import hashlib, json, os, sys, time
sys.path.insert(0, os.environ["COLLECTION_TREE"])
from ansible_collections.mde.response.plugins.module_utils._client.auth import build_token_provider
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.session import build_session
start_line = os.environ.get("START_LINE")
if start_line:
    open(os.path.join(start_line, "ready-%d" % os.getpid()), "w").close()
    while not os.path.exists(os.path.join(start_line, "go")):
        time.sleep(0.005)
settings = ConnectionSettings.from_options(json.loads(os.environ["OPTIONS"]), environ={})
token = build_token_provider(settings, build_session(settings)).get_token()
print(hashlib.sha256(token.encode()).hexdigest())
"""


def child_environment(sim, cache_dir, **extra):
    return dict(os.environ, COLLECTION_TREE=os.path.abspath(COLLECTION_TREE),
                OPTIONS=json.dumps(dict(sim.connection, token_cache_dir=cache_dir)), **extra)


@pytest.mark.slow
def test_twenty_sequential_runs_fetch_one_token(sim, cache_dir):
    environment = child_environment(sim, cache_dir)
    hashes = {subprocess.run([sys.executable, "-c", CHILD], env=environment, check=True, capture_output=True,
                             text=True, timeout=60).stdout.strip() for _run in range(20)}
    assert len(hashes) == 1
    assert token_requests(sim) == 1
    assert sim.counters.get("openid-configuration") == 1


@pytest.mark.slow
def test_ten_concurrent_runs_fetch_one_token(sim, cache_dir, tmp_path):
    start_line = tmp_path / "start-line"
    start_line.mkdir()
    environment = child_environment(sim, cache_dir, START_LINE=str(start_line))
    children = [subprocess.Popen([sys.executable, "-c", CHILD], env=environment, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _child in range(10)]
    # Release them together once every child has imported everything and waits at the start line.
    deadline = time.monotonic() + 60
    while len(list(start_line.glob("ready-*"))) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    (start_line / "go").touch()
    outputs = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0] * 10, [error for _out, error in outputs]
    assert len({out.strip() for out, _error in outputs}) == 1
    assert token_requests(sim) == 1
    assert hashlib.sha256(provider_for(settings_for(sim, cache_dir)).get_token().encode()).hexdigest() == \
        outputs[0][0].strip()


def test_an_unusable_cache_folder_turns_the_cache_off_with_one_warning(sim, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    settings = settings_for(sim, str(blocker / "cache"))
    assert prepare_cache_folder(settings) is None
    assert prepare_cache_folder(settings) is None
    assert settings.token_cache is False
    assert len(settings.warnings) == 1 and settings.warnings[0].endswith(UNUSABLE_FOLDER_ADVICE)
    assert str(blocker / "cache") in settings.warnings[0]


def test_refusals_in_msals_http_cache_are_never_persisted(tmp_path):
    store = PersistentTokenCache(str(tmp_path), "identity")
    with store.session(msal.SerializableTokenCache(), {}):
        pass
    http_cache = {}
    with store.session(msal.SerializableTokenCache(), http_cache):
        http_cache["POST token 429/5xx/Retry-After"] = StoredResponse(429, "{}", {"retry-after": "3600"})
        http_cache["GET discovery 2xx"] = StoredResponse(200, '{"issuer": "x"}', {})
    reloaded = {}
    with store.session(msal.SerializableTokenCache(), reloaded):
        assert set(reloaded) == {"GET discovery 2xx"}
