"""API keys: hashing, comparison, bearer parsing, scopes."""

from __future__ import annotations

from app.core.security import (
    Principal,
    Scope,
    bearer_token,
    generate_key,
    hash_key,
    keys_match,
)


def test_security_keys_are_hashed_and_compared() -> None:
    key = generate_key()
    assert key.startswith("more_") and len(key) > 40
    assert generate_key() != key
    stored = hash_key(key)
    assert len(stored) == 64 and key not in stored
    assert keys_match(key, stored) and not keys_match(key + "x", stored)


def test_security_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None


def test_security_admin_scope_includes_storefront() -> None:
    admin, shop = Principal("a", Scope.ADMIN), Principal("s", Scope.STOREFRONT)
    assert admin.allows(Scope.STOREFRONT) and admin.allows(Scope.ADMIN)
    assert shop.allows(Scope.STOREFRONT) and not shop.allows(Scope.ADMIN)
