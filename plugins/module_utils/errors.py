# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exceptions of the collection's client code.

Every message is meant to be shown to the user as it is (the modules fail with it), so none ever carries a
secret, a client assertion, a certificate password or a token.
"""

from __future__ import annotations

import re
from typing import Any

# The two wordings of a 403 for a missing application permission, each listing the permissions any one of which
# would do: "The application does not have any of the required application permissions (Machine.Read.All,
# Machine.ReadWrite.All) to access the resource." and the newer "Missing application roles. API required roles:
# Machine.Read.All,Machine.ReadWrite.All, application roles: Machine.Isolate." (docs/api-fidelity.md).
_REQUIRED_PERMISSIONS = (
    re.compile(r"required application permissions \(([^)]*)\)", re.IGNORECASE),
    re.compile(r"API required roles:\s*(.*?),\s*application roles:", re.IGNORECASE),
)


def required_permissions(message: str | None) -> tuple[str, ...]:
    """The permissions a 403 message asks for (any one of them is enough), in its order; () if it names none."""
    for pattern in _REQUIRED_PERMISSIONS:
        found = pattern.search(message or "")
        if found:
            return tuple(name.strip() for name in found.group(1).split(",") if name.strip())
    return ()


# A token carries the permissions granted when it was issued, and the token cache keeps one for up to its lifetime.
NEW_TOKEN_AFTER_CONSENT = ("a token issued before the consent still lacks it and is kept for up to an hour, so run once with "
                           "token_cache: false (MDE_TOKEN_CACHE=false) after the consent, or get a new access_token")


def permission_hint(permission: str, alternatives: tuple[str, ...] = ()) -> str:
    """What to do about a missing application permission."""
    others = " (or %s)" % ", ".join(alternatives) if alternatives else ""
    return ("grant the application permission %s%s to the app registration (API permissions > APIs my organization uses > "
            "WindowsDefenderATP > Application permissions), then grant admin consent; %s" % (permission, others, NEW_TOKEN_AFTER_CONSENT))


def error_entry(code: str, message: str, http_status: int | None = None) -> dict[str, Any]:
    """A result's ``error`` for what no exception carries: the shape of ``MdeError.to_dict()``."""
    return {"code": code, "message": message, "http_status": http_status}


class MdeError(Exception):
    """Base class of every error the client code raises on purpose.

    Every one can become a machine's ``error`` in a result (``to_dict``), so that a run reports what it did before
    any error, whatever its kind.
    """

    # The code in results; subclasses name their own, and ApiError carries the API's.
    code: str = "Error"
    http_status: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` of a result: its code, its message and the HTTP status of the answer, if any."""
        return {"code": self.code, "message": self.message, "http_status": self.http_status}


class InputError(MdeError):
    """Invalid user input, found before any request is sent."""

    code = "InvalidInput"


class AuthenticationError(MdeError):
    """No access token could be had: the token service refused, or could not be reached."""

    code = "AuthenticationFailed"


class ApiError(MdeError):
    """The API answered with an error status and an error body.

    `message` is the API's own message (what results report next to `code`); str() adds the call and status, for
    a module that fails on it.
    """

    def __init__(self, message: str, code: str = "", http_status: int | None = None, correlation_id: str | None = None,
                 method: str | None = None, route: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.correlation_id = correlation_id
        self.method = method
        self.route = route
        required = required_permissions(message) if http_status == 403 else ()
        # The permission to grant, parsed from either 403 wording; None for any other error.
        self.missing_permission = required[0] if required else None
        self.alternative_permissions = required[1:]
        # What to do about it, appended to str(): the transport's where it knows more than the answer says.
        self.hint = hint or (permission_hint(required[0], required[1:]) if required else None)

    def __str__(self) -> str:
        call = " ".join(part for part in (self.method, self.route) if part)
        text = "HTTP %s %s: %s" % (self.http_status, self.code, self.message) if self.code else \
            "HTTP %s: %s" % (self.http_status, self.message)
        if call:
            text = "%s: %s" % (call, text)
        if self.correlation_id:
            text += " (correlation id %s)" % self.correlation_id
        if self.hint:
            text += "; %s" % self.hint
        return text

    def to_dict(self) -> dict[str, Any]:
        details = super().to_dict()
        if self.missing_permission:
            details["missing_permission"] = self.missing_permission
        return details


class TransportError(MdeError):
    """No usable answer: the connection failed, timed out, or the body was not what the API sends."""

    # The code in results lets playbooks tell a lost answer from an error the API gave.
    code = "TransportError"

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class AmbiguousWriteError(TransportError):
    """A write whose answer was lost: it may or may not have taken effect, so it must be looked up, not resent."""

    code = "AmbiguousWrite"
