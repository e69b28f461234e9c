"""The policy seam of the chat service: a custom `PolicyResolver` picks variant, version
and adapter per user; a session keeps the policy it started with."""

from __future__ import annotations

from app.core.security import Scope
from app.engine.base import Adapter
from app.services.policies import Policy, PolicyResolver
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body


class ByUserResolver(PolicyResolver):
    """Users whose id ends in an even digit get the treatment; sessions stay put."""

    def __init__(self) -> None:
        self.control = Policy("control", "base", None, experiment="exp-1")
        self.treatment = Policy(
            "treatment", "more-v1", Adapter("more-v1", "/adapters/more-v1"), experiment="exp-1"
        )
        self.flip = False  # simulates a ramp: new assignments change, sessions must not

    async def resolve(
        self,
        *,
        storefront_id: str,
        user_id: str,
        session_variant: str | None = None,
        session_policy_version: str | None = None,
    ) -> Policy:
        if session_variant is not None:
            return self.treatment if session_variant == "treatment" else self.control
        treated = (int(user_id[-1]) % 2 == 0) != self.flip
        return self.treatment if treated else self.control

    async def adapters(self) -> list[Adapter]:
        return [self.treatment.adapter] if self.treatment.adapter else []


async def test_chat_policies_custom_resolver_routes_adapters_and_keeps_sessions(
    make_client, pg_settings, pg_keys
):
    engine = ScriptedEngine()
    resolver = ByUserResolver()
    async with make_client(pg_settings(), engine, policies=resolver) as client:
        assert [a.name for a in engine.added] == ["more-v1"]  # loaded at start-up
        admin, shop = bearer(pg_keys[Scope.ADMIN]), bearer(pg_keys[Scope.STOREFRONT])
        treated, control = make_profile("pol-user-2"), make_profile("pol-user-1")
        for profile in (treated, control):
            await client.put(
                f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
            )
        a = (await client.post("/v1/chat", json=chat_body(treated.user_id), headers=shop)).json()
        b = (await client.post("/v1/chat", json=chat_body(control.user_id), headers=shop)).json()
        assert (a["variant"], a["policy_version"]) == ("treatment", "more-v1")
        assert (b["variant"], b["policy_version"]) == ("control", "base")
        assert engine.adapters_used == ["more-v1", None]

        resolver.flip = True  # the next new session of this user would be control...
        again = await client.post(
            "/v1/chat",
            json=chat_body(treated.user_id, "and then?", session_id=a["session_id"]),
            headers=shop,
        )
        assert again.json()["variant"] == "treatment"  # ...but this session keeps its arm
        assert engine.adapters_used[-1] == "more-v1"
