"""Long sessions: history is trimmed by tokens (oldest turns first) to fit the engine's
context with room for a whole reply; a message too long on its own is a 422, never the
503 "retry shortly" that no retry can cure."""

from __future__ import annotations

from app.core.security import Scope
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body

REPLY = "Sure, that works for you."  # 5 words = 5 scripted tokens


def _words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


async def test_prompt_history_trimmed_by_tokens_then_422_for_a_message_too_long(
    make_client, pg_settings, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(REPLY)
    settings = pg_settings(MORE_MAX_TOKENS=8)
    async with make_client(settings, engine) as client:
        shop, admin = bearer(pg_keys[Scope.STOREFRONT]), bearer(pg_keys[Scope.ADMIN])
        profile = make_profile()
        await client.put(
            f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
        )
        session_id = None
        for turn in range(3):
            body = chat_body(profile.user_id, _words(50, f"t{turn}-"), session_id=session_id)
            response = await client.post("/v1/chat", json=body, headers=shop)
            assert response.status_code == 200, response.text
            session_id = response.json()["session_id"]
        # The system prompt, as the engine counts it (tokens = words here).
        system = engine.count_tokens(engine.prompts[-1][:1])

        # Room for the system prompt, one past turn (50 + 5), the new message (50) and a
        # whole reply (8): the two oldest turns must go, the newest stays.
        engine.max_model_len = system + 55 + 50 + 8 + 3
        body = chat_body(profile.user_id, _words(50, "t3-"), session_id=session_id)
        response = await client.post("/v1/chat", json=body, headers=shop)
        assert response.status_code == 200, response.text
        prompt = engine.prompts[-1]
        assert [m["content"].split()[0] for m in prompt[1:] if m["role"] == "user"] == [
            "t2-0",
            "t3-0",
        ]
        assert engine.count_tokens(prompt) + 8 <= engine.max_model_len

        # A message that cannot fit even alone: a clear 422 on `message`, every time.
        engine.max_model_len = system + 40
        long_body = chat_body(profile.user_id, _words(60, "x"), session_id=session_id)
        for _ in range(2):
            response = await client.post("/v1/chat", json=long_body, headers=shop)
            assert response.status_code == 422, response.text
            error = response.json()["error"]
            assert error["code"] == "prompt_too_long" and error["param"] == "message"
            assert "shorten the message" in error["message"]
        # Nothing was left locked: a shorter message in the same session is answered.
        engine.max_model_len = None
        ok = await client.post(
            "/v1/chat", json=chat_body(profile.user_id, "ok?", session_id=session_id), headers=shop
        )
        assert ok.status_code == 200, ok.text
