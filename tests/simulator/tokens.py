"""The Entra ID (Azure AD) token service stand-in: OIDC discovery, client credentials, managed identity (IMDS).

It issues real RS256 JWTs signed with a key of its own, so that the API side verifies them exactly as a
resource server would (signature, audience, tenant, expiry in simulated time, revocation), and it answers errors
in Entra's JSON shape with the AADSTS codes the collection has to turn into useful messages (Entra's error-code reference).
"""

import base64
import datetime
import functools
import hmac
import secrets
import string
import threading
import urllib.parse
import uuid
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .config import CERT_CLIENT_ID, CLIENT_ID, MANAGED_IDENTITY_CLIENT_ID, TENANT_ID, AppRegistration
from .http import Response

# The US Government clouds' API URLs double as token resources (docs/api-fidelity.md, "API hosts": third-party, unconfirmed), so the
# service accepts them on top of the configured audiences.
GOV_AUDIENCES = (
    "https://api-gcc.securitycenter.microsoft.us",
    "https://api-gov.securitycenter.microsoft.us",
)
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "PS256")       # msal signs with PS256 when it knows the certificate (>= 1.35)
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
ISSUER = "https://sts.windows.net/%s/"
RSA_KEY_BITS = 2048
# Characters of Entra-generated client secrets: they include "~", "." and "-", which a client must form-encode.
SECRET_ALPHABET = string.ascii_letters + string.digits + "~.-_"


class TokenError(Exception):
    """An access token the API must refuse; the message says why (never the token)."""


class AadError(Exception):
    """A token request Entra would refuse, carried to the handler that answers it."""

    def __init__(self, status, error, code, description):
        super().__init__(description)
        self.status = status
        self.error = error
        self.code = code
        self.description = description


class AssertionRejected(Exception):
    """A client assertion that fails validation; the message is the AADSTS700027 detail."""


@functools.lru_cache(maxsize=None)
def process_rsa_key(purpose):
    """One RSA key per purpose for this process.

    A 2048-bit key takes about 0.1 s to generate, too slow for a fresh simulator in every test; simulators in one
    process share keys like replicas of one service, and a restarted simulator process has new ones, as a
    restarted service would.
    """
    return new_rsa_key()


def new_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def _b64url_thumbprint(certificate, algorithm):
    return base64.urlsafe_b64encode(certificate.fingerprint(algorithm)).decode().rstrip("=")


def generate_client_secret():
    """A random secret in the shape of an Entra-generated one (three characters, "8Q~", then 34 more)."""
    def pick(count):
        return "".join(secrets.SystemRandom().choices(SECRET_ALPHABET, k=count))
    return pick(3) + "8Q~" + pick(34)


@dataclass
class ClientCertificate:
    """A self-signed certificate and its RSA key, as an administrator would upload to an app registration."""
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls, common_name, key=None):
        """A new certificate for ``key`` (by default a new key)."""
        key = key or new_rsa_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @property
    def certificate_pem(self):
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def sha1_thumbprint(self):
        """Hex SHA-1 thumbprint, as the Azure portal shows it (and msal's ``thumbprint`` expects)."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()

    def pem(self, password=None):
        """Key and certificate in one PEM file; the key encrypted with ``password`` when given."""
        encryption = (serialization.BestAvailableEncryption(password.encode())
                      if password else serialization.NoEncryption())
        key_pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        return key_pem + self.certificate_pem


def default_apps(client_secret, client_certificate):
    """The identities every simulator knows: a secret app, a certificate app and a managed identity."""
    return [
        AppRegistration(CLIENT_ID, secret=client_secret),
        AppRegistration(CERT_CLIENT_ID, certificate_pem=client_certificate.certificate_pem),
        AppRegistration(MANAGED_IDENTITY_CLIENT_ID, managed_identity=True),
    ]


def form_fields(request):
    """The fields of a form-encoded body (first value of each)."""
    return {name: values[0] for name, values in
            urllib.parse.parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _base_url(request):
    # Entra's documents name its own host; the client reached the simulator under the Host header it sent.
    return "https://" + request.headers["host"]


class TokenService:
    """Issues and verifies access tokens for the API's tenant; ``routes()`` plugs it into the server."""

    def __init__(self, config, clock, apps=()):
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._apps = {}
        self._issued = set()           # "uti" of every token issued and not yet revoked
        self._revoked = set()
        self._signing_key = process_rsa_key("token-signing")
        self._key_id = secrets.token_urlsafe(20)
        self.tenant_id = TENANT_ID
        for app in apps:
            self.register_app(app)

    # --- identities -------------------------------------------------------------------------------------------

    def register_app(self, app):
        """Add or replace an app registration or managed identity."""
        with self._lock:
            self._apps[app.client_id.lower()] = app
        return app

    def app(self, client_id):
        with self._lock:
            return self._apps.get((client_id or "").lower())

    def _known_tenant(self, tenant):
        with self._lock:
            tenants = {app.tenant_id.lower() for app in self._apps.values()} | {self.tenant_id.lower()}
        return tenant.lower() in tenants

    def accepted_audiences(self):
        """The resources this token service issues tokens for."""
        return tuple(self._config.audiences) + GOV_AUDIENCES

    def api_audiences(self):
        """The audiences the API accepts in a bearer token (config.api_audiences, else every issued one)."""
        if self._config.api_audiences is None:
            return self.accepted_audiences()
        return tuple(self._config.api_audiences)

    # --- routes -----------------------------------------------------------------------------------------------

    def routes(self):
        """(method, path regex, route name, handler) for the server's router."""
        tenant = r"/(?P<tenant>[^/]+)"
        return [
            ("GET", tenant + r"/v2\.0/\.well-known/openid-configuration", "openid-configuration", self.handle_discovery),
            ("GET", tenant + r"/discovery/v2\.0/keys", "jwks", self.handle_jwks),
            ("POST", tenant + r"/oauth2/v2\.0/token", "token", self.handle_token),
            ("GET", r"/metadata/identity/oauth2/token", "managed-identity", self.handle_managed_identity),
        ]

    def _refuse_unknown_tenant(self, request):
        """The discovery endpoints' answer for a tenant that does not exist, or None."""
        tenant = request.params["tenant"]
        if self._known_tenant(tenant):
            return None
        # Discovery says "invalid_tenant" where the token endpoint says "invalid_request".
        return self.error_response(request, AadError(400, "invalid_tenant", 90002, self._tenant_not_found(tenant)))

    def handle_discovery(self, request):
        refusal = self._refuse_unknown_tenant(request)
        if refusal is not None:
            return refusal
        base = "%s/%s" % (_base_url(request), request.params["tenant"])
        return Response(200, {
            "issuer": base + "/v2.0",
            "authorization_endpoint": base + "/oauth2/v2.0/authorize",
            "token_endpoint": base + "/oauth2/v2.0/token",
            "jwks_uri": base + "/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "NA",
        })

    def handle_jwks(self, request):
        refusal = self._refuse_unknown_tenant(request)
        if refusal is not None:
            return refusal
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._signing_key.public_key(), as_dict=True)
        jwk.update({"kid": self._key_id, "x5t": self._key_id, "use": "sig", "alg": "RS256"})
        return Response(200, {"keys": [jwk]})

    def handle_token(self, request):
        form = form_fields(request)
        try:
            app, audience = self._authenticate_client(request, form)
        except AadError as refusal:
            return self.error_response(request, refusal)
        token = self._issue(app, audience, "2" if "client_assertion" in form else "1")
        lifetime = self._config.token_lifetime_seconds
        return Response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                              "access_token": token})

    def handle_managed_identity(self, request):
        """The Azure VM instance metadata service (IMDS) token endpoint, which msal reaches for managed identity."""
        if request.headers.get("metadata", "").lower() != "true":
            return Response(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
        if not request.query.get("api-version"):
            return Response(400, {"error": "invalid_request",
                                  "error_description": "Required query variable 'api-version' is missing"})
        resource = request.query.get("resource", "").rstrip("/")
        if not resource:
            return Response(400, {"error": "invalid_request", "error_description": "Required audience parameter not specified"})
        if {"object_id", "msi_res_id", "mi_res_id"} & set(request.query):
            identity = None            # identities are only registered by client id
        else:
            identity = self.app(request.query.get("client_id") or MANAGED_IDENTITY_CLIENT_ID)
        if identity is None or not identity.managed_identity:
            return Response(400, {"error": "invalid_request", "error_description": "Identity not found"})
        if resource not in self.accepted_audiences():
            # IMDS passes Entra's refusal through.
            return Response(400, {"error": "invalid_resource", "error_description":
                                  "AADSTS500011: " + self._resource_not_found(resource, identity.tenant_id)})
        token = self._issue(identity, resource, "2")
        lifetime = self._config.token_lifetime_seconds
        now = int(self._clock.time())
        # IMDS sends every number as a string.
        return Response(200, {
            "access_token": token,
            "client_id": identity.client_id,
            "expires_in": str(lifetime),
            "expires_on": str(now + lifetime),
            "ext_expires_in": str(lifetime),
            "not_before": str(now),
            "resource": resource,
            "token_type": "Bearer",
        })

    # --- client credentials -----------------------------------------------------------------------------------

    def _authenticate_client(self, request, form):
        """The app and token audience of a valid client-credentials request; raises AadError otherwise."""
        tenant = request.params["tenant"]
        if not self._known_tenant(tenant):
            raise AadError(400, "invalid_request", 90002, self._tenant_not_found(tenant))
        for name in ("grant_type", "client_id", "scope"):
            if not form.get(name):
                raise AadError(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: '%s'." % name)
        if form["grant_type"] != "client_credentials":
            raise AadError(400, "unsupported_grant_type", 70003,
                           "The app requested an unsupported grant type '%s'." % form["grant_type"])
        app = self.app(form["client_id"])
        if app is None or app.managed_identity or app.tenant_id.lower() != tenant.lower():
            raise AadError(400, "unauthorized_client", 700016, (
                "Application with identifier '%s' was not found in the directory '%s'. This can happen if the "
                "application has not been installed by the administrator of the tenant or consented to by any user "
                "in the tenant. You may have sent your authentication request to the wrong tenant.")
                % (form["client_id"], tenant))
        self._check_credential(app, form, "%s/%s/oauth2/v2.0/token" % (_base_url(request), tenant))
        return app, self._audience(form["scope"], tenant)

    def _check_credential(self, app, form, token_endpoint):
        if "client_secret" in form:
            if app.secret is None or not hmac.compare_digest(form["client_secret"].encode(), app.secret.encode()):
                raise AadError(401, "invalid_client", 7000215, (
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                    "value, not the client secret ID, for a secret added to app '%s'.") % app.client_id)
        elif "client_assertion" in form:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise AadError(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: 'client_assertion_type'.")
            try:
                self._verify_assertion(app, form["client_assertion"], token_endpoint)
            except AssertionRejected as rejection:
                raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation. %s"
                               % rejection) from None
        else:
            raise AadError(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")

    @staticmethod
    def _verify_assertion(app, assertion, token_endpoint):
        if app.certificate_pem is None:
            raise AssertionRejected("No certificate is registered on application '%s'." % app.client_id)
        certificate = x509.load_pem_x509_certificate(app.certificate_pem)
        registered = {"x5t": _b64url_thumbprint(certificate, hashes.SHA1()),
                      "x5t#S256": _b64url_thumbprint(certificate, hashes.SHA256())}
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            raise AssertionRejected("The client assertion is not a JWT.") from None
        presented = {name: header[name].rstrip("=") for name in registered if header.get(name)}
        if not presented or any(registered[name] != value for name, value in presented.items()):
            raise AssertionRejected("The certificate used to sign the client assertion is not registered on "
                                    "application '%s'." % app.client_id)
        try:
            # The client signs with its own (real) clock, so expiry is checked against real time, not simulated.
            claims = jwt.decode(assertion, certificate.public_key(), algorithms=list(ASSERTION_ALGORITHMS),
                                audience=token_endpoint, issuer=app.client_id,
                                options={"require": ["aud", "iss", "sub", "exp"]})
        except jwt.InvalidTokenError as error:
            raise AssertionRejected("Invalid client assertion: %s." % error) from None
        if claims["sub"] != app.client_id:
            raise AssertionRejected("The client assertion's subject is not the client id.")

    def _audience(self, scope_parameter, tenant):
        scopes = [scope for scope in scope_parameter.split() if scope not in RESERVED_SCOPES]
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise AadError(400, "invalid_scope", 1002012, (
                "The provided value for scope %s is not valid. Client credential flows must have a scope value with "
                "/.default suffixed to the resource identifier (application ID URI).") % scope_parameter)
        resource = scopes[0][:-len("/.default")]
        if resource not in self.accepted_audiences():
            raise AadError(400, "invalid_resource", 500011, self._resource_not_found(resource, tenant))
        return resource

    @staticmethod
    def _tenant_not_found(tenant):
        return ("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the "
                "correct cloud. Check with your subscription administrator, this may happen if there are no active "
                "subscriptions for the tenant.") % tenant

    @staticmethod
    def _resource_not_found(resource, tenant):
        return ("The resource principal named %s was not found in the tenant named %s. This can happen if the "
                "application has not been installed by the administrator of the tenant or consented to by any user in "
                "the tenant. You might have sent your authentication request to the wrong tenant.") % (resource, tenant)

    def error_response(self, request, refusal):
        """Entra's error JSON: the description starts with the AADSTS code and ends with trace details."""
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        timestamp = self._clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
        description = "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
            refusal.code, refusal.description, trace_id, correlation_id, timestamp)
        return Response(refusal.status, {
            "error": refusal.error,
            "error_description": description,
            "error_codes": [refusal.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": "%s/error?code=%d" % (_base_url(request), refusal.code),
        })

    def unavailable_response(self, request, status):
        """What a failing token service answers: a transient Entra error, for faults on token routes."""
        return self.error_response(request, AadError(status, "temporarily_unavailable", 90033,
                                                     "A transient error has occurred. Please try again."))

    # --- access tokens ----------------------------------------------------------------------------------------

    def _issue(self, app, audience, client_auth_kind):
        now = int(self._clock.time())
        token_id = secrets.token_urlsafe(16)
        object_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "service-principal:" + app.client_id))
        claims = {
            "aud": audience,
            "iss": ISSUER % app.tenant_id,
            "iat": now,
            "nbf": now,
            "exp": now + int(self._config.token_lifetime_seconds),
            "tid": app.tenant_id,
            "appid": app.client_id,
            "appidacr": client_auth_kind,     # "1": secret, "2": certificate or managed identity
            "oid": object_id,
            "sub": object_id,
            "roles": list(app.roles),
            "idtyp": "app",
            "uti": token_id,
            "ver": "1.0",
        }
        with self._lock:
            self._issued.add(token_id)
        return jwt.encode(claims, self._signing_key, algorithm="RS256",
                          headers={"kid": self._key_id, "x5t": self._key_id})

    def verify(self, token):
        """The claims of a valid access token for this API; raises TokenError saying what is wrong."""
        try:
            claims = jwt.decode(
                token, self._signing_key.public_key(), algorithms=["RS256"],
                audience=list(self.api_audiences()), issuer=ISSUER % self.tenant_id,
                # Expiry is judged on the simulated clock below; PyJWT would use the real one.
                options={"require": ["aud", "iss", "exp", "uti"], "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False})
        except jwt.InvalidAudienceError:
            raise TokenError("the token is not for this API (wrong audience)") from None
        except jwt.InvalidIssuerError:
            raise TokenError("the token was issued for another tenant") from None
        except jwt.InvalidTokenError as error:
            raise TokenError("invalid token: %s" % error) from None
        if claims["exp"] <= self._clock.time():
            raise TokenError("the token has expired")
        with self._lock:
            if claims["uti"] in self._revoked:
                raise TokenError("the token has been revoked")
        return claims

    def rotate_secrets(self):
        """An administrator replaces every app's client secret and revokes the tokens issued so far: a client holding
        the old secret can get no new token."""
        with self._lock:
            for app in self._apps.values():
                if app.secret is not None:
                    app.secret = generate_client_secret()
        return self.revoke_all()

    def revoke_all(self):
        """Revoke every token issued so far (tokens issued later are valid); returns how many were revoked."""
        with self._lock:
            count = len(self._issued)
            self._revoked |= self._issued
            self._issued = set()
        return count
