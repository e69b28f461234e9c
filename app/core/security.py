"""API keys: stored as SHA-256 hashes, compared in constant time; each belongs to one
storefront and carries one or more scopes.

Keys are long random tokens (not passwords), so a fast unsalted hash is enough: it lets
the database look a key up by its hash while never storing the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

KEY_PREFIX = "more_"

# The storefront that every row written before tenancy (revision 0005), the static keys
# from the settings and the embedded demo belong to.
DEFAULT_STOREFRONT_ID = "default"
STOREFRONT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
_STOREFRONT_ID = re.compile(STOREFRONT_ID_PATTERN)


class Scope(StrEnum):
    """What a key may do. `admin` includes `storefront`; `operator` includes neither, so a
    platform key that manages the shared registry never reads a storefront's shoppers."""

    STOREFRONT = "storefront"  # chat, events, handoffs of its own storefront
    ADMIN = "admin"  # its storefront's profiles (incl. erasure/export) and experiments
    OPERATOR = "operator"  # global: the policy registry, storefronts and API keys


_IMPLIED: dict[Scope, frozenset[Scope]] = {Scope.ADMIN: frozenset({Scope.STOREFRONT})}


def parse_scopes(text: str | Iterable[str]) -> frozenset[Scope]:
    """Scopes from their stored form (space-separated, as OAuth's `scope`) or a list.

    Raises ValueError for an unknown scope or an empty list."""
    words = text.split() if isinstance(text, str) else list(text)
    if not words:
        raise ValueError("a key needs at least one scope")
    return frozenset(Scope(word) for word in words)


def format_scopes(scopes: Iterable[Scope]) -> str:
    """The stored form: space-separated, in a fixed order."""
    return " ".join(scope.value for scope in Scope if scope in set(scopes))


def valid_storefront_id(value: str) -> bool:
    return bool(_STOREFRONT_ID.match(value))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (a bounded, non-secret label), the storefront it
    belongs to, and its scopes."""

    key_name: str
    storefront_id: str
    scopes: frozenset[Scope]

    def allows(self, needed: Scope) -> bool:
        return any(needed is scope or needed in _IMPLIED.get(scope, ()) for scope in self.scopes)

    def allows_any(self, needed: Iterable[Scope]) -> bool:
        return any(self.allows(scope) for scope in needed)


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
