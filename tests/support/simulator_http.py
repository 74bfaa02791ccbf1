"""Talking to the simulator over HTTPS without the collection: sessions that trust its CA, token requests and
signed client assertions, for the tests of the simulator itself."""

import time
import uuid

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.simulator.config import CERT_CLIENT_ID, TENANT_ID


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


def signed_assertion(simulator, algorithm, **claim_overrides):
    """A client assertion of the certificate app, as msal signs it: RS256 with the SHA-1 thumbprint (x5t) when
    given a thumbprint, PS256 with the SHA-256 one (x5t#S256) when given the certificate."""
    with open(simulator.client_certificate_path, "rb") as stream:
        pem = stream.read()
    certificate = x509.load_pem_x509_certificate(pem)
    thumbprint = ("x5t", hashes.SHA1()) if algorithm == "RS256" else ("x5t#S256", hashes.SHA256())
    now = time.time()
    claims = {"aud": "%s/%s/oauth2/v2.0/token" % (simulator.base_url, TENANT_ID), "iss": CERT_CLIENT_ID,
              "sub": CERT_CLIENT_ID, "exp": now + 600, "iat": now, "jti": str(uuid.uuid4())}
    claims.update(claim_overrides)
    return jwt.encode(claims, pem, algorithm=algorithm,
                      headers={thumbprint[0]: jwt.utils.base64url_encode(certificate.fingerprint(thumbprint[1])).decode()})
