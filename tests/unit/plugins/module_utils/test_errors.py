# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

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
    assert str(InputError("bad sha1")) == "bad sha1"
