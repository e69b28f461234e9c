"""API keys: hashing, comparison, bearer parsing, scopes."""

from __future__ import annotations

import pytest

from app.core.security import (
    Principal,
    Scope,
    bearer_token,
    format_scopes,
    generate_key,
    hash_key,
    keys_match,
    parse_scopes,
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
    admin = Principal("a", "default", frozenset({Scope.ADMIN}))
    shop = Principal("s", "default", frozenset({Scope.STOREFRONT}))
    assert admin.allows(Scope.STOREFRONT) and admin.allows(Scope.ADMIN)
    assert shop.allows(Scope.STOREFRONT) and not shop.allows(Scope.ADMIN)
    assert not admin.allows(Scope.OPERATOR) and not shop.allows(Scope.OPERATOR)


def test_security_operator_scope_is_separate_from_storefront_data() -> None:
    operator = Principal("o", "default", frozenset({Scope.OPERATOR}))
    assert operator.allows(Scope.OPERATOR)
    assert not operator.allows(Scope.ADMIN) and not operator.allows(Scope.STOREFRONT)
    both = Principal("b", "default", frozenset({Scope.ADMIN, Scope.OPERATOR}))
    assert both.allows_any([Scope.STOREFRONT]) and both.allows(Scope.OPERATOR)


def test_security_scopes_parse_and_format_as_oauth_does() -> None:
    assert parse_scopes("operator admin") == {Scope.ADMIN, Scope.OPERATOR}
    assert format_scopes({Scope.OPERATOR, Scope.ADMIN}) == "admin operator"
    for bad in ("", "root", "admin root"):
        with pytest.raises(ValueError):
            parse_scopes(bad)
