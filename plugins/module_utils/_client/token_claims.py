# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an access token says about itself: the application permissions of its ``roles`` claim.

Only used to predict, in check mode, a refusal a real run would get: the API checks the token itself, so the payload
is read without verifying the signature. The token is never kept, logged or put in a message.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Optional


def token_roles(token: object) -> Optional[frozenset[str]]:
    """The application permissions in the JWT access token's ``roles`` claim, as a frozenset; None when unknown.

    Unknown is a token that is not a readable JWT (an opaque token), or one without a ``roles`` list (a delegated
    token carries ``scp`` instead): nothing can be predicted from it.
    """
    parts: list[str] = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        # ValueError covers bytes that are not UTF-8 and text that is not JSON.
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        return None
    return frozenset(roles)
