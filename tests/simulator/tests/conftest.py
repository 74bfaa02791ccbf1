"""Fixtures of the simulator's tests (the simulator fixture is in tests/conftest.py): HTTP sessions that trust the
simulator's CA, with and without a token."""

import pytest

from tests.support.simulator_http import client_credentials, trusting_session


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
