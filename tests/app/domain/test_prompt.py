from __future__ import annotations

from decimal import Decimal

from app.domain.money import format_amount
from app.domain.profile import CartItem, Profile, StorefrontContext
from app.domain.prompt import build_messages, render_reasoned_reply, strip_reasoning


def test_build_messages_holds_only_the_users_facts_history_and_message() -> None:
    profile = Profile(user_id="u-7", first_name="Ada", credit_limit=Decimal("1000"), currency="EUR")
    context = StorefrontContext(items=[CartItem(title="Kettle", price=Decimal("49.90"))])
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello!"},
    ]

    messages = build_messages(profile, context, history, "Can I split the kettle?")

    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    system = messages[0]["content"]
    assert "Ada" in system and "€1,000.00" in system and "Kettle, €49.90" in system
    assert "u-7" not in system  # internal ids never reach the model
    assert messages[-1]["content"] == "Can I split the kettle?"


def test_format_amount_uses_symbol_separators_and_currency_decimals() -> None:
    assert format_amount(Decimal("1234.5"), "USD") == "$1,234.50"
    assert format_amount(Decimal("12000.4"), "JPY") == "¥12,000"


def test_strip_reasoning_returns_the_direct_reply_only() -> None:
    scaffold = render_reasoned_reply(["Available credit = $400.00."], "Yes, it fits!")

    assert strip_reasoning(scaffold) == "Yes, it fits!"
    assert strip_reasoning("<reasoning>\nunfinished") == ""
    assert strip_reasoning("  Plain reply. ") == "Plain reply."
