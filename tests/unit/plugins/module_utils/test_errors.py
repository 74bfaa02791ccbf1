# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import error_dict
from ansible_collections.mde.response.plugins.module_utils.errors import (
    AmbiguousWriteError, ApiError, AuthenticationError, InputError, MdeError, TransportError)


def test_every_error_is_an_mde_error_and_an_ambiguous_write_is_a_transport_error():
    for cls in (InputError, AuthenticationError, ApiError, TransportError):
        assert issubclass(cls, MdeError)
    assert issubclass(AmbiguousWriteError, TransportError)


def test_api_error_keeps_the_api_message_and_describes_the_call_in_str():
    error = ApiError("Action is already in progress", code="ActiveRequestAlreadyExists", http_status=400,
                     correlation_id="c0ffee", method="POST", route="machines.StopAndQuarantineFile")
    assert error.message == "Action is already in progress"
    assert str(error) == ("POST machines.StopAndQuarantineFile: HTTP 400 ActiveRequestAlreadyExists: "
                          "Action is already in progress (correlation id c0ffee)")
    assert error.to_dict() == {"code": "ActiveRequestAlreadyExists", "message": "Action is already in progress",
                               "http_status": 400}


def test_api_error_without_code_reads_naturally():
    assert str(ApiError("Invalid filter", http_status=400)) == "HTTP 400: Invalid filter"


def test_transport_errors_report_a_code_of_their_own():
    assert TransportError("GET machines.get: no answer").to_dict() == {
        "code": "TransportError", "message": "GET machines.get: no answer", "http_status": None}
    assert AmbiguousWriteError("lost", http_status=503).to_dict()["code"] == "AmbiguousWrite"


def test_every_error_has_the_result_shape():
    # error_dict (a machine's result) takes any MdeError, an authentication failure mid-run included.
    assert AuthenticationError("refused").to_dict() == {"code": "AuthenticationFailed", "message": "refused", "http_status": None}
    assert InputError("bad").to_dict()["code"] == "InvalidInput"
    assert MdeError("plain").to_dict() == {"code": "Error", "message": "plain", "http_status": None}
    assert str(InputError("bad sha1")) == "bad sha1"


@pytest.mark.parametrize("message, missing, alternatives", [
    ("The application does not have any of the required application permissions (Machine.Read.All, Machine.ReadWrite.All) to access the resource.",
     "Machine.Read.All", ("Machine.ReadWrite.All",)),
    ("The application does not have any of the required application permissions (Machine.StopAndQuarantine) to access the resource.",
     "Machine.StopAndQuarantine", ()),
    ("Missing application roles. API required roles: Machine.Read.All,Machine.ReadWrite.All, application roles: Machine.Isolate.",
     "Machine.Read.All", ("Machine.ReadWrite.All",)),
    ("Missing application roles. API required roles: Machine.StopAndQuarantine, application roles: Machine.Read.All,File.Read.All.",
     "Machine.StopAndQuarantine", ()),
])
def test_both_403_wordings_name_the_missing_permission(message, missing, alternatives):
    error = ApiError(message, code="Forbidden", http_status=403, method="POST", route="machines.StopAndQuarantineFile")
    assert (error.missing_permission, error.alternative_permissions) == (missing, alternatives)
    assert error.to_dict()["missing_permission"] == missing
    assert str(error).endswith("; grant the application permission %s%s to the app registration (API permissions > APIs my organization "
                               "uses > WindowsDefenderATP > Application permissions), then grant admin consent; a token issued before the "
                               "consent still lacks it and is kept for up to an hour, so run once with token_cache: false "
                               "(MDE_TOKEN_CACHE=false) after the consent, or get a new access_token"
                               % (missing, " (or %s)" % alternatives[0] if alternatives else ""))


@pytest.mark.parametrize("status, message", [
    (403, "Tenant feature isn't enabled."),                       # DisabledFeature: no permission to grant
    (400, "The application does not have any of the required application permissions (X) to access the resource."),
])
def test_other_errors_name_no_permission(status, message):
    error = ApiError(message, code="Forbidden", http_status=status)
    assert error.missing_permission is None and "missing_permission" not in error.to_dict()
    assert "grant" not in str(error)


def test_every_error_can_be_a_result_error():
    """error_dict gives any MdeError a machine's ``error``: each kind names its own code."""
    assert error_dict(AuthenticationError("AADSTS7000215")) == {"code": "AuthenticationFailed", "message": "AADSTS7000215", "http_status": None}
    assert error_dict(InputError("bad"))["code"] == "InvalidInput"
    assert error_dict(MdeError("other"))["code"] == "Error"
