"""The simulator's HTTPS server: routing, authentication, rate limits, faults, the request log and the admin API.

``Simulator`` runs two servers on 127.0.0.1: the HTTPS one that plays both Entra ID (token service) and the
Defender API, with a throwaway CA whose certificate clients trust through ``ca_path``, and a plain-HTTP admin
API that tests and other processes use to seed data, switch behaviours, inject faults and read the log.
Handlers live in tokens.py and defender.py; everything that is not specific to one API happens here.
"""

import collections
import email.utils
import ipaddress
import json
import os
import re
import shlex
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from .alerts import AlertService
from .clock import SimClock
from .config import CERT_CLIENT_ID, CLIENT_ID, MANAGED_IDENTITY_CLIENT_ID, TENANT_ID, AppRegistration, SimulatorConfig
from .defender import DefenderService
from .faults import GARBAGE_DATE, PAST_RETRY_AFTER_SECONDS, FaultInjector
from .http import Request, Response, mde_error
from .indicators import IndicatorService
from .ratelimit import RateLimiter
from .tags import TagService
from .tokens import (ClientCertificate, TokenError, TokenService, default_apps, form_fields, generate_client_secret,
                     process_rsa_key)

LOOPBACK = "127.0.0.1"
VERSIONED_API_PREFIX = "/api/v1.0/"          # the documented versioned base is the same API as /api/ (docs/api-fidelity.md, "Throttling")
UNMATCHED_ROUTE = "unknown"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
SECRET_FIELDS = ("client_secret", "client_assertion")
MASK = "***"
# Idle keep-alive connections are closed after this many real seconds, like any server's idle timeout.
IDLE_CONNECTION_SECONDS = 120
# How often the accept loops look for a stop request: small, so that tests that start many simulators stay fast.
SHUTDOWN_POLL_SECONDS = 0.01
PROXY_ERROR_PAGE = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
THROTTLED_MESSAGE = "Response represents reaching quota limit either by number of requests or by CPU."
# Any string value that begins like an ISO 8601 date-time is a date field, whatever its name.
_DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}T")
# The Defender conveniences a test reaches directly on the simulator (sim.add_machine(...)).
DEFENDER_SHORTCUTS = frozenset({"add_machine", "add_file", "add_machine_action", "seed_fleet", "seed_demo", "actions",
                                "machines", "get_action", "observe_file"})


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    name: str
    handler: object
    api: bool                      # API routes need a bearer token and count against rate limits


class Router:
    """First match wins; path literals are case-insensitive, as the real hosts treat them."""

    def __init__(self):
        self._routes = []

    def add(self, method, path_regex, name, handler, api):
        self._routes.append(Route(method.upper(), re.compile(path_regex, re.IGNORECASE), name, handler, api))

    def match(self, method, path):
        """(route, path parameters) for a request, or (None, {})."""
        if path.lower().startswith(VERSIONED_API_PREFIX):
            path = "/api/" + path[len(VERSIONED_API_PREFIX):]
        for route in self._routes:
            if route.method == method.upper():
                found = route.pattern.fullmatch(path)
                if found:
                    return route, found.groupdict()
        return None, {}


@dataclass
class Outcome:
    """What goes back on the wire: a response, or nothing at all (the connection is closed)."""
    response: Response = None
    delay: float = 0.0             # real seconds to hold the answer back
    cut: bool = False              # send the headers and half the body, then close the connection


# Which environment variable carries each connection.json key (the first one the collection's option reads).
CONNECTION_ENVIRONMENT = {
    "api_url": "MDE_API_URL",
    "authority_host": "AZURE_AUTHORITY_HOST",
    "tenant_id": "AZURE_TENANT_ID",
    "client_id": "AZURE_CLIENT_ID",
    "client_secret": "AZURE_CLIENT_SECRET",
    "ca_path": "MDE_CA_PATH",
}


def _write_private_file(path, data):
    """Write a file only its owner can read (the state dir holds the client secret and key), atomically, so that
    a process polling for it never reads half of it."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    os.replace(partial, path)


def _masked(fields):
    return {name: MASK if name in SECRET_FIELDS else value for name, value in fields.items()}


def _loggable_body(request):
    """The request body for the log: parsed JSON, else the form fields; credentials masked.

    A body that is not JSON is always read as a form, never logged as raw text, so that a token request sent
    without its Content-Type still cannot put a secret into the log.
    """
    if not request.body:
        return None
    try:
        body = json.loads(request.body)
    except ValueError:
        return _masked(form_fields(request))
    return _masked(body) if isinstance(body, dict) else body


class Simulator:
    """The Defender API and Entra token service on 127.0.0.1; a context manager, or start() / stop()."""

    def __init__(self, config=None, state_dir=None, port=0, admin_port=0):
        self.config = config or SimulatorConfig()
        self.clock = SimClock(self.config.clock_speed)
        self.state_dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="mde-simulator-"))
        self.faults = FaultInjector()
        self._requested_ports = (port, admin_port)
        self._client_secret = generate_client_secret()
        self._client_certificate = ClientCertificate.generate("mde-response-simulator-client",
                                                              process_rsa_key("client-certificate"))
        self._client_certificate_password = generate_client_secret()
        self.tokens = TokenService(self.config, self.clock, default_apps(self._client_secret, self._client_certificate))
        self.defender = DefenderService(self.config, self.clock)
        self.alerts = AlertService(self.config, self.clock, self.defender)
        self.indicators = IndicatorService(self.config, self.clock, self.defender)
        self.tags = TagService(self.config, self.defender)
        self._rate_limiter = RateLimiter(self.config, self.clock)
        self._router = self._build_router()
        self._lock = threading.Lock()
        self._log = []
        self._counters = collections.Counter()
        self._api_server = None
        self._admin_server = None

    def _build_router(self):
        router = Router()
        for method, path_regex, name, handler in self.tokens.routes():
            router.add(method, path_regex, name, handler, api=False)
        api_routes = self.tags.routes() + self.defender.routes() + self.alerts.routes() + self.indicators.routes()
        for method, path_regex, name, handler in api_routes:
            router.add(method, path_regex, name, handler, api=True)
        for method, path_regex, name, handler in self.defender.download_routes():
            router.add(method, path_regex, name, handler, api=False)
        return router

    def __getattr__(self, name):
        # Only reached for attributes not found normally; __dict__ is read directly so that a lookup before
        # __init__ has set the defender cannot recurse.
        if name in DEFENDER_SHORTCUTS and "defender" in self.__dict__:
            return getattr(self.__dict__["defender"], name)
        raise AttributeError("%s has no attribute %r" % (type(self).__name__, name))

    # --- lifecycle --------------------------------------------------------------------------------------------

    def start(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        authority = trustme.CA()
        authority.cert_pem.write_to_path(str(self.ca_path))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(LOOPBACK, "localhost").configure_cert(tls)
        api_port, admin_port = self._requested_ports
        self._api_server = _TlsHttpServer((LOOPBACK, api_port), _ApiRequestHandler, tls, self)
        self._admin_server = _AdminHttpServer((LOOPBACK, admin_port), _AdminRequestHandler, _AdminApi(self))
        for name, server in (("api", self._api_server), ("admin", self._admin_server)):
            threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,),
                             name="mde-simulator-" + name, daemon=True).start()
        self._write_state_files()
        return self

    def stop(self):
        """Stop serving and close every open connection; the state dir is left for the tests to read."""
        for server in (self._api_server, self._admin_server):
            if server is not None:
                server.shutdown()
                server.server_close()
        if self._api_server is not None:
            self._api_server.close_connections()
        self._api_server = self._admin_server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _write_state_files(self):
        # connection.json comes last: a process waiting for it finds every other file complete.
        _write_private_file(self.client_certificate_path, self._client_certificate.pem())
        _write_private_file(self.state_dir / "client-cert-encrypted.pem",
                            self._client_certificate.pem(self._client_certificate_password))
        _write_private_file(self.state_dir / "simulator.json", json.dumps(self.details, indent=2).encode())
        _write_private_file(self.state_dir / "connection.env", self.connection_exports().encode())
        _write_private_file(self.state_dir / "connection.json", json.dumps(self.connection, indent=2).encode())

    # --- what clients need to know ----------------------------------------------------------------------------

    @property
    def base_url(self):
        return "https://%s:%d" % (LOOPBACK, self._server_port(self._api_server))

    @property
    def admin_url(self):
        return "http://%s:%d" % (LOOPBACK, self._server_port(self._admin_server))

    @staticmethod
    def _server_port(server):
        if server is None:
            raise RuntimeError("the simulator is not running")
        return server.server_address[1]

    @property
    def ca_path(self):
        return self.state_dir / "ca.pem"

    @property
    def client_certificate_path(self):
        return self.state_dir / "client-cert.pem"

    @property
    def connection(self):
        """The connection settings of the default app, as the collection's options take them."""
        return {
            "api_url": self.base_url,
            "authority_host": self.base_url,
            "tenant_id": TENANT_ID,
            "client_id": CLIENT_ID,
            "client_secret": self._client_secret,
            "ca_path": str(self.ca_path),
        }

    @property
    def connection_environment(self):
        """The same settings as the environment variables the collection's connection options fall back to."""
        return {variable: self.connection[option] for option, variable in CONNECTION_ENVIRONMENT.items()}

    def connection_exports(self):
        """connection.env: one export line per variable, quoted for a POSIX shell, so that `. connection.env` sets them."""
        return "".join("export %s=%s\n" % (variable, shlex.quote(value)) for variable, value in self.connection_environment.items())

    @property
    def details(self):
        """Everything else a test may need: the other identities, the admin API, the process."""
        return {
            "admin_url": self.admin_url,
            "cert_client_id": CERT_CLIENT_ID,
            "client_certificate_path": str(self.client_certificate_path),
            "client_certificate_encrypted_path": str(self.state_dir / "client-cert-encrypted.pem"),
            "client_certificate_password": self._client_certificate_password,
            "client_certificate_thumbprint": self._client_certificate.sha1_thumbprint,
            "managed_identity_client_id": MANAGED_IDENTITY_CLIENT_ID,
            "clock_speed": self.clock.speed,
            "pid": os.getpid(),
        }

    # --- control ----------------------------------------------------------------------------------------------

    def configure(self, **switches):
        """Change config switches at runtime (see config.py); the clock follows ``clock_speed``."""
        self.config.update(**switches)
        if "clock_speed" in switches:
            self.clock.speed = self.config.clock_speed
        return self.config

    def register_app(self, app):
        """Make another app registration or managed identity known to the token service (config.AppRegistration)."""
        return self.tokens.register_app(app)

    def add_route(self, method, path_regex, name, handler, api=True):
        """Serve another handler (Request -> Response); API routes get the same checks as the Defender API's."""
        self._router.add(method, path_regex, name, handler, api)

    def reset(self):
        """Forget the log, counters, rate-limit windows and faults; the Defender data stays."""
        with self._lock:
            self._log.clear()
            self._counters.clear()
        self._rate_limiter.reset()
        self.faults.clear()

    @property
    def request_log(self):
        with self._lock:
            return [dict(entry) for entry in self._log]

    def log_for(self, route=None, method=None):
        """Log entries of one route and/or method (route names compare case-insensitively)."""
        return [entry for entry in self.request_log
                if (route is None or entry["route"].lower() == route.lower())
                and (method is None or entry["method"] == method.upper())]

    @property
    def counters(self):
        """Calls per route, and per ``"<route> <status>"`` (status "dropped" when nothing was answered)."""
        with self._lock:
            return dict(self._counters)

    # --- request handling -------------------------------------------------------------------------------------

    def handle(self, request):
        """Serve one request: route it, run the checks and faults around its handler, and log it."""
        arrived = self.clock.now()
        route, params = self._router.match(request.method, request.path)
        fault = None
        if route is None:
            request.route = UNMATCHED_ROUTE
            outcome = Outcome(mde_error(404, "NotFound", "No HTTP resource was found that matches the request URI "
                                                         "'%s'." % request.path))
        else:
            request.route, request.params = route.name, params
            outcome, fault = self._serve(route, request)
        self._record(request, arrived, outcome, fault)
        return outcome

    def _serve(self, route, request):
        """(outcome, fault that fired or None) for a routed request."""
        if route.api:
            refusal = self._admit(route, request)
            if refusal is not None:
                return Outcome(refusal), None
        fault = self.faults.pick(route.name, route.api)
        kind = fault.kind if fault else None
        if kind == "latency":
            self.clock.sleep(fault.delay)
        elif kind == "revoke_token":
            self.tokens.revoke_all()
            return Outcome(self._unauthorized("the token has been revoked")), fault
        elif kind == "rotate_secret":
            self.tokens.rotate_secrets()
            return Outcome(self._unauthorized("the token has been revoked")), fault
        elif kind == "status":
            return Outcome(self._failure(route, request, fault.status, fault)), fault
        elif kind == "throttle":
            return Outcome(self._failure(route, request, 429, fault)), fault
        elif kind == "html":
            return Outcome(Response(502, PROXY_ERROR_PAGE, {"Content-Type": "text/html"})), fault
        elif kind == "drop_before":
            return Outcome(None), fault
        return self._damaged(route, request, self._run_handler(route, request), fault), fault

    def _admit(self, route, request):
        """The refusal of an API call (401, 429), or None once it passed authentication and rate limits."""
        scheme, _space, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._unauthorized("no bearer token")
        try:
            request.claims = self.tokens.verify(token.strip())
        except TokenError as error:
            return self._unauthorized(str(error))
        self.clock.sleep(self.config.latency_ms / 1000.0)
        retry_after = self._rate_limiter.check(self._rate_limiter.key(request.claims.get("appid"), route.name), route.name)
        if retry_after is None:
            return None
        refusal = mde_error(429, "TooManyRequests", THROTTLED_MESSAGE)
        refusal.headers["Retry-After"] = str(retry_after)
        return refusal

    @staticmethod
    def _unauthorized(reason):
        return mde_error(401, "Unauthorized", "Unauthorized (invalid or expired authorization header): %s" % reason)

    def _failure(self, route, request, status, fault=None):
        """A server error (or 429) in the style of the service the route belongs to, with the fault's Retry-After."""
        if not route.api:
            response = self.tokens.unavailable_response(request, status)
        elif status == 429:
            response = mde_error(429, "TooManyRequests", THROTTLED_MESSAGE)
        else:
            response = mde_error(status, "InternalServerError", "An unexpected error occurred. Retry the operation.")
        if fault is not None and fault.retry_after is not None:
            response.headers["Retry-After"] = (
                email.utils.formatdate(self.clock.time() - PAST_RETRY_AFTER_SECONDS, usegmt=True)
                if fault.retry_after == "past" else fault.retry_after)
        return response

    def _run_handler(self, route, request):
        try:
            return route.handler(request)
        except Exception:  # pylint: disable=broad-exception-caught  # any handler bug must become a 500, not a hang
            traceback.print_exc(file=sys.stderr)
            return self._failure(route, request, 500)

    def _damaged(self, route, request, response, fault):
        """The handler's response as a fault that acts after the handler leaves it."""
        kind = fault.kind if fault else None
        if kind == "status_after":
            return Outcome(self._failure(route, request, fault.status, fault))
        if kind == "drop_after":
            return Outcome(None)
        if kind == "timeout_after":
            return Outcome(response, delay=fault.delay)
        if kind == "break_midway":
            return Outcome(response, cut=True)
        if kind == "malformed":
            payload = response.payload()
            return Outcome(Response(response.status, payload[:len(payload) // 2] or b"{", dict(response.headers)))
        if kind == "unexpected_shape":
            return Outcome(Response(200, {"unexpected": True}))
        if kind == "garbage_dates":
            return Outcome(Response(response.status, _with_garbage_dates(response.body), dict(response.headers)))
        return Outcome(response)

    def _record(self, request, arrived, outcome, fault):
        body = _loggable_body(request)
        status = outcome.response.status if outcome.response is not None else None
        caller = (request.claims.get("appid")
                  or (body.get("client_id") if isinstance(body, dict) else None)
                  or request.query.get("client_id"))
        with self._lock:
            self._log.append({
                "seq": len(self._log) + 1,
                "time": arrived.isoformat(),
                "method": request.method,
                "path": request.path,
                "query": urllib.parse.unquote_plus(request.raw_query),
                "params": dict(request.params),
                "body": body,
                "status": status,
                "route": request.route,
                "appid": caller,
                "fault": fault.kind if fault else None,
            })
            self._counters[request.route] += 1
            self._counters["%s %s" % (request.route, status if status is not None else "dropped")] += 1


def _with_garbage_dates(body):
    """The JSON body with every date value replaced by an impossible one (a "garbage_dates" fault)."""
    if isinstance(body, dict):
        return {name: _with_garbage_dates(value) for name, value in body.items()}
    if isinstance(body, list):
        return [_with_garbage_dates(value) for value in body]
    if isinstance(body, str) and _DATE_VALUE.match(body):
        return GARBAGE_DATE
    return body


class _TlsHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler_class, tls_context, simulator):
        super().__init__(address, handler_class)
        self.tls_context = tls_context
        self.simulator = simulator
        self._connections = set()
        self._connections_lock = threading.Lock()

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread, so that a slow or broken client cannot
        # hold up accepting other connections.
        request.settimeout(IDLE_CONNECTION_SECONDS)
        try:
            connection = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._connections_lock:
            self._connections.add(connection)
        try:
            super().finish_request(connection, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            connection.close()

    def close_connections(self):
        """Cut idle keep-alive connections, so that a stopped simulator really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _ApiRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"                # keep-alive, as the real API and every client expect
    server_version = "MDE-Simulator"
    timeout = IDLE_CONNECTION_SECONDS
    # Headers and body are separate writes; with Nagle's algorithm the body would wait for the client's delayed
    # ACK of the headers, about 40 ms on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # the request log replaces it
        pass

    def date_time_string(self, timestamp=None):
        # The Date header is the service's clock, as a client sees it: simulated time.
        return email.utils.formatdate(self.server.simulator.clock.time() if timestamp is None else timestamp, usegmt=True)

    def _dispatch(self):
        split = urllib.parse.urlsplit(self.path)
        query = {}
        for name, value in urllib.parse.parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(name, value)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(split.path),
            query=query,
            raw_query=split.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        self._deliver(self.server.simulator.handle(request))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _deliver(self, outcome):
        if outcome.response is None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        time.sleep(outcome.delay)
        response = outcome.response
        payload = response.payload()
        headers = dict(response.headers)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = JSON_CONTENT_TYPE
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if outcome.cut:
                # Content-Length promised the whole body: the client sees a download broken midway.
                self.wfile.write(payload[:len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(payload)
        except OSError:
            # The client gave up waiting (a timeout_after fault does exactly that to it).
            self.close_connection = True


class _AdminHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler_class, admin_api):
        super().__init__(address, handler_class)
        self.admin_api = admin_api

    def verify_request(self, request, client_address):
        # The admin API can change anything (and hands out data), so it answers this machine only.
        return ipaddress.ip_address(client_address[0]).is_loopback


@dataclass
class AdminCall:
    body: dict
    query: dict


class _AdminApi:
    """The admin endpoints: JSON in, JSON out. Each takes an AdminCall and returns something JSON-serialisable."""

    def __init__(self, simulator):
        self.simulator = simulator
        self.endpoints = {
            ("GET", "/log"): lambda call: simulator.log_for(route=call.query.get("route"), method=call.query.get("method")),
            ("GET", "/counters"): lambda call: simulator.counters,
            ("GET", "/actions"): lambda call: simulator.defender.actions(),
            ("GET", "/machines"): lambda call: simulator.defender.machines(),
            ("GET", "/config"): lambda call: simulator.config.as_dict(),
            ("POST", "/config"): self.post_config,
            ("POST", "/reset"): self.post_reset,
            ("POST", "/machines"): lambda call: simulator.defender.add_machine(**call.body),
            ("POST", "/files"): lambda call: simulator.defender.add_file(**call.body),
            ("POST", "/machine-actions"): lambda call: simulator.defender.add_machine_action(**call.body),
            ("POST", "/fleet"): lambda call: simulator.defender.seed_fleet(**call.body),
            ("POST", "/observations"): lambda call: simulator.defender.observe_file(**call.body),
            ("GET", "/indicators"): lambda call: simulator.indicators.indicators(),
            ("POST", "/indicators"): lambda call: simulator.indicators.add_indicator(**call.body),
            ("GET", "/containments"): lambda call: simulator.indicators.containments(sha1=call.query.get("sha1")),
            ("GET", "/faults"): lambda call: simulator.faults.faults(),
            ("POST", "/faults"): lambda call: simulator.faults.add(**call.body).as_dict(),
            ("DELETE", "/faults"): self.delete_faults,
            ("POST", "/revoke-tokens"): lambda call: {"revoked": simulator.tokens.revoke_all()},
            ("POST", "/clock/advance"): self.post_clock_advance,
            ("POST", "/apps"): self.post_apps,
            **simulator.alerts.admin_endpoints(),
        }

    def post_config(self, call):
        switches = dict(call.body)
        for name in ("audiences", "api_audiences"):
            if switches.get(name) is not None:
                switches[name] = tuple(switches[name])    # JSON has no tuples; the config keeps them immutable
        return self.simulator.configure(**switches).as_dict()

    def post_reset(self, call):
        """Reset the log, counters, limits and faults; ``{"data": true}`` also empties the Defender data."""
        self.simulator.reset()
        if call.body.get("data"):
            self.simulator.defender.reset()
            self.simulator.alerts.reset()
            self.simulator.indicators.reset()
        return {"reset": True}

    def delete_faults(self, _call):
        self.simulator.faults.clear()
        return {"cleared": True}

    def post_clock_advance(self, call):
        self.simulator.clock.advance(float(call.body["seconds"]))
        return {"now": self.simulator.clock.now().isoformat()}

    def post_apps(self, call):
        fields = dict(call.body)
        if isinstance(fields.get("certificate_pem"), str):
            fields["certificate_pem"] = fields["certificate_pem"].encode()
        if "roles" in fields:
            fields["roles"] = tuple(fields["roles"])
        app = self.simulator.register_app(AppRegistration(**fields))
        return {"client_id": app.client_id, "roles": list(app.roles), "tenant_id": app.tenant_id,
                "managed_identity": app.managed_identity}


class _AdminRequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: one connection per admin call, so that no idle connection outlives a stopped simulator.
    server_version = "MDE-Simulator-Admin"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # admin calls are not logged
        pass

    def _dispatch(self):
        status, result = self._call_endpoint()
        payload = json.dumps(result).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _dispatch

    def _call_endpoint(self):
        """(HTTP status, JSON-serialisable result) of the admin call."""
        split = urllib.parse.urlsplit(self.path)
        endpoint = self.server.admin_api.endpoints.get((self.command, split.path.rstrip("/") or "/"))
        if endpoint is None:
            return 404, {"error": "no admin endpoint %s %s" % (self.command, split.path)}
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length)) if length else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return 200, endpoint(AdminCall(body, dict(urllib.parse.parse_qsl(split.query))))
        except (TypeError, ValueError, KeyError) as error:
            # Wrong or missing arguments: the caller's mistake, named so that it can be fixed.
            return 400, {"error": "%s: %s" % (type(error).__name__, error)}
        except Exception as error:  # pylint: disable=broad-exception-caught  # answer, rather than drop the caller
            traceback.print_exc(file=sys.stderr)
            return 500, {"error": "%s: %s" % (type(error).__name__, error)}
