"""Reading a generated reply: does it hand the customer over to a human?

A deliberately simple phrase detector for now; the reasoning-function parser used in
training can replace it (same signature).
"""

from __future__ import annotations

import re

_HANDOFF = re.compile(
    r"\b("
    r"(connect|transfer|pass|hand|put|escalat\w*|forward|refer)\w*\s+(you\s+)?(over\s+)?"
    r"(to|with|through\s+to)\s+(a|an|one\s+of\s+our|our|the)\s+"
    r"(human|live|real|support|customer\s+service|specialist|agent|colleague|team|person|representative)"
    r"|human\s+(agent|colleague|specialist|representative)"
    r"|(a|an|our)\s+(agent|colleague|specialist|representative)\s+will\s+(contact|call|reach|help|be\s+with)"
    r"|hand(ing)?\s+(this|you|it)\s+(off|over)"
    r")",
    re.IGNORECASE,
)


def detects_handoff(reply: str) -> bool:
    """True when the reply hands the conversation to a human agent."""
    return bool(_HANDOFF.search(reply))
