"""The request/response objects shared by the simulator's server (server.py) and its services.

Handlers in tokens.py and defender.py receive a ``Request`` and return a ``Response``; the server turns the
wire into a ``Request`` and a ``Response`` back into the wire, and does logging, counters, rate limits and
faults around every handler. Keeping this boundary tiny lets each service be tested without sockets.
"""

import json
import uuid
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str                      # URL path without the query string, percent-decoded
    query: dict                    # first value of each query parameter, percent-decoded ("$filter", "$top", ...)
    raw_query: str                 # the query string exactly as sent
    headers: dict                  # header names lower-cased
    body: bytes = b""
    route: str = ""                # set by the router: "machineactions.list", "token", ...
    params: dict = field(default_factory=dict)   # path parameters captured by the router ("machine_id", ...)
    claims: dict = field(default_factory=dict)   # verified access-token claims, set by the server for API routes

    def json(self):
        """The body as JSON; raises ValueError when it is not a JSON object."""
        value = json.loads(self.body.decode("utf-8") or "null")
        if not isinstance(value, dict):
            raise ValueError("body is not a JSON object")
        return value


@dataclass
class Response:
    status: int
    body: object = None            # JSON-serialisable object, or bytes sent as they are
    headers: dict = field(default_factory=dict)

    def payload(self):
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


def mde_error(status, code, message, correlation_id=None, details=None):
    """An error in the MDE API format: {"error": {"code", "message", "target"}} (OData errors add details)."""
    error = {"code": code, "message": message, "target": correlation_id or str(uuid.uuid4())}
    if details is not None:
        error["details"] = details
    return Response(status, {"error": error})
