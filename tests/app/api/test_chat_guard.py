"""The reply guard in the live chat path, on real PostgreSQL + Redis.

The engine is scripted (its replies are chosen per test), the intent classifier is the
real one on the bundled MiniLM, the checks are `app.domain.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.core import metrics
from app.core.security import Scope
from app.domain.prompt import ChatMessage
from app.store.models import EventRow, MessageRow, SessionRow
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body

PHONE = {"items": [{"title": "Pixel 9 phone", "price": "299.00"}]}
APPROVAL = "Yes, you can buy the Pixel 9 phone on instalments!"


class Sequenced(ScriptedEngine):
    """Replies from a list, one per generated reply (the last one repeats)."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        super().__init__(self._next)

    def _next(self, messages: Sequence[ChatMessage]) -> str:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


async def _shopper(client, admin: str, **fields) -> str:  # type: ignore[no-untyped-def]
    profile = make_profile(**fields)
    response = await client.put(
        f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    return profile.user_id


async def _assistant_row(client, session_id: str) -> MessageRow:  # type: ignore[no-untyped-def]
    async with client.app.state.services.db() as db:
        rows = await db.scalars(
            select(MessageRow)
            .where(MessageRow.session_id == session_id, MessageRow.role == "assistant")
            .order_by(MessageRow.id.desc())
        )
        return next(iter(rows))


async def _user_contexts(client, session_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """The storefront context stored with each of the session's user messages, in order."""
    async with client.app.state.services.db() as db:
        rows = await db.scalars(
            select(MessageRow.context)
            .where(MessageRow.session_id == session_id, MessageRow.role == "user")
            .order_by(MessageRow.id)
        )
        return list(rows)


def _count(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_forbidden_approval_is_replaced_by_a_passing_candidate(
    make_client, pg_settings, pg_keys
):
    decline = "Unfortunately, instalments aren't available because your account is suspended."
    engine = Sequenced([APPROVAL, decline])
    async with make_client(
        pg_settings(MORE_GUARD_MODE="enforce", MORE_GUARD_CANDIDATES=4), engine
    ) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN], account_standing="suspended")
        body = chat_body(user, "Can I pay for this phone in instalments?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )

        assert response.status_code == 200, response.text
        assert response.json()["reply"] == decline
        row = await _assistant_row(client, response.json()["session_id"])
        assert row.intervention == "resample" and row.raw_reply == APPROVAL
        assert row.intent == "purchase_fit"
        assert row.guard["raw"]["decision"] == 0.0 and "decision" in row.guard["failed"]
        assert "Verdict: decline (account not in good standing)" in engine.prompts[0][0]["content"]


async def test_fallback_reply_when_no_candidate_passes(make_client, pg_settings, pg_keys):
    engine = ScriptedEngine(APPROVAL)  # every sample approves, every sample is wrong
    before = _count("more_guard_interventions_total", policy="base", kind="fallback")
    async with make_client(pg_settings(MORE_GUARD_MODE="enforce"), engine) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN], identity_verified=False)
        body = chat_body(user, "Can I pay for this phone in instalments?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )

        reply = response.json()["reply"]
        assert response.status_code == 200 and APPROVAL not in reply
        assert "verif" in reply.lower()  # the rules' reason, in the references' voice
        row = await _assistant_row(client, response.json()["session_id"])
        assert row.intervention == "fallback" and row.raw_reply == APPROVAL
    assert _count("more_guard_interventions_total", policy="base", kind="fallback") == before + 1


async def test_guard_hands_off_a_turn_that_needs_a_person(make_client, pg_settings, pg_keys):
    engine = ScriptedEngine("I can help you with that right here.")
    async with make_client(
        pg_settings(MORE_GUARD_MODE="enforce", MORE_GUARD_CANDIDATES=0), engine
    ) as client:
        shop = bearer(pg_keys[Scope.STOREFRONT])
        user = await _shopper(client, pg_keys[Scope.ADMIN])
        response = await client.post(
            "/v1/chat", json=chat_body(user, "I want to talk to a real person"), headers=shop
        )
        body = response.json()
        assert response.status_code == 200 and body["handoff"] is True
        sid = body["session_id"]
        async with client.app.state.services.db() as db:
            session = await db.get(SessionRow, sid)
            events = list(await db.scalars(select(EventRow).where(EventRow.session_id == sid)))
        assert session is not None and session.status == "human"  # the bot is silenced
        assert [e.type for e in events] == ["handoff"]
        again = await client.post(
            "/v1/chat", json=chat_body(user, "hello?", session_id=sid), headers=shop
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "session_handed_off"


async def test_stream_in_enforce_mode_never_sends_unverified_text(
    make_client, pg_settings, pg_keys
):
    engine = ScriptedEngine(APPROVAL)
    async with make_client(pg_settings(MORE_GUARD_MODE="enforce"), engine) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN], region="BR")
        body = chat_body(user, "Can I buy this on instalments?", context=PHONE)
        response = await client.post(
            "/v1/chat/stream", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )
        assert response.status_code == 200
        assert "Yes, you can buy" not in response.text  # not a single unverified delta
        assert "event: delta" in response.text and "event: done" in response.text
        assert any(w in response.text for w in ("region", "country", "where you live"))


async def test_monitor_mode_sends_the_raw_reply_and_counts_it(make_client, pg_settings, pg_keys):
    engine = ScriptedEngine(APPROVAL)
    before = _count("more_guard_checks_total", policy="base", constraint="decision", outcome="fail")
    async with make_client(pg_settings(MORE_GUARD_MODE="monitor"), engine) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN], account_standing="late")
        body = chat_body(user, "Can I pay for this phone in instalments?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )
        assert response.json()["reply"] == APPROVAL
        row = await _assistant_row(client, response.json()["session_id"])
        assert row.intervention == "none" and row.guard["raw"]["decision"] == 0.0
    after = _count("more_guard_checks_total", policy="base", constraint="decision", outcome="fail")
    assert after == before + 1


async def test_intent_is_inferred_while_the_profile_is_read(make_client, pg_settings, pg_keys):
    """The encoder pass needs only the message, so it starts before the profile read
    returns instead of after the profile, session and history reads."""
    import asyncio

    from app.domain.rules import Intent
    from app.engine.intent import IntentGuess

    async with make_client(
        pg_settings(MORE_GUARD_MODE="enforce"), ScriptedEngine(APPROVAL)
    ) as client:
        chat = client.app.state.services.chat
        user = await _shopper(client, pg_keys[Scope.ADMIN])
        started = asyncio.Event()
        seen_during_profile_read: list[bool] = []

        class Recording:
            async def aclassify(self, message: str, user_id: str | None = None) -> IntentGuess:
                started.set()
                return IntentGuess(Intent.PURCHASE_FIT, 0.9, 1.0)

        read_profile = chat._profiles.get

        async def slow_profile_read(**kw):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.05)  # the database's round trip
            seen_during_profile_read.append(started.is_set())
            return await read_profile(**kw)

        chat._intents = Recording()
        chat._profiles.get = slow_profile_read
        body = chat_body(user, "Can I pay for this phone in instalments?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )

        assert response.status_code == 200, response.text
        assert seen_during_profile_read == [True]
        row = await _assistant_row(client, response.json()["session_id"])
        assert row.intent == "purchase_fit"


async def test_the_intent_is_read_with_the_titles_in_view_as_item(
    make_client, pg_settings, pg_keys
):
    """Which product a shopper names does not change what they ask: the classifier is
    given "What about the item?" for "What about the <title in view>?"."""
    from app.domain.rules import Intent
    from app.engine.intent import IntentGuess

    async with make_client(
        pg_settings(MORE_GUARD_MODE="enforce"), ScriptedEngine(APPROVAL)
    ) as client:
        chat = client.app.state.services.chat
        user = await _shopper(client, pg_keys[Scope.ADMIN])
        given: list[str] = []

        class Recording:
            async def aclassify(self, message: str, user_id: str | None = None) -> IntentGuess:
                given.append(message)
                return IntentGuess(Intent.PURCHASE_FIT, 0.9, 1.0)

        chat._intents = Recording()
        title = PHONE["items"][0]["title"]
        body = chat_body(user, f"What about the {title.upper()}?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )

        assert response.status_code == 200, response.text
        assert given == ["What about the item?"]


async def test_a_follow_up_the_classifier_cannot_place_continues_an_earlier_request(
    make_client, pg_settings, pg_keys
):
    """ "ok I've verified now, can I?" after "what do I need to do?" after "Can I pay for
    this phone in instalments?" is decided as that purchase: a suspended shopper's
    approval is caught and the verdict line is sent."""
    from app.domain.rules import Intent
    from app.engine.intent import IntentGuess

    decline = "I'm sorry, instalments aren't available because your account is suspended."
    engine = Sequenced([decline, decline, APPROVAL, decline])
    async with make_client(
        pg_settings(MORE_GUARD_MODE="enforce", MORE_GUARD_CANDIDATES=4), engine
    ) as client:
        chat = client.app.state.services.chat
        user = await _shopper(client, pg_keys[Scope.ADMIN], account_standing="suspended")
        given: list[str] = []

        class OnlyKnowsThePurchase:
            async def aclassify(self, message: str, user_id: str | None = None) -> IntentGuess:
                given.append(message)
                known = message.startswith("Can I pay")
                return IntentGuess(Intent.PURCHASE_FIT if known else None, 0.5, 0.4)

        chat._intents = OnlyKnowsThePurchase()
        session_id = None
        for message in (
            "Can I pay for this phone in instalments?",
            "what do I need to do?",
            "ok I've verified now, can I?",
        ):
            body = chat_body(user, message, context=PHONE)
            if session_id:
                body["session_id"] = session_id
            response = await client.post(
                "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
            )
            assert response.status_code == 200, response.text
            session_id = response.json()["session_id"]

        assert given[-3:] == [
            "ok I've verified now, can I?",
            "what do I need to do?",
            "Can I pay for this phone in instalments?",
        ]
        assert response.json()["reply"] == decline  # the approval was resampled
        row = await _assistant_row(client, session_id)
        assert row.intent == "purchase_fit" and row.raw_reply == APPROVAL
        assert "Verdict: decline" in engine.prompts[-1][0]["content"]


async def test_a_first_message_the_classifier_cannot_place_stays_unknown(
    make_client, pg_settings, pg_keys
):
    from app.engine.intent import IntentGuess

    engine = ScriptedEngine("Could you say more?")
    async with make_client(pg_settings(MORE_GUARD_MODE="enforce"), engine) as client:
        chat = client.app.state.services.chat
        user = await _shopper(client, pg_keys[Scope.ADMIN])

        class Abstains:
            async def aclassify(self, message: str, user_id: str | None = None) -> IntentGuess:
                return IntentGuess(None, 0.2, 0.3)

        chat._intents = Abstains()
        body = chat_body(user, "why not?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )

        assert response.status_code == 200, response.text
        row = await _assistant_row(client, response.json()["session_id"])
        assert row.intent is None
        assert "Verdict:" not in engine.prompts[0][0]["content"]


async def _follow_up_without_context(  # type: ignore[no-untyped-def]
    client, user: str, headers: dict[str, str], message: str
):
    """ "Can I pay for this phone in instalments?" with the phone in view, then `message`
    in the same session with no `context`: (session id, the follow-up's response)."""
    first = chat_body(user, "Can I pay for this phone in instalments?", context=PHONE)
    session_id = (await client.post("/v1/chat", json=first, headers=headers)).json()["session_id"]
    follow_up = {"user_id": user, "session_id": session_id, "message": message}
    return session_id, await client.post("/v1/chat", json=follow_up, headers=headers)


async def test_a_follow_up_sent_without_context_keeps_the_previous_turns_page(
    make_client, pg_settings, pg_keys
):
    """ "And over 6 months?" with no `context` still asks about the phone in view: the
    prompt shows it, the guard decides on it (its 6-month payment is licensed) and the
    turn is stored with it. `context: {}` clears it."""
    six_months = "Yes, the Pixel 9 phone is $49.83 a month over 6 months, interest-free."
    engine = Sequenced([APPROVAL, six_months, "Could you tell me which item?"])
    async with make_client(pg_settings(MORE_GUARD_MODE="enforce"), engine) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN])
        headers = bearer(pg_keys[Scope.STOREFRONT])
        session_id, response = await _follow_up_without_context(
            client, user, headers, "And over 6 months?"
        )

        assert response.status_code == 200, response.text
        assert response.json()["reply"] == six_months  # $49.83 passed the numeric check
        assert "Pixel 9 phone" in engine.prompts[-1][0]["content"]
        row = await _assistant_row(client, session_id)
        assert row.intervention == "none"  # decided on the phone: a purchase it fits
        contexts = await _user_contexts(client, session_id)
        assert [c["items"][0]["title"] for c in contexts] == ["Pixel 9 phone"] * 2

        cleared = chat_body(user, "What about this?", context={})
        cleared["session_id"] = session_id
        response = await client.post("/v1/chat", json=cleared, headers=headers)
        assert response.status_code == 200, response.text
        assert "Pixel 9 phone" not in engine.prompts[-1][0]["content"]


async def test_items_added_in_words_stay_in_the_cart_of_the_next_turns(
    make_client, pg_settings, pg_keys
):
    """ "and AirPods for 179 too?" after "and if I add the case for 49?" was priced without
    the case, and approved over the credit (live API). The phone ($299), the case ($49)
    and a $900 watch come to $1,248, over the $1,200 available: without the case carried
    over, $1,199 would fit and the approval would pass."""
    engine = Sequenced([APPROVAL])
    async with make_client(pg_settings(MORE_GUARD_MODE="enforce"), engine) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN])
        headers = bearer(pg_keys[Scope.STOREFRONT])
        session_id, response = await _follow_up_without_context(
            client, user, headers, "and if I add the case for 49?"
        )
        assert response.status_code == 200, response.text
        watch = {"user_id": user, "session_id": session_id, "message": "and a watch for 900 too?"}
        response = await client.post("/v1/chat", json=watch, headers=headers)

        assert response.status_code == 200, response.text
        row = await _assistant_row(client, session_id)
        assert row.intervention == "fallback" and row.raw_reply == APPROVAL
        # The whole cart declined, in words seeded by the session id: its total or by how
        # much it is over (without the case, $1,199 fits and neither figure exists).
        reply = response.json()["reply"]
        assert "$1,248" in reply or "$48 over" in reply or "$48 more" in reply, reply
        contexts = await _user_contexts(client, session_id)
        # Each follow-up is stored with the cart it was asked on.
        assert [[i["price"] for i in c["items"]] for c in contexts] == [
            ["299.00"],
            ["299.00"],
            ["299.00", "49"],
        ]


async def test_how_do_i_fix_that_continues_the_declined_request(make_client, pg_settings, pg_keys):
    """Seen through the live API: "how do I fix that?" after an unverified shopper's
    decline was read as a return, and "You don't need a verified identity to start
    instalments." was sent. It now continues the purchase: that reply fails its decision."""
    from app.domain.rules import Intent
    from app.engine.intent import IntentGuess

    decline = "I'm sorry, instalments aren't available until your identity is verified."
    wrong = "Good news: you can buy the Pixel 9 phone on instalments without verifying."
    # Asked how to fix it, the decline must say how (the bare decline fails too).
    how = f"{decline} You can complete verification in your account settings."
    engine = Sequenced([decline, wrong, how])
    async with make_client(
        pg_settings(MORE_GUARD_MODE="enforce", MORE_GUARD_CANDIDATES=4), engine
    ) as client:
        chat = client.app.state.services.chat
        user = await _shopper(client, pg_keys[Scope.ADMIN], identity_verified=False)

        class ReadsAReturn:
            async def aclassify(self, message: str, user_id: str | None = None) -> IntentGuess:
                known = message.startswith("Can I pay")
                return IntentGuess(Intent.PURCHASE_FIT if known else Intent.RETURNS, 0.5, 0.9)

        chat._intents = ReadsAReturn()
        headers = bearer(pg_keys[Scope.STOREFRONT])
        session_id, response = await _follow_up_without_context(
            client, user, headers, "how do I fix that?"
        )

        assert response.status_code == 200, response.text
        assert response.json()["reply"] == how
        row = await _assistant_row(client, session_id)
        assert row.intent == "purchase_fit" and row.raw_reply == wrong


async def test_a_message_that_asks_two_things_is_answered_on_both(
    make_client, pg_settings, pg_keys
):
    # "what's my balance, and can I buy the blender?" got the balance alone (live API).
    balance = "You owe $300 of your $1,500 limit, so $1,200 is available."
    engine = ScriptedEngine(balance)
    async with make_client(pg_settings(MORE_GUARD_MODE="enforce"), engine) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN])
        body = chat_body(user, "what's my balance, and can I buy the Pixel 9 phone?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )

        assert response.status_code == 200, response.text
        reply = response.json()["reply"]
        # The purchase answered after the balance, in words seeded by the session id.
        added = reply.removeprefix(balance)
        phone = ("$299", "Pixel 9 phone", "$99.67", "$49.83", "$24.92")  # price, title, payments
        assert reply.startswith(balance) and any(said in added for said in phone)
        row = await _assistant_row(client, response.json()["session_id"])
        assert row.intent == "credit_info" and row.intervention == "none"
        assert [p["intent"] for p in row.guard["further"]] == ["purchase_fit"]
        assert row.content == reply


async def test_by_default_a_failing_reply_is_replaced_without_sampling_candidates(
    make_client, pg_settings, pg_keys
):
    # Half the candidates read through the live API were wrong while passing every check
    # ("Yes, your boyie-beer is inside the cart"): the default goes straight to the rules.
    engine = ScriptedEngine(APPROVAL)
    async with make_client(pg_settings(MORE_GUARD_MODE="enforce"), engine) as client:
        user = await _shopper(client, pg_keys[Scope.ADMIN], identity_verified=False)
        body = chat_body(user, "Can I pay for this phone in instalments?", context=PHONE)
        response = await client.post(
            "/v1/chat", json=body, headers=bearer(pg_keys[Scope.STOREFRONT])
        )

        assert response.status_code == 200, response.text
        row = await _assistant_row(client, response.json()["session_id"])
        assert row.intervention == "fallback" and len(engine.prompts) == 1
