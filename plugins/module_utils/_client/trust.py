# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which certificate authorities TLS trusts when ca_path is not set: what the machine trusts, as platforms set it.

That is the operating system's store (what update-ca-certificates and update-ca-trust maintain, or SSL_CERT_FILE
and SSL_CERT_DIR when set) and the bundles REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE name; on a machine whose store
holds no CA file, also the bundle requests ships (all the collection trusted before, so such a machine keeps working).
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any, Iterable, Mapping, Optional

from ansible_collections.mde.response.plugins.module_utils.errors import InputError

try:
    import requests
except ImportError:
    requests = None  # type: ignore[assignment]  # session.py reports it

BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def environment_bundles(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The CA bundles (files or OpenSSL hash folders) the variables name; InputError for one that is not there."""
    bundles: list[str] = []
    for name in BUNDLE_VARIABLES:
        path = (environ.get(name) or "").strip()
        if not path or path in bundles:
            continue
        if not os.path.exists(path):
            raise InputError("%s names '%s', which does not exist: correct or unset it, or set ca_path" % (name, path))
        bundles.append(path)
    return tuple(bundles)


def machine_trust(bundles: Iterable[str], shipped_bundle: Optional[str] = None) -> ssl.SSLContext:
    """An SSL context that verifies against the machine's store and `bundles` (else `shipped_bundle`)."""
    # Loading a store takes a noticeable fraction of a second, and a module builds more than one session.
    return _machine_trust(tuple(bundles), shipped_bundle, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=8)
def _machine_trust(bundles: tuple[str, ...], shipped_bundle: Optional[str], _cert_file: Optional[str],
                   _cert_dir: Optional[str]) -> ssl.SSLContext:
    # create_default_context loads OpenSSL's default locations, which SSL_CERT_FILE and SSL_CERT_DIR override (they
    # are part of the cache key for that reason). A hashed folder is read lazily and so not counted here.
    context = ssl.create_default_context()
    if shipped_bundle and not context.cert_store_stats()["x509_ca"]:
        bundles += (shipped_bundle,)
    for bundle in bundles:
        try:
            if os.path.isdir(bundle):
                context.load_verify_locations(capath=bundle)
            else:
                context.load_verify_locations(cafile=bundle)
        except (OSError, ssl.SSLError) as error:
            raise InputError("the CA bundle '%s' (named by %s) cannot be loaded (%s): it must hold PEM certificates" % (
                bundle, " or ".join(BUNDLE_VARIABLES), getattr(error, "reason", None) or error.strerror or type(error).__name__)) from None
    return context


def machine_trust_adapter(bundles: Iterable[str]) -> requests.adapters.HTTPAdapter:
    """A requests adapter that verifies with machine_trust(), directly and through a proxy alike."""
    # requests.certs is certifi through requests, which its type stubs do not declare.
    return _TrustingAdapter(machine_trust(bundles, requests.certs.where()))  # type: ignore[attr-defined]


if requests is not None:
    class _TrustingAdapter(requests.adapters.HTTPAdapter):
        # requests hands the pool manager's SSL context to direct connections only; proxied ones need it too.

        def __init__(self, context: ssl.SSLContext) -> None:
            self._context = context
            super().__init__()

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = self._context
            super().init_poolmanager(*args, **kwargs)

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            proxy_kwargs["ssl_context"] = self._context
            return super().proxy_manager_for(proxy, **proxy_kwargs)
