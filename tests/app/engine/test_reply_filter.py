"""The streaming reasoning filter agrees with `strip_reasoning` however the text is split."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from app.domain.prompt import REASONING_CLOSE, REASONING_OPEN, strip_reasoning
from app.engine._reply_filter import ReplyFilter

# Text pieces that are not tags but look like their beginnings, to stress the hold-back.
_words = st.sampled_from(
    ["Yes", " you", " can", " pay", " $300", "<", "<re", "</rea", " <b>", "\n", "  ", "ok.", "é"]
)
_plain = (
    st.lists(_words, max_size=12)
    .map("".join)
    .filter(lambda t: REASONING_OPEN not in t and REASONING_CLOSE not in t)
)


def _run(raw: str, cuts: list[int]) -> tuple[str, ReplyFilter]:
    reply = ReplyFilter()
    bounds = [0, *sorted(c % (len(raw) + 1) for c in cuts), len(raw)]
    out = [reply.feed(raw[a:b]) for a, b in itertools.pairwise(bounds)]
    out.append(reply.finish())
    return "".join(out), reply


@given(
    reasoning=st.none() | _plain,
    lead=st.sampled_from(["", " ", "\n"]),
    body=_plain,
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_reply_filter_matches_strip_reasoning_for_any_chunking(
    reasoning: str | None, lead: str, body: str, cuts: list[int]
) -> None:
    block = "" if reasoning is None else f"{REASONING_OPEN}{reasoning}{REASONING_CLOSE}"
    raw = lead + block + body

    text, _ = _run(raw, cuts)

    assert text == strip_reasoning(raw)


@given(
    pieces=st.lists(st.sampled_from(["a", " b", REASONING_OPEN, REASONING_CLOSE, "<", "c\n"])),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_reply_filter_never_shows_a_tag(pieces: list[str], cuts: list[int]) -> None:
    text, _ = _run("".join(pieces), cuts)

    assert REASONING_OPEN not in text and REASONING_CLOSE not in text


def test_reply_filter_hides_leading_block_and_shows_reply() -> None:
    reply = ReplyFilter()
    pieces = ["<reas", "oning>\nlimit 500, price 300", " fits\n</reason", "ing>\n", "Yes", ", ok."]

    shown = [reply.feed(p) for p in pieces]

    assert shown == ["", "", "", "", "Yes", ", ok."]
    assert reply.finish() == ""


def test_reply_filter_unclosed_block_yields_empty_reply() -> None:
    reply = ReplyFilter()
    assert reply.feed("<reasoning>thinking about the limit") == ""
    assert reply.finish() == ""


def test_reply_filter_tag_inside_reply_ends_it() -> None:
    reply = ReplyFilter()

    assert reply.feed("Sure, it fits. ") == "Sure, it fits."
    assert reply.feed("<reasoning>because") == ""
    assert reply.done
    assert reply.feed("more text") == ""
