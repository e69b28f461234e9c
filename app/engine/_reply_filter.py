"""Streaming form of `app.domain.prompt.strip_reasoning`: replies only, never a reasoning block.

The served policy is trained to answer directly, but a scaffold-trained model can still
open with `<reasoning>...</reasoning>`. Stop strings cannot express "drop the block, keep
what follows", so both backends pass every decoded piece through this filter:

* a leading `<reasoning>` block is swallowed and the reply after `</reasoning>` is shown;
  a block that never closes yields an empty reply (as `strip_reasoning` does);
* a tag that appears later, inside the reply, ends the reply there (`done` turns true and
  the engine aborts the generation, which saves the tokens too);
* leading and trailing whitespace is dropped, so the concatenated chunks equal
  `strip_reasoning(raw)` for every well-formed raw reply.

Text that could still turn into a tag (`"<rea"`) or trailing whitespace is held back until
the next piece decides it, so no chunk ever has to be taken back.
"""

from __future__ import annotations

from app.domain.prompt import REASONING_CLOSE, REASONING_OPEN

_TAGS = (REASONING_OPEN, REASONING_CLOSE)


def _partial_tag_start(text: str) -> int:
    """Index where a trailing, incomplete tag begins in `text`, else `len(text)`."""
    start = text.rfind("<")
    if start == -1:
        return len(text)
    tail = text[start:]
    if any(tag.startswith(tail) and tag != tail for tag in _TAGS):
        return start
    return len(text)


class ReplyFilter:
    """Feed raw decoded pieces in order; emit only the direct reply."""

    def __init__(self) -> None:
        self._buffer = ""
        self._state = "head"  # head -> (reasoning ->) reply
        self._emitted = False
        self.done = False  # the reply is complete; stop generating

    def feed(self, piece: str) -> str:
        """Take the next raw piece and return the reply text that is now certain."""
        if self.done or not piece:
            return ""
        self._buffer += piece
        if self._state == "head":
            head = self._buffer.lstrip()
            if not head or (REASONING_OPEN.startswith(head) and head != REASONING_OPEN):
                return ""  # still could be the opening tag
            if head.startswith(REASONING_OPEN):
                self._state = "reasoning"
                self._buffer = head[len(REASONING_OPEN) :]
            else:
                self._state = "reply"
                self._buffer = head
        if self._state == "reasoning":
            if REASONING_CLOSE not in self._buffer:
                # Keep only what could still be the start of the closing tag.
                self._buffer = self._buffer[-(len(REASONING_CLOSE) - 1) :]
                return ""
            self._buffer = self._buffer.split(REASONING_CLOSE, 1)[1]
            self._state = "reply"
        return self._emit_reply()

    def finish(self) -> str:
        """The raw reply ended: release what was held back (minus trailing whitespace)."""
        if self.done:
            return ""
        self.done = True
        if self._state == "reasoning":
            return ""  # the block never closed: there is no reply to show
        text = self._buffer.strip() if not self._emitted else self._buffer.rstrip()
        self._buffer = ""
        return text

    def _emit_reply(self) -> str:
        if not self._emitted:
            self._buffer = self._buffer.lstrip()
        cut = min((i for i in (self._buffer.find(tag) for tag in _TAGS) if i != -1), default=-1)
        if cut != -1:
            # A reasoning tag inside the reply: the reply ends before it.
            text = self._buffer[:cut].rstrip()
            self._buffer = ""
            self.done = True
            return text
        safe = self._buffer[: _partial_tag_start(self._buffer)].rstrip()
        self._buffer = self._buffer[len(safe) :]
        if safe:
            self._emitted = True
        return safe
