# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Ansible glue: DefenderModule's argument spec, environment fallbacks, warnings and failures."""

import json
from types import SimpleNamespace

import pytest
from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.testing import patch_module_args

from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.connection_options import CONNECTION_OPTIONS
from ansible_collections.mde.response.plugins.module_utils.errors import (
    AmbiguousWriteError, ApiError, AuthenticationError, InputError)
from ansible_collections.mde.response.plugins.module_utils.mde_module import CONNECTION_ARGUMENT_SPEC, DefenderModule
from ansible_collections.mde.response.plugins.module_utils._actions.module_result import module_result

SECRET = "s3cr3t-never-shown"
TOKEN = "eyJ0eXAi.token-never-shown"
NAMES = [option.name for option in CONNECTION_OPTIONS]
FALLBACKS = [(option, variable) for option in CONNECTION_OPTIONS for variable in option.env]


class Exited(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class Failed(Exited):
    pass


@pytest.fixture(name="warnings", autouse=True)
def fixture_warnings(monkeypatch):
    """Module exits as exceptions, warnings in a list, and an environment without any connection variable."""
    for variable in [variable for _option, variable in FALLBACKS] + ["MDE_TIME_SCALE"]:
        monkeypatch.delenv(variable, raising=False)

    def exit_json(_module, **result):
        raise Exited(result)

    def fail_json(_module, **result):
        raise Failed(result)

    warned = []
    # On AnsibleModule, under DefenderModule's own exit_json and fail_json, which pass on the client's warnings.
    monkeypatch.setattr(AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(DefenderModule, "warn", lambda _module, warning: warned.append(warning))
    return warned


def defender_module(**args):
    with patch_module_args(args):
        return DefenderModule(argument_spec=dict(sha1=dict(type="str")), supports_check_mode=True)


def failure_of(action):
    with pytest.raises(Failed) as failed:
        action()
    return failed.value.result


def test_the_argument_spec_is_the_table_of_connection_options():
    assert list(CONNECTION_ARGUMENT_SPEC) == NAMES
    for option in CONNECTION_OPTIONS:
        spec = CONNECTION_ARGUMENT_SPEC[option.name]
        assert spec["type"] == option.type
        assert spec.get("default") == option.default
        assert spec.get("choices", []) == list(option.choices)
        assert spec.get("no_log", False) is option.no_log
        assert spec.get("fallback") == ((env_fallback, list(option.env)) if option.env else None)


def test_a_module_gets_its_own_options_and_the_connection_options_with_their_defaults():
    module = defender_module(sha1="a" * 40, tenant_id="contoso.example")
    assert module.params["sha1"] == "a" * 40
    assert module.params["tenant_id"] == "contoso.example"
    # The cloud's default (commercial) is settings.py's, after cloud_environment had its say.
    assert module.params["auth_method"] == "auto" and module.params["cloud"] is None
    assert module.params["timeout"] == 30
    assert module.params["validate_certs"] is True and module.params["token_cache"] is True
    assert module.params["client_secret"] is None


def fallback_value(option, variable):
    """A valid value for the option as an environment variable holds it, and the value Ansible makes of it."""
    if option.choices:
        return option.choices[-1], option.choices[-1]
    if option.type == "bool":
        return "false", False
    if option.type == "path":
        return "/etc/mde/%s.pem" % variable.lower(), "/etc/mde/%s.pem" % variable.lower()
    return "from-" + variable, "from-" + variable


@pytest.mark.parametrize("option, variable", FALLBACKS, ids=[variable for _option, variable in FALLBACKS])
def test_every_environment_variable_is_a_fallback(monkeypatch, option, variable):
    text, value = fallback_value(option, variable)
    monkeypatch.setenv(variable, text)
    assert defender_module().params[option.name] == value


def test_the_first_environment_variable_wins_and_an_option_wins_over_both(monkeypatch):
    monkeypatch.setenv("AZURE_TENANT_ID", "first.example")
    monkeypatch.setenv("AZURE_TENANT", "second.example")
    assert defender_module().params["tenant_id"] == "first.example"
    assert defender_module(tenant_id="given.example").params["tenant_id"] == "given.example"


def test_secrets_from_options_and_environment_are_no_log_values(monkeypatch):
    monkeypatch.setenv("MDE_ACCESS_TOKEN", TOKEN)
    module = defender_module(client_secret=SECRET, client_certificate_password="pem-password")
    assert {SECRET, "pem-password", TOKEN} <= module.no_log_values


def test_the_client_is_built_from_the_options_and_their_warnings_go_to_module_warn(warnings):
    module = defender_module(access_token=TOKEN, validate_certs=False)
    assert warnings == []
    client = module.defender_client()
    assert isinstance(client, DefenderClient)
    assert len(warnings) == 1 and "validate_certs is false" in warnings[0]
    assert TOKEN not in warnings[0]


@pytest.mark.parametrize("ending", ["exit_json", "fail_json"])
def test_a_listing_cut_short_is_a_warning_however_the_module_ends(warnings, ending):
    module = defender_module(access_token=TOKEN)
    client = module.defender_client()
    client.warnings.append("GET /api/machines: the listing stopped after 100 pages")
    with pytest.raises(Exited):
        getattr(module, ending)(msg="done")
    assert warnings == ["GET /api/machines: the listing stopped after 100 pages"] and client.warnings == []


def test_the_modules_clock_is_real_time_without_the_testing_hook(warnings):
    assert defender_module().clock.scale == 1.0
    assert warnings == []


def test_the_testing_hook_accelerates_the_modules_clock_with_a_warning(monkeypatch, warnings):
    monkeypatch.setenv("MDE_TIME_SCALE", "120")
    assert defender_module().clock.scale == 120.0
    assert len(warnings) == 1 and "MDE_TIME_SCALE=120 is set" in warnings[0]


def test_a_bad_testing_hook_value_fails_the_module_with_a_message(monkeypatch):
    monkeypatch.setenv("MDE_TIME_SCALE", "fast")
    result = failure_of(defender_module)
    assert result == {"msg": "MDE_TIME_SCALE must be a positive number, not 'fast'; it is a testing hook: unset it "
                             "for real runs"}


@pytest.mark.parametrize("options, named", [
    (dict(tenant_id="contoso example", client_id="app", client_secret=SECRET), "tenant_id"),
    (dict(access_token=TOKEN, proxy_url="ftp://user:%s@proxy.example" % SECRET), "proxy_url"),
    (dict(tenant_id="contoso.example", client_id="app", client_certificate_path="/nonexistent/app.pem",
          client_certificate_password=SECRET), "client_certificate_path"),
    (dict(auth_method="client_secret", tenant_id="contoso.example", client_secret=SECRET), "client_id"),
])
def test_bad_connection_options_fail_the_module_naming_the_option_and_no_secret(options, named):
    module = defender_module(**options)

    def build_client():
        with module.failing_on_errors():
            module.defender_client()

    result = failure_of(build_client)
    assert named in result["msg"]
    assert SECRET not in json.dumps(result) and TOKEN not in json.dumps(result)


@pytest.mark.parametrize("error, expected", [
    (InputError("sha1 must be 40 hexadecimal characters"), {"msg": "sha1 must be 40 hexadecimal characters"}),
    (AuthenticationError("the login service refused"), {"msg": "the login service refused"}),
    (ApiError("Machine not found", code="ResourceNotFound", http_status=404, method="GET", route="machines.get"),
     {"msg": "GET machines.get: HTTP 404 ResourceNotFound: Machine not found",
      "error": {"code": "ResourceNotFound", "message": "Machine not found", "http_status": 404}}),
    (AmbiguousWriteError("POST machines.StopAndQuarantineFile: the answer was lost", http_status=504),
     {"msg": "POST machines.StopAndQuarantineFile: the answer was lost",
      "error": {"code": "AmbiguousWrite", "message": "POST machines.StopAndQuarantineFile: the answer was lost",
                "http_status": 504}}),
])
def test_client_errors_become_a_task_failure_with_a_message(error, expected):
    module = defender_module()

    def raise_error():
        with module.failing_on_errors():
            raise error

    assert failure_of(raise_error) == expected


def exit_with_results(result, allow_partial, fail_when_queued=False):
    """What stop_and_quarantine_file does with a run's result."""
    outcome = module_result(result, allow_partial, fail_when_queued)
    defender_module().finish(outcome.output, outcome.warnings, outcome.failure)


def engine_result(outcomes):
    actions = [{"machine_id": "m%d" % number, "machine_name": "ws-%02d" % number, "outcome": outcome,
                "error": {"code": "ActionFailed"} if outcome == "failed" else None}
               for number, outcome in enumerate(outcomes, 1)]
    return SimpleNamespace(changed=True, summary={"created": 1}, actions=actions, warnings=["name matched twice"], file_known=None)


def test_machines_refused_for_a_missing_permission_name_it_and_are_not_offered_partial_results():
    result = engine_result(["failed"] * 3)
    for entry in result.actions:
        entry["error"] = {"code": "Forbidden", "missing_permission": "Machine.StopAndQuarantine"}
    message = failure_of(lambda: exit_with_results(result, allow_partial=False))["msg"]
    assert message.startswith("3 of 3 machines failed: ws-01 (Forbidden), ws-02 (Forbidden), ws-03 (Forbidden); the application "
                              "lacks the permission Machine.StopAndQuarantine: grant the application permission Machine.StopAndQuarantine")
    assert "token_cache: false" in message and message.endswith("; see actions[].error for each")
    # One other failure brings the advice back: accepting a partial result helps with that one.
    result.actions.append({"machine_id": "m4", "machine_name": "ws-04", "outcome": "failed", "error": {"code": "ActionFailed"}})
    assert failure_of(lambda: exit_with_results(result, allow_partial=False))["msg"].endswith(
        "; see actions[].error for each, or set allow_partial=true to accept a partial result")


def test_results_are_returned_and_their_warnings_passed_on(warnings):
    result = engine_result(["created"])
    result.file_known = False
    with pytest.raises(Exited) as exited:
        exit_with_results(result, allow_partial=False)
    assert not isinstance(exited.value, Failed)
    assert exited.value.result == {"changed": True, "summary": {"created": 1}, "actions": result.actions, "file_known": False}
    assert warnings == ["name matched twice"]


def test_failed_machines_fail_the_module_with_every_result_unless_partial_results_are_allowed():
    result = engine_result(["created"] + ["failed"] * 6)
    failure = failure_of(lambda: exit_with_results(result, allow_partial=False))
    assert failure["msg"] == (
        "6 of 7 machines failed: ws-02 (ActionFailed), ws-03 (ActionFailed), ws-04 (ActionFailed), ws-05 "
        "(ActionFailed), ws-06 (ActionFailed) and 1 more; see actions[].error for each, or set allow_partial=true to "
        "accept a partial result")
    assert failure["actions"] == result.actions
    with pytest.raises(Exited) as exited:
        exit_with_results(result, allow_partial=True)
    assert not isinstance(exited.value, Failed)


def test_queued_actions_are_a_warning_and_fail_the_module_only_when_asked(warnings):
    result = engine_result(["created", "queued"])
    result.actions[1]["queued"] = {"health_status": "Inactive", "last_seen": "2026-11-20T08:00:00Z", "message": "offline"}
    with pytest.raises(Exited) as exited:
        exit_with_results(result, allow_partial=False)
    assert not isinstance(exited.value, Failed)
    assert warnings[-1] == ("1 action(s) still Pending at the end of the wait are queued for offline machines: ws-02 (last seen "
                            "2026-11-20T08:00:00Z); Defender runs them when the machines next connect (see actions[].queued for each)")
    failure = failure_of(lambda: exit_with_results(result, allow_partial=False, fail_when_queued=True))
    assert failure["msg"] == (
        "1 of 2 machines failed: ws-02 (queued); the queued ones wait for offline machines (actions[].queued), which "
        "fail_when_queued=false accepts; see actions[].error for each, or set allow_partial=true to accept a partial result")


@pytest.mark.parametrize("alias, option, value", [
    ("tenant", "tenant_id", "contoso.example"), ("secret", "client_secret", SECRET),
    ("x509_certificate_path", "client_certificate_path", "/etc/app.pem"),
])
def test_azure_collection_names_are_aliases(alias, option, value):
    """module_defaults copied from azure.azcollection use these names."""
    assert defender_module(**{alias: value}).params[option] == value


@pytest.mark.parametrize("given", ["option", "MDE_PROXY_URL", "HTTPS_PROXY", "https_proxy"])
def test_a_proxy_password_is_masked_and_the_rest_of_the_url_kept(monkeypatch, given):
    """Ansible masks the registered values in results (module_args included), warnings and messages."""
    url = "http://soc:%s@proxy.example:3128" % SECRET
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    if given == "option":
        module = defender_module(proxy_url=url)
    else:
        monkeypatch.setenv(given, url)
        module = defender_module()
    assert SECRET in module.no_log_values
    masked = remove_values({"args": module.params, "msg": "via %s" % url}, module.no_log_values)
    assert SECRET not in json.dumps(masked)
    assert masked["msg"] == "via http://soc:********@proxy.example:3128"


def test_an_encoded_proxy_password_is_masked_as_written_and_decoded():
    module = defender_module(proxy_url="http://soc:p%40ss-never-shown@proxy.example:3128")
    assert {"p%40ss-never-shown", "p@ss-never-shown"} <= module.no_log_values


def test_a_bad_option_fails_before_the_proxy_password_could_show(monkeypatch):
    """Argument checking fails with the module's arguments; the password is registered before it."""
    def fail_json(module, **result):
        # What AnsibleModule.fail_json returns: the result, the arguments, every registered value masked.
        raise Failed(remove_values(dict(result, invocation={"module_args": module.params}), module.no_log_values))

    monkeypatch.setattr(DefenderModule, "fail_json", fail_json)
    result = failure_of(lambda: defender_module(proxy_url="http://soc:%s@proxy.example:3128" % SECRET, timeout="soon"))
    assert "timeout" in result["msg"]
    assert result["invocation"]["module_args"]["proxy_url"] == "http://soc:********@proxy.example:3128"
