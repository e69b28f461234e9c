"""Profiles repository: rows <-> `app.domain.profile.Profile`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.profile import Profile
from app.store.models import ProfileRow

_FIELDS = tuple(name for name in Profile.model_fields if name != "user_id")


def _to_domain(row: ProfileRow) -> Profile:
    return Profile.model_validate(
        {"user_id": row.user_id, **{name: getattr(row, name) for name in _FIELDS}}
    )


async def get_profile(db: AsyncSession, *, user_id: str) -> Profile | None:
    row = await db.get(ProfileRow, user_id)
    return None if row is None else _to_domain(row)


async def upsert_profile(db: AsyncSession, *, profile: Profile) -> tuple[Profile, bool]:
    """Insert or replace a profile; returns it and whether it was created."""
    row = await db.get(ProfileRow, profile.user_id, with_for_update=True)
    created = row is None
    values = profile.model_dump(mode="python")
    if row is None:
        row = ProfileRow(**values)
        db.add(row)
    else:
        for name in _FIELDS:
            setattr(row, name, values[name])
    await db.flush()
    return profile, created


async def list_user_ids(db: AsyncSession, *, limit: int = 100) -> list[str]:
    result = await db.scalars(select(ProfileRow.user_id).order_by(ProfileRow.user_id).limit(limit))
    return list(result)
