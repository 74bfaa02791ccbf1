# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The proxy: which URL, which hosts bypass it (NO_PROXY), and the credentials in it that must stay hidden."""

from __future__ import annotations

import ipaddress
import re
from typing import Mapping, Optional
from urllib.parse import unquote, urlsplit

from ansible_collections.mde.response.plugins.module_utils._client.connection_options import OPTIONS_BY_NAME
from ansible_collections.mde.response.plugins.module_utils.errors import InputError

# Where a proxy URL comes from, in the order it is looked for: the option (then its own variables), then these.
ENVIRONMENT_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")
SUPPORTED_SCHEMES = ("http", "https")
PROXY_SOURCES = "proxy_url (or %s)" % ", ".join(OPTIONS_BY_NAME["proxy_url"].env + ENVIRONMENT_PROXY_VARIABLES)


def proxy_url(value: Optional[str]) -> Optional[str]:
    """The proxy URL to use, or None; InputError names the proxy's host and port but never its credentials."""
    if value is None:
        return None
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    try:
        where = "%s:%s" % (parts.hostname, parts.port) if parts.port else parts.hostname
    except ValueError:
        where = None
    if scheme.startswith("socks") and where:
        # requests needs PySocks for these, and would fail later with a message about something else.
        raise InputError("%s is a SOCKS proxy (%s://%s), which the collection does not support: use an HTTP proxy "
                         "such as http://%s" % (PROXY_SOURCES, scheme, where, where))
    if scheme not in SUPPORTED_SCHEMES or not where:
        # The value itself is left out: a proxy URL can hold a password.
        raise InputError("%s must be a URL such as http://proxy.example:3128" % PROXY_SOURCES)
    return value


def proxy_from_environment(option_value: Optional[str], environ: Mapping[str, str]) -> Optional[str]:
    """The proxy URL from the option, else from HTTPS_PROXY or https_proxy; None when there is none."""
    return option_value or next((environ[name] for name in ENVIRONMENT_PROXY_VARIABLES if environ.get(name)), None)


def no_proxy_from_environment(environ: Mapping[str, str]) -> str:
    return next((environ[name] for name in NO_PROXY_VARIABLES if environ.get(name)), "")


def proxy_secrets(*urls: object) -> set[str]:
    """The passwords in these proxy URLs, as written and decoded, for Ansible to mask wherever they would appear."""
    found: set[str] = set()
    for url in urls:
        try:
            password = urlsplit(url).password if isinstance(url, str) else None
        except ValueError:
            password = None
        if password:
            found.update((password, unquote(password)))
    return found


def proxies_for(url: str, proxy: Optional[str], no_proxy: str) -> dict[str, str]:
    """requests' `proxies` for a call to `url`: none when there is no proxy or NO_PROXY names the host."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    if not proxy or bypasses_proxy(no_proxy, parts.hostname, port):
        return {}
    return {"http": proxy, "https": proxy}


def bypasses_proxy(no_proxy: str, host: Optional[str], port: int) -> bool:
    """Whether NO_PROXY sends `host` directly, as curl and requests read it.

    Entries are separated by commas or spaces: `*` (every host), a domain with or without a leading dot or `*.`
    (the domain and every host in it), an IP address or network (CIDR), each optionally with `:port`.
    """
    host = (host or "").lower().strip("[]")
    for entry in re.split(r"[\s,]+", no_proxy.strip().lower()):
        if not entry:
            continue
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if _address_matches(name, host) or _domain_matches(name, host):
            return True
    return False


def _split_port(entry: str) -> tuple[str, Optional[int]]:
    match = re.match(r"^(\[[^\]]+\]|[^:]+):(\d+)$", entry)
    if match:
        return match.group(1).strip("[]"), int(match.group(2))
    return entry.strip("[]"), None


def _address_matches(entry: str, host: str) -> bool:
    try:
        network = ipaddress.ip_network(entry, strict=False)
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address in network


def _domain_matches(entry: str, host: str) -> bool:
    domain = entry[2:] if entry.startswith("*.") else entry.lstrip(".")
    return bool(domain) and (host == domain or host.endswith("." + domain))
