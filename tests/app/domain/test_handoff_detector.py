"""The handoff detector on generated replies."""

from __future__ import annotations

import pytest

from app.domain.replies import detects_handoff


@pytest.mark.parametrize(
    "reply",
    [
        "Let me connect you with a human agent.",
        "I'll transfer you to one of our specialists now.",
        "I'm handing this over to our support team.",
        "A colleague will contact you shortly about the dispute.",
        "I'll pass you to a customer service representative.",
    ],
)
def test_replies_detects_handoff(reply: str) -> None:
    assert detects_handoff(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "Yes, the phone fits your available credit of $1,200.00.",
        "You can connect your account in settings.",
        "Unfortunately instalments are not available in your region.",
        "",
    ],
)
def test_replies_no_handoff(reply: str) -> None:
    assert not detects_handoff(reply)
