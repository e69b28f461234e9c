from __future__ import annotations

from app.core.timing import end_request, parse_header, span, start_request


def test_spans_accumulate_in_order_and_render_as_server_timing() -> None:
    timing, token = start_request()
    try:
        with span("profile"):
            pass
        with span("generate"):
            pass
        with span("profile"):  # a second visit adds to the first
            pass
    finally:
        end_request(token)
    assert list(timing.spans) == ["profile", "generate"]
    parsed = parse_header(timing.header())
    assert set(parsed) == {"profile", "generate"} and all(v >= 0 for v in parsed.values())


def test_span_outside_a_request_is_a_no_op() -> None:
    with span("anything"):
        pass
