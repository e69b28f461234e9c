"""API keys: stored as SHA-256 hashes, compared in constant time, each with one scope.

Keys are long random tokens (not passwords), so a fast unsalted hash is enough: it lets
the database look a key up by its hash while never storing the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

KEY_PREFIX = "more_"


class Scope(StrEnum):
    STOREFRONT = "storefront"  # chat, events: server-to-server from a storefront backend
    ADMIN = "admin"  # profiles, experiments, policies; also allowed everything storefront is


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (a bounded, non-secret label) and its scope."""

    key_name: str
    scope: Scope

    def allows(self, needed: Scope) -> bool:
        return self.scope is Scope.ADMIN or self.scope is needed


def hash_key(key: str) -> str:
    """Hex SHA-256 of a key, the only form that is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def keys_match(key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key against a stored hash."""
    return hmac.compare_digest(hash_key(key), stored_hash)


def generate_key() -> str:
    """A new random key (~256 bits), recognisable by its prefix in secret scanners."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
