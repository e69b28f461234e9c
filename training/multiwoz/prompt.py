"""The response-generation prompt: dialogue history plus belief state, DB results and booking.

Facts go in the system message, the history as alternating user/assistant messages
ending with the user's turn, so chat templates and TRL's conversational prompts work
unchanged. The policy writes a plain (lexicalised) reply; the evaluator delexicalises
it by value matching (docs/multiwoz.md explains why).
"""

from __future__ import annotations

from app.domain.prompt import ChatMessage
from training.data.multiwoz.turn import MultiWozTurn

INSTRUCTIONS = (
    "You are the Cambridge TownInfo assistant. Help the user find and book restaurants, "
    "hotels, attractions, trains and taxis. Use only the facts below: never invent venue "
    "names, phone numbers, addresses, train ids or booking references, and only confirm a "
    "booking when one is listed. Answer what the user asked in one or two short sentences."
)
MAX_HISTORY = 6  # utterances kept before the current user turn (older ones rarely matter)
_SHOWN_FIELDS = (
    "trainid", "name", "type", "area", "pricerange", "food", "stars", "parking", "internet",
    "departure", "destination", "day", "leaveat", "arriveby", "duration", "price",
    "entrancefee", "address", "postcode", "phone", "department",
)  # fmt: skip


def render_state(turn: MultiWozTurn) -> str:
    if not turn.belief_state:
        return "Belief state: nothing yet"
    parts = [
        f"{domain}: " + ", ".join(f"{slot}={value}" for slot, value in slots.items())
        for domain, slots in turn.belief_state.items()
    ]
    return "Belief state: " + "; ".join(parts)


def render_db(turn: MultiWozTurn) -> str:
    if not turn.db_results:
        return "Database: no search"
    lines = ["Database:"]
    for domain, result in turn.db_results.items():
        lines.append(f"- {domain}: {result.count} match{'es' if result.count != 1 else ''}")
        for row in result.entities:
            lines.append("  * " + ", ".join(f"{k} {row[k]}" for k in _SHOWN_FIELDS if k in row))
    return "\n".join(lines)


def render_booking(turn: MultiWozTurn) -> str:
    if not turn.new_bookings:
        return "Booking: none made this turn"
    parts = [
        f"{domain} booked"
        + (f", reference {b['ref']}" if b.get("ref") else "")
        + "".join(f", {k} {v}" for k, v in b.items() if k in ("phone", "type", "trainid"))
        for domain, b in turn.new_bookings.items()
    ]
    return "Booking: " + "; ".join(parts)


def build_messages(turn: MultiWozTurn, *, max_history: int = MAX_HISTORY) -> list[ChatMessage]:
    """The chat prompt for the system reply of `turn`."""
    facts = "\n".join((render_state(turn), render_db(turn), render_booking(turn)))
    messages: list[ChatMessage] = [{"role": "system", "content": f"{INSTRUCTIONS}\n\n{facts}"}]
    for utterance in turn.context[-(max_history + 1) :]:
        role = "user" if utterance.role == "user" else "assistant"
        messages.append({"role": role, "content": utterance.text})
    return messages
