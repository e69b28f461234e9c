"""Profiles repository: rows <-> `app.domain.profile.Profile`, per storefront."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.profile import Profile
from app.store.models import ProfileRow

_FIELDS = tuple(name for name in Profile.model_fields if name != "user_id")


def _to_domain(row: ProfileRow) -> Profile:
    return Profile.model_validate(
        {"user_id": row.user_id, **{name: getattr(row, name) for name in _FIELDS}}
    )


async def _row(
    db: AsyncSession, storefront_id: str, user_id: str, *, lock: bool = False
) -> ProfileRow | None:
    query = select(ProfileRow).where(
        ProfileRow.storefront_id == storefront_id, ProfileRow.user_id == user_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await db.scalar(query)


async def get_profile(db: AsyncSession, *, storefront_id: str, user_id: str) -> Profile | None:
    row = await _row(db, storefront_id, user_id)
    return None if row is None else _to_domain(row)


async def upsert_profile(
    db: AsyncSession, *, storefront_id: str, profile: Profile
) -> tuple[Profile | None, bool]:
    """Insert or replace a profile; returns the profile it replaced (None if created)
    and whether it was created.

    Concurrent first PUTs of one shopper are settled by `ON CONFLICT DO NOTHING` on the
    primary key: one inserts, the others replace what it wrote (200, never an error)."""
    values = profile.model_dump(mode="python")
    row = await _row(db, storefront_id, profile.user_id, lock=True)
    if row is None:
        insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
        inserted = await db.scalar(
            insert(ProfileRow)
            .values(storefront_id=storefront_id, **values)
            .on_conflict_do_nothing(index_elements=["storefront_id", "user_id"])
            .returning(ProfileRow.user_id)
        )
        if inserted is not None:
            return None, True
        row = await _row(db, storefront_id, profile.user_id, lock=True)
        assert row is not None  # a concurrent PUT inserted it first
    previous = _to_domain(row)
    for name in _FIELDS:
        setattr(row, name, values[name])
    await db.flush()
    return previous, False


async def delete_profile(db: AsyncSession, *, storefront_id: str, user_id: str) -> bool:
    """Delete a profile (its sessions first: they reference it); False if there was none."""
    row = await _row(db, storefront_id, user_id, lock=True)
    if row is None:
        return False
    await db.delete(row)
    await db.flush()
    return True


async def list_user_ids(db: AsyncSession, *, storefront_id: str, limit: int = 100) -> list[str]:
    result = await db.scalars(
        select(ProfileRow.user_id)
        .where(ProfileRow.storefront_id == storefront_id)
        .order_by(ProfileRow.user_id)
        .limit(limit)
    )
    return list(result)
