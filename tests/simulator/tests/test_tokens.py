"""The token service: OIDC discovery, client credentials (secret and certificate), managed identity, AADSTS errors,
and the access tokens' claims, verification and revocation. Proven with plain requests and with msal."""

import time
import uuid

import jwt
import msal
import pytest

from tests.simulator.config import (CERT_CLIENT_ID, CLIENT_ID, MANAGED_IDENTITY_CLIENT_ID, TENANT_ID,
                                    AppRegistration)
from tests.simulator.tokens import JWT_BEARER, ClientCertificate, TokenError, generate_client_secret
from tests.support.simulator_http import client_credentials, signed_assertion

SCOPE = "https://api.securitycenter.microsoft.com/.default"
AUDIENCE = "https://api.securitycenter.microsoft.com"
AAD_ERROR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}


def confidential_client(simulator, session, client_id=CLIENT_ID, credential=None, tenant_id=TENANT_ID):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential if credential is not None else simulator.connection["client_secret"],
        authority="%s/%s" % (simulator.connection["authority_host"], tenant_id),
        instance_discovery=False,
        azure_region=False,
        http_client=session,
    )


def read(path):
    with open(path, encoding="ascii") as stream:
        return stream.read()


def unverified_claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def assert_aadsts(response_or_result, error, code):
    """The Entra error shape: the description starts with the AADSTS code, which error_codes repeats."""
    body = response_or_result if isinstance(response_or_result, dict) else response_or_result.json()
    assert AAD_ERROR_KEYS <= set(body)
    assert body["error"] == error
    assert body["error_description"].startswith("AADSTS%d:" % code)
    assert body["error_codes"] == [code]


# --- discovery -----------------------------------------------------------------------------------------------


def test_discovery_document_points_at_this_service(simulator, session):
    base = simulator.base_url
    document = session.get("%s/%s/v2.0/.well-known/openid-configuration" % (base, TENANT_ID)).json()
    assert document["issuer"] == "%s/%s/v2.0" % (base, TENANT_ID)
    assert document["token_endpoint"] == "%s/%s/oauth2/v2.0/token" % (base, TENANT_ID)
    assert document["authorization_endpoint"] == "%s/%s/oauth2/v2.0/authorize" % (base, TENANT_ID)
    assert document["jwks_uri"] == "%s/%s/discovery/v2.0/keys" % (base, TENANT_ID)


def test_jwks_verifies_the_access_tokens(simulator, session, access_token):
    keys = session.get("%s/%s/discovery/v2.0/keys" % (simulator.base_url, TENANT_ID)).json()["keys"]
    key = next(key for key in keys if key["kid"] == jwt.get_unverified_header(access_token)["kid"])
    claims = jwt.decode(access_token, jwt.algorithms.RSAAlgorithm.from_jwk(key), algorithms=["RS256"], audience=AUDIENCE)
    assert claims["appid"] == CLIENT_ID


def test_discovery_of_an_unknown_tenant_is_refused(simulator, session):
    response = session.get("%s/%s/v2.0/.well-known/openid-configuration" % (simulator.base_url, uuid.uuid4()))
    assert response.status_code == 400
    assert_aadsts(response, "invalid_tenant", 90002)
    with pytest.raises(ValueError, match="Unable to get authority configuration") as refusal:
        confidential_client(simulator, session, tenant_id=str(uuid.uuid4()))
    # msal keeps the discovery error, with the AADSTS code, as the cause.
    assert "AADSTS90002" in str(refusal.value.__cause__ or refusal.value.__context__)


# --- client credentials with msal ----------------------------------------------------------------------------


def test_msal_gets_a_token_with_the_secret(simulator, session):
    result = confidential_client(simulator, session).acquire_token_for_client([SCOPE])
    assert result.get("token_type") == "Bearer", result
    claims = simulator.tokens.verify(result["access_token"])
    assert claims["aud"] == AUDIENCE
    assert claims["iss"] == "https://sts.windows.net/%s/" % TENANT_ID
    assert claims["tid"] == TENANT_ID and claims["appid"] == CLIENT_ID and claims["idtyp"] == "app"
    assert set(claims["roles"]) == {"Machine.Read.All", "Machine.StopAndQuarantine", "File.Read.All", "Alert.Read.All"}
    assert claims["exp"] - claims["iat"] == simulator.config.token_lifetime_seconds
    assert claims["nbf"] == claims["iat"] and claims["oid"]
    assert result["expires_in"] == simulator.config.token_lifetime_seconds


def test_msal_gets_a_token_with_the_certificate_and_public_certificate(simulator, session):
    # msal >= 1.35 signs with PS256 and sends the SHA-256 thumbprint (x5t#S256) when it has the certificate.
    pem = read(simulator.client_certificate_path)
    credential = {"private_key": pem, "public_certificate": pem}
    result = confidential_client(simulator, session, CERT_CLIENT_ID, credential).acquire_token_for_client([SCOPE])
    assert "access_token" in result, result
    claims = simulator.tokens.verify(result["access_token"])
    assert claims["appid"] == CERT_CLIENT_ID and claims["appidacr"] == "2"


def test_msal_gets_a_token_with_the_certificate_and_thumbprint(simulator, session):
    credential = {"private_key": read(simulator.client_certificate_path),
                  "thumbprint": simulator.details["client_certificate_thumbprint"]}
    result = confidential_client(simulator, session, CERT_CLIENT_ID, credential).acquire_token_for_client([SCOPE])
    assert simulator.tokens.verify(result["access_token"])["appid"] == CERT_CLIENT_ID


def test_msal_gets_a_token_with_the_encrypted_certificate(simulator, session):
    pem = read(simulator.details["client_certificate_encrypted_path"])
    assert "ENCRYPTED PRIVATE KEY" in pem
    credential = {"private_key": pem, "public_certificate": pem,
                  "passphrase": simulator.details["client_certificate_password"]}
    result = confidential_client(simulator, session, CERT_CLIENT_ID, credential).acquire_token_for_client([SCOPE])
    assert simulator.tokens.verify(result["access_token"])["appid"] == CERT_CLIENT_ID


def test_msal_reports_a_wrong_secret(simulator, session):
    result = confidential_client(simulator, session, credential="not-the-secret").acquire_token_for_client([SCOPE])
    assert_aadsts(result, "invalid_client", 7000215)


def test_msal_reports_an_unknown_client(simulator, session):
    result = confidential_client(simulator, session, client_id=str(uuid.uuid4())).acquire_token_for_client([SCOPE])
    assert_aadsts(result, "unauthorized_client", 700016)


def test_msal_refuses_a_certificate_the_app_does_not_have(simulator, session):
    stranger = ClientCertificate.generate("stranger")
    pem = stranger.pem().decode()
    credential = {"private_key": pem, "public_certificate": pem}
    result = confidential_client(simulator, session, CERT_CLIENT_ID, credential).acquire_token_for_client([SCOPE])
    assert_aadsts(result, "invalid_client", 700027)


# --- client credentials, raw ---------------------------------------------------------------------------------


@pytest.mark.parametrize("secret, client_id, status, error, code", [
    ("wrong", None, 401, "invalid_client", 7000215),
    (None, "00000000-0000-4000-8000-000000000000", 400, "unauthorized_client", 700016),
])
def test_raw_credential_errors(simulator, session, secret, client_id, status, error, code):
    response = client_credentials(simulator, session, client_id=client_id, secret=secret)
    assert response.status_code == status
    assert_aadsts(response, error, code)


def test_unknown_tenant_on_the_token_endpoint(simulator, session):
    response = session.post("%s/%s/oauth2/v2.0/token" % (simulator.base_url, uuid.uuid4()), data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": simulator.connection["client_secret"], "scope": SCOPE})
    assert response.status_code == 400
    assert_aadsts(response, "invalid_request", 90002)


@pytest.mark.parametrize("scope, error, code", [
    ("https://api.securitycenter.microsoft.com", "invalid_scope", 1002012),
    ("https://api.securitycenter.microsoft.com/Machine.Read.All", "invalid_scope", 1002012),
    ("https://graph.microsoft.com/.default", "invalid_resource", 500011),
])
def test_bad_scopes(simulator, session, scope, error, code):
    response = client_credentials(simulator, session, scope=scope)
    assert response.status_code == 400
    assert_aadsts(response, error, code)


@pytest.mark.parametrize("scope", [
    "https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
    "https://api-gcc.securitycenter.microsoft.us/.default",
    "https://api-gov.securitycenter.microsoft.us/.default",
])
def test_other_accepted_audiences(simulator, session, scope):
    response = client_credentials(simulator, session, scope=scope)
    assert response.status_code == 200
    assert simulator.tokens.verify(response.json()["access_token"])["aud"] == scope[:-len("/.default")]


def post_assertion(simulator, session, assertion, assertion_type=JWT_BEARER):
    return session.post("%s/%s/oauth2/v2.0/token" % (simulator.base_url, TENANT_ID), data={
        "grant_type": "client_credentials", "client_id": CERT_CLIENT_ID, "scope": SCOPE,
        "client_assertion_type": assertion_type, "client_assertion": assertion})


def test_a_valid_assertion_gets_a_token(simulator, session):
    response = post_assertion(simulator, session, signed_assertion(simulator, "RS256"))
    assert response.status_code == 200
    assert simulator.tokens.verify(response.json()["access_token"])["appid"] == CERT_CLIENT_ID


@pytest.mark.parametrize("claim_overrides", [
    {"aud": "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % TENANT_ID},
    {"exp": time.time() - 60},
    {"iss": CLIENT_ID},
    {"sub": CLIENT_ID},
], ids=["audience", "expired", "issuer", "subject"])
def test_bad_assertions_are_refused(simulator, session, claim_overrides):
    response = post_assertion(simulator, session, signed_assertion(simulator, "RS256", **claim_overrides))
    assert response.status_code == 401
    assert_aadsts(response, "invalid_client", 700027)


def test_a_tampered_assertion_fails_signature_validation(simulator, session):
    header, payload, signature = signed_assertion(simulator, "PS256").split(".")
    forged = "%s.%s.%s" % (header, payload, signature[:-6] + ("AAAAAA" if not signature.endswith("AAAAAA") else "BBBBBB"))
    response = post_assertion(simulator, session, forged)
    assert response.status_code == 401
    assert_aadsts(response, "invalid_client", 700027)


def test_an_assertion_needs_its_type(simulator, session):
    response = post_assertion(simulator, session, signed_assertion(simulator, "RS256"), assertion_type="password")
    assert response.status_code == 400
    assert_aadsts(response, "invalid_request", 900144)


def test_a_request_without_credential_is_refused(simulator, session):
    response = session.post("%s/%s/oauth2/v2.0/token" % (simulator.base_url, TENANT_ID), data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "scope": SCOPE})
    assert response.status_code == 401
    assert_aadsts(response, "invalid_client", 7000218)


# --- managed identity (IMDS) ---------------------------------------------------------------------------------


@pytest.fixture
def imds_environment(simulator, monkeypatch):
    """Point msal's Azure VM managed-identity source at the simulator, and hide every other source."""
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET",
                 "IMDS_ENDPOINT", "AZUREPS_HOST_ENVIRONMENT", "ACC_CLOUD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", simulator.base_url)


@pytest.mark.parametrize("identity", [
    msal.SystemAssignedManagedIdentity(),
    msal.UserAssignedManagedIdentity(client_id=MANAGED_IDENTITY_CLIENT_ID),
], ids=["system-assigned", "user-assigned"])
def test_msal_managed_identity_gets_a_token_over_https(simulator, session, imds_environment, identity):
    client = msal.ManagedIdentityClient(identity, http_client=session)
    result = client.acquire_token_for_client(resource=AUDIENCE)
    assert "access_token" in result, result
    claims = simulator.tokens.verify(result["access_token"])
    assert claims["appid"] == MANAGED_IDENTITY_CLIENT_ID and claims["aud"] == AUDIENCE
    entry = simulator.log_for("managed-identity")[-1]
    assert entry["status"] == 200 and entry["appid"] in (None, MANAGED_IDENTITY_CLIENT_ID)


def test_imds_answers_in_its_own_shape(simulator, session):
    asked = simulator.clock.time()
    response = session.get(simulator.base_url + "/metadata/identity/oauth2/token",
                           params={"api-version": "2018-02-01", "resource": AUDIENCE}, headers={"Metadata": "true"})
    answered = simulator.clock.time()
    assert response.status_code == 200
    body = response.json()
    assert {"access_token", "expires_in", "expires_on", "resource", "token_type"} <= set(body)
    assert isinstance(body["expires_in"], str) and isinstance(body["expires_on"], str)
    assert int(body["expires_in"]) == simulator.config.token_lifetime_seconds
    assert asked - 1 <= int(body["expires_on"]) - int(body["expires_in"]) <= answered


@pytest.mark.parametrize("params, headers, description", [
    ({"api-version": "2018-02-01", "resource": AUDIENCE}, {}, "Required metadata header not specified"),
    ({"api-version": "2018-02-01", "resource": AUDIENCE, "client_id": CLIENT_ID}, {"Metadata": "true"}, "Identity not found"),
    ({"api-version": "2018-02-01", "resource": AUDIENCE, "object_id": str(uuid.uuid4())}, {"Metadata": "true"},
     "Identity not found"),
    ({"resource": AUDIENCE}, {"Metadata": "true"}, "Required query variable 'api-version' is missing"),
], ids=["no-metadata-header", "not-a-managed-identity", "object-id", "no-api-version"])
def test_imds_refusals(simulator, session, params, headers, description):
    response = session.get(simulator.base_url + "/metadata/identity/oauth2/token", params=params, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_imds_refuses_an_unknown_resource(simulator, session):
    response = session.get(simulator.base_url + "/metadata/identity/oauth2/token", headers={"Metadata": "true"},
                           params={"api-version": "2018-02-01", "resource": "https://graph.microsoft.com"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_resource"
    assert response.json()["error_description"].startswith("AADSTS500011:")


# --- access tokens -------------------------------------------------------------------------------------------


def test_tokens_expire_on_the_simulated_clock(simulator, access_token):
    assert simulator.tokens.verify(access_token)
    simulator.clock.advance(simulator.config.token_lifetime_seconds)
    with pytest.raises(TokenError, match="expired"):
        simulator.tokens.verify(access_token)


def test_revoke_all_revokes_earlier_tokens_only(simulator, session, access_token):
    assert simulator.tokens.revoke_all() >= 1
    with pytest.raises(TokenError, match="revoked"):
        simulator.tokens.verify(access_token)
    later = client_credentials(simulator, session).json()["access_token"]
    assert simulator.tokens.verify(later)["appid"] == CLIENT_ID


def test_a_forged_signature_is_refused(simulator, access_token):
    forged = jwt.encode(unverified_claims(access_token), ClientCertificate.generate("forger").key, algorithm="RS256",
                        headers=jwt.get_unverified_header(access_token))
    with pytest.raises(TokenError, match="Signature verification failed"):
        simulator.tokens.verify(forged)


def test_a_token_for_an_audience_no_longer_accepted_is_refused(simulator, session):
    token = client_credentials(simulator, session,
                               scope="https://securitycenter.onmicrosoft.com/windowsatpservice/.default").json()["access_token"]
    simulator.configure(audiences=("https://api.securitycenter.microsoft.com",))
    with pytest.raises(TokenError, match="audience"):
        simulator.tokens.verify(token)


def test_a_token_of_another_tenant_is_refused(simulator, session):
    other_tenant = str(uuid.uuid4())
    simulator.register_app(AppRegistration("11111111-2222-4333-8444-555555555555", secret="other-secret",
                                           tenant_id=other_tenant))
    response = session.post("%s/%s/oauth2/v2.0/token" % (simulator.base_url, other_tenant), data={
        "grant_type": "client_credentials", "client_id": "11111111-2222-4333-8444-555555555555",
        "client_secret": "other-secret", "scope": SCOPE})
    assert response.status_code == 200
    assert unverified_claims(response.json()["access_token"])["tid"] == other_tenant
    with pytest.raises(TokenError, match="another tenant"):
        simulator.tokens.verify(response.json()["access_token"])


def test_registered_apps_get_their_own_roles(simulator, session):
    simulator.register_app(AppRegistration("22222222-3333-4444-8555-666666666666", secret="reader-secret",
                                           roles=("Machine.Read.All",)))
    response = client_credentials(simulator, session, client_id="22222222-3333-4444-8555-666666666666",
                                  secret="reader-secret")
    assert simulator.tokens.verify(response.json()["access_token"])["roles"] == ["Machine.Read.All"]


def test_secrets_look_like_entra_secrets_and_are_random(simulator):
    secret = simulator.connection["client_secret"]
    assert len(secret) == 40 and secret[3:6] == "8Q~"
    assert generate_client_secret() != generate_client_secret()
