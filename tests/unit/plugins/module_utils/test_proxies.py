# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The proxy: URL validation, NO_PROXY as curl and requests read it, and the credentials to mask."""

import pytest

from ansible_collections.mde.response.plugins.module_utils.errors import InputError
from ansible_collections.mde.response.plugins.module_utils._client.proxies import bypasses_proxy, proxy_secrets, proxy_url


@pytest.mark.parametrize("no_proxy, host, port, bypassed", [
    ("*", "api.security.microsoft.com", 443, True),
    ("microsoft.com", "api.security.microsoft.com", 443, True),
    (".microsoft.com", "api.security.microsoft.com", 443, True),
    ("*.microsoft.com", "microsoft.com", 443, True),
    ("microsoft.com", "notmicrosoft.com", 443, False),
    ("login.microsoftonline.com", "LOGIN.microsoftonline.com", 443, True),
    ("api.example:8443", "api.example", 443, False),
    ("api.example:8443", "api.example", 8443, True),
    ("127.0.0.1", "127.0.0.1", 443, True),
    ("10.0.0.0/8, 192.168.1.1", "10.20.30.40", 443, True),
    ("10.0.0.0/8 192.168.1.1", "192.168.1.2", 443, False),
    ("::1", "[::1]", 443, True),
    ("", "api.example", 443, False),
    (" , ", "api.example", 443, False),
])
def test_no_proxy_entries(no_proxy, host, port, bypassed):
    assert bypasses_proxy(no_proxy, host, port) is bypassed


@pytest.mark.parametrize("scheme", ["socks5", "socks5h", "socks4", "SOCKS5H"])
def test_socks_proxies_are_refused_naming_host_and_port_but_not_the_password(scheme):
    with pytest.raises(InputError) as raised:
        proxy_url("%s://soc:p4ss-never-shown@socks.example:1080" % scheme)
    message = str(raised.value)
    assert "SOCKS proxy (%s://socks.example:1080)" % scheme.lower() in message
    assert "use an HTTP proxy such as http://socks.example:1080" in message
    assert "p4ss" not in message


@pytest.mark.parametrize("value", ["ftp://soc:p4ss-never-shown@proxy.example", "proxy.example:3128", "http://"])
def test_other_schemes_are_refused_with_an_example(value):
    with pytest.raises(InputError, match="must be a URL such as http://proxy.example:3128") as raised:
        proxy_url(value)
    assert "p4ss" not in str(raised.value)


def test_proxy_secrets_are_the_passwords_as_written_and_decoded():
    assert proxy_secrets("http://soc:p%40ss@proxy:3128", None, "http://proxy:3128", "https://only-user@proxy") == {
        "p%40ss", "p@ss"}
