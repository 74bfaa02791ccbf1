# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import os

import pytest

from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings

TENANT = "8f0c4d5e-5a3b-4c1e-9d2f-0a1b2c3d4e5f"
SECRET = "s3cr3t-value-never-shown"
APP = {"tenant_id": TENANT, "client_id": "app-1", "client_secret": SECRET}


def settings(environ=None, **options):
    return ConnectionSettings.from_options(options, environ=environ or {"HOME": "/home/soc"})


@pytest.mark.parametrize("cloud, api_url, authority_host, scope", [
    ("commercial", "https://api.security.microsoft.com", "https://login.microsoftonline.com",
     "https://api.securitycenter.microsoft.com/.default"),
    ("gcc", "https://api-gcc.securitycenter.microsoft.us", "https://login.microsoftonline.com",
     "https://api-gcc.securitycenter.microsoft.us/.default"),
    ("gcc_high", "https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us",
     "https://api-gov.securitycenter.microsoft.us/.default"),
    ("dod", "https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us",
     "https://api-gov.securitycenter.microsoft.us/.default"),
])
def test_each_cloud_has_its_hosts_and_scope(cloud, api_url, authority_host, scope):
    resolved = settings(cloud=cloud, **APP)
    assert (resolved.api_url, resolved.authority_host, resolved.scope) == (api_url, authority_host, scope)
    assert resolved.authority == "%s/%s" % (authority_host, TENANT)


def test_defaults():
    resolved = settings(**APP)
    assert resolved.cloud == "commercial"
    assert resolved.verify is True
    assert resolved.timeout == 30
    assert resolved.token_cache is True
    assert resolved.token_cache_dir == os.path.join(os.path.expanduser("~"), ".cache", "mde.response")
    assert resolved.proxy_url is None
    assert resolved.warnings == []


def test_overridden_urls_keep_the_clouds_scope_and_lose_trailing_slashes():
    resolved = settings(cloud="gcc", api_url="https://eu.api.example/", authority_host="https://login.example//", **APP)
    assert resolved.api_url == "https://eu.api.example"
    assert resolved.authority_host == "https://login.example"
    assert resolved.authority == "https://login.example/" + TENANT
    assert resolved.scope == "https://api-gcc.securitycenter.microsoft.us/.default"
    assert resolved.resource == "https://api-gcc.securitycenter.microsoft.us"


@pytest.mark.parametrize("option", ["api_url", "authority_host"])
@pytest.mark.parametrize("value", ["http://api.example", "api.example", "https://", "ftp://api.example"])
def test_urls_must_be_https(option, value):
    with pytest.raises(InputError, match="%s must be an https URL" % option):
        settings(**{option: value}, **APP)


@pytest.mark.parametrize("options, method", [
    ({"access_token": "tok", "client_secret": SECRET, "client_certificate_path": "/x.pem"}, "access_token"),
    ({"tenant_id": TENANT, "client_id": "app", "client_secret": SECRET, "client_certificate_path": "/x.pem"},
     "certificate"),
    (APP, "client_secret"),
    ({"client_id": "uami"}, "managed_identity"),
    ({}, "managed_identity"),
])
def test_auto_picks_the_method_in_the_documented_order(options, method):
    assert settings(auth_method="auto", **options).auth_method == method


@pytest.mark.parametrize("options, expected", [
    ({"auth_method": "client_secret", "tenant_id": TENANT, "client_id": "app"},
     "auth_method=client_secret needs client_secret (environment variable AZURE_CLIENT_SECRET or AZURE_SECRET)"),
    ({"auth_method": "client_secret", "client_secret": SECRET},
     "needs tenant_id (environment variable AZURE_TENANT_ID or AZURE_TENANT), client_id (environment variable "
     "AZURE_CLIENT_ID)"),
    ({"client_certificate_path": "/x.pem", "tenant_id": TENANT},
     "auth_method=auto chose certificate, which needs client_id (environment variable AZURE_CLIENT_ID)"),
    ({"auth_method": "access_token"}, "needs access_token (environment variable MDE_ACCESS_TOKEN)"),
])
def test_missing_inputs_name_the_option_and_its_environment_variables(options, expected):
    with pytest.raises(InputError) as raised:
        settings(**options)
    assert expected in str(raised.value)
    assert SECRET not in str(raised.value)


def test_blank_values_count_as_unset():
    with pytest.raises(InputError, match="client_secret"):
        settings(auth_method="client_secret", tenant_id=TENANT, client_id="app", client_secret="   ")


@pytest.mark.parametrize("option, value, expected", [
    ("cloud", "china", "cloud must be one of"),
    ("auth_method", "password", "auth_method must be one of"),
    ("tenant_id", "../../evil", "tenant_id must be a tenant GUID or domain name"),
    ("timeout", 0, "timeout must be a positive number"),
    ("timeout", "soon", "timeout must be a positive number"),
    ("ca_path", "/nonexistent/ca.pem", "ca_path '/nonexistent/ca.pem' does not exist"),
])
def test_invalid_values(option, value, expected):
    options = dict(APP, **{option: value})
    with pytest.raises(InputError, match=expected):
        settings(**options)


def test_secrets_stay_out_of_repr():
    resolved = settings(client_certificate_password="pem-pass", proxy_url="http://user:proxy-pass@proxy:3128",
                        access_token="token-value", **APP)
    text = repr(resolved)
    for secret in (SECRET, "pem-pass", "proxy-pass", "token-value"):
        assert secret not in text
    assert TENANT in text


def test_ca_path_wins_over_validate_certs(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    resolved = settings(ca_path=str(bundle), validate_certs=False, **APP)
    assert resolved.verify == str(bundle)
    assert resolved.warnings == []


def test_turning_certificate_validation_off_warns():
    resolved = settings(validate_certs=False, **APP)
    assert resolved.verify is False
    assert len(resolved.warnings) == 1
    assert "validate_certs is false" in resolved.warnings[0]
    assert "https://api.security.microsoft.com" in resolved.warnings[0]


def test_proxy_from_option_else_https_proxy_environment():
    assert settings(environ={"HTTPS_PROXY": "http://env-proxy:8080"}, **APP).proxy_url == "http://env-proxy:8080"
    assert settings(environ={"https_proxy": "http://lower:8080"}, **APP).proxy_url == "http://lower:8080"
    assert settings(environ={"HTTPS_PROXY": "http://env-proxy:8080"}, proxy_url="http://opt:3128",
                    **APP).proxy_url == "http://opt:3128"


def test_an_invalid_proxy_is_refused_without_echoing_it():
    with pytest.raises(InputError) as raised:
        settings(proxy_url="proxy-without-scheme:p4ss", **APP)
    assert "p4ss" not in str(raised.value)


def test_token_cache_folder_follows_xdg_cache_home_or_the_option():
    assert settings(environ={"XDG_CACHE_HOME": "/xdg"}, **APP).token_cache_dir == "/xdg/mde.response"
    assert settings(token_cache_dir="/var/cache/soc", **APP).token_cache_dir == "/var/cache/soc"
    assert settings(token_cache=False, **APP).token_cache is False


@pytest.mark.parametrize("region", ["us", "eu", "uk", "au", "swa", "ina"])
def test_region_picks_the_documented_regional_host_and_keeps_the_scope(region):
    resolved = settings(region=region, **APP)
    assert (resolved.api_url, resolved.scope) == ("https://%s.api.security.microsoft.com" % region,
                                                  "https://api.securitycenter.microsoft.com/.default")


@pytest.mark.parametrize("options, message", [
    ({"region": "fr"}, "region must be one of us, eu, uk, au, swa, ina, not 'fr'"),
    ({"region": "eu", "cloud": "gcc"}, "region selects a host of the commercial API; with cloud=gcc leave region unset (or give api_url)"),
    ({"region": "eu", "api_url": "https://api.example"}, "region and api_url both say where the API is: give one of them"),
    ({"scope": "windowsatpservice"}, "scope must be one audience URI such as https://securitycenter.onmicrosoft.com/windowsatpservice/.default"),
    ({"scope": "https://a.example/.default https://b.example/.default"}, "scope must be one audience URI"),
])
def test_region_and_scope_are_checked_before_any_request(options, message):
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        settings(**dict(APP, **options))


@pytest.mark.parametrize("scope, expected", [
    ("https://securitycenter.onmicrosoft.com/windowsatpservice/.default", "https://securitycenter.onmicrosoft.com/windowsatpservice/.default"),
    ("https://securitycenter.onmicrosoft.com/windowsatpservice", "https://securitycenter.onmicrosoft.com/windowsatpservice/.default"),
    ("https://api.security.microsoft.com/", "https://api.security.microsoft.com/.default"),
    ("api://fc780465-2017-40d4-a0c5-307022471b92", "api://fc780465-2017-40d4-a0c5-307022471b92/.default"),
])
def test_scope_overrides_the_clouds_and_gets_default_added(scope, expected):
    resolved = settings(scope=scope, cloud="gcc_high", **APP)
    assert (resolved.scope, resolved.resource) == (expected, expected[:-len("/.default")])


@pytest.mark.parametrize("cloud, scope, suggested", [
    ("commercial", None, "https://securitycenter.onmicrosoft.com/windowsatpservice/.default or https://api.security.microsoft.com/.default"),
    ("commercial", "https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
     "https://api.securitycenter.microsoft.com/.default or https://api.security.microsoft.com/.default"),
    ("gcc_high", None, "https://securitycenter.onmicrosoft.us/windowsatpservice/.default"),
])
def test_the_audience_hint_names_the_other_audiences_of_the_cloud(cloud, scope, suggested):
    resolved = settings(cloud=cloud, **dict(APP, **({"scope": scope} if scope else {})))
    assert resolved.audience_hint() == ("if the token's audience is the reason (it was requested for %s), set the scope option to another one "
                                        "the API may accept: %s" % (resolved.scope, suggested))


@pytest.mark.parametrize("cloud_environment, cloud, expected", [
    ("AzureCloud", None, "commercial"),
    ("azurecloud", None, "commercial"),
    ("AzureUSGovernment", "gcc_high", "gcc_high"),
    ("AzureChinaCloud", "gcc", "gcc"),
    (None, None, "commercial"),
])
def test_an_azure_cloud_name_chooses_the_cloud_only_when_cloud_is_unset(cloud_environment, cloud, expected):
    assert settings(cloud_environment=cloud_environment, cloud=cloud, **APP).cloud == expected


@pytest.mark.parametrize("cloud_environment, reason", [
    ("AzureUSGovernment", "GCC High (cloud=gcc_high) and DoD (cloud=dod)"),
    ("AzureChinaCloud", "no API host there"),
    ("AzureGermanCloud", "has been closed"),
    ("https://management.example/metadata", "not one of the Azure cloud names AzureCloud, AzureUSGovernment"),
])
def test_an_azure_cloud_name_that_does_not_tell_the_cloud_is_refused_saying_why(cloud_environment, reason):
    with pytest.raises(InputError) as raised:
        settings(cloud_environment=cloud_environment, **APP)
    message = str(raised.value)
    assert reason in message
    assert "Set cloud (one of commercial, gcc, gcc_high, dod; environment variable MDE_CLOUD)" in message


def test_ca_bundles_from_the_environment_add_to_the_machines_trust_unless_ca_path_is_set(tmp_path):
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    environ = {"REQUESTS_CA_BUNDLE": str(bundle), "CURL_CA_BUNDLE": str(bundle)}
    assert settings(environ=environ, **APP).ca_bundles == (str(bundle),)
    assert settings(environ=environ, ca_path=str(bundle), **APP).ca_bundles == ()
    assert settings(environ=environ, validate_certs=False, **APP).ca_bundles == ()


def test_a_ca_bundle_variable_naming_nothing_is_refused():
    with pytest.raises(InputError, match="REQUESTS_CA_BUNDLE names '/nonexistent/ca.pem', which does not exist"):
        settings(environ={"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"}, **APP)


def test_no_proxy_comes_from_the_environment():
    assert settings(environ={"no_proxy": "internal.example"}, **APP).no_proxy == "internal.example"
    assert settings(environ={"NO_PROXY": "a.example", "no_proxy": "b.example"}, **APP).no_proxy == "a.example"
