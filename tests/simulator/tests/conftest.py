"""Fixtures shared by the simulator's tests: a running simulator, and HTTP sessions that trust its CA."""

import pytest
import requests

from tests.simulator.server import Simulator


def trusting_session(simulator):
    """A requests session that trusts only the simulator's CA.

    trust_env is off because requests lets REQUESTS_CA_BUNDLE (exported on the build machines) override
    Session.verify.
    """
    session = requests.Session()
    session.verify = str(simulator.ca_path)
    session.trust_env = False
    return session


def client_credentials(simulator, session, client_id=None, secret=None, scope="https://api.securitycenter.microsoft.com/.default"):
    """POST a client-credentials token request with a secret; returns the requests response."""
    connection = simulator.connection
    return session.post(
        "%s/%s/oauth2/v2.0/token" % (connection["authority_host"], connection["tenant_id"]),
        data={"grant_type": "client_credentials", "client_id": client_id or connection["client_id"],
              "client_secret": secret or connection["client_secret"], "scope": scope},
    )


@pytest.fixture
def simulator(tmp_path):
    """A started simulator with default switches, its state in a fresh temporary folder."""
    with Simulator(state_dir=tmp_path / "simulator") as running:
        yield running


@pytest.fixture
def session(simulator):
    with trusting_session(simulator) as trusting:
        yield trusting


@pytest.fixture
def access_token(simulator, session):
    """An access token of the default app (all the roles the collection needs) for the Defender API."""
    response = client_credentials(simulator, session)
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture
def api(simulator, access_token):
    """A trusting session that sends the default app's bearer token; call it with simulator.base_url + path."""
    with trusting_session(simulator) as authorised:
        authorised.headers["Authorization"] = "Bearer " + access_token
        yield authorised
