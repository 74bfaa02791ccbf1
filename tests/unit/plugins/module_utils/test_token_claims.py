# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""token_roles: the roles claim of an access token, read without verification; anything else is unknown."""

import base64
import json

import jwt
import pytest

from ansible_collections.mde.response.plugins.module_utils._client.token_claims import token_roles


def unsigned(payload):
    """A JWT whose payload segment is ``payload`` (bytes) in base64url without padding, as tokens carry it."""
    return "eyJhbGciOiJSUzI1NiJ9.%s.c2lnbmF0dXJl" % base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def test_an_app_token_grants_its_roles():
    token = jwt.encode({"roles": ["Machine.Read.All", "Machine.StopAndQuarantine"], "idtyp": "app"}, "k" * 32, algorithm="HS256")
    assert token_roles(token) == frozenset({"Machine.Read.All", "Machine.StopAndQuarantine"})


def test_an_app_token_without_the_write_permission_says_so():
    assert token_roles(jwt.encode({"roles": ["Machine.Read.All"]}, "k" * 32, algorithm="HS256")) == frozenset({"Machine.Read.All"})


def test_base64url_characters_and_missing_padding_are_read():
    # Characters that base64 writes as + and / (here "?>" in the payload) appear as - and _ in a token.
    payload = json.dumps({"roles": ["Machine.Read.All"], "note": "??>>"}).encode("utf-8")
    token = unsigned(payload)
    assert "-" in token or "_" in token
    assert token_roles(token) == frozenset({"Machine.Read.All"})


@pytest.mark.parametrize("token", [
    pytest.param(jwt.encode({"scp": "Machine.Read Machine.StopAndQuarantine"}, "k" * 32, algorithm="HS256"), id="delegated-scp"),
    pytest.param(jwt.encode({"roles": "Machine.Read.All"}, "k" * 32, algorithm="HS256"), id="roles-not-a-list"),
    pytest.param(jwt.encode({"roles": [1, 2]}, "k" * 32, algorithm="HS256"), id="roles-not-text"),
    pytest.param("opaque-access-token-without-dots", id="opaque"),
    pytest.param("a.b", id="two-segments"),
    pytest.param("a.!!!.c", id="payload-not-base64"),
    pytest.param(unsigned(b"\xff\xfe not json"), id="payload-not-json"),
    pytest.param(unsigned(b"[\"roles\"]"), id="payload-not-an-object"),
    pytest.param("", id="empty"),
    pytest.param(None, id="none"),
])
def test_a_token_that_does_not_say_is_unknown(token):
    assert token_roles(token) is None


def test_an_app_token_with_an_empty_roles_list_grants_nothing():
    assert token_roles(jwt.encode({"roles": []}, "k" * 32, algorithm="HS256")) == frozenset()
