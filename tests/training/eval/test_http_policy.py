from __future__ import annotations

import json
import threading

import httpx
import pytest

from training.data.schema import TaskExample
from training.eval.policies import HttpPolicy, chat_body, make_policy
from training.eval.runner import evaluate
from training.rewards.registry import get_rewards


class FakeService:
    """A tiny stand-in for the chat API: keys, profile admin and /v1/chat."""

    def __init__(
        self, *, fail_message: str | None = None, throttle_once: int | None = None
    ) -> None:
        self.profiles: dict[str, dict] = {}
        self.chats: list[dict] = []
        self.fail_message = fail_message
        self.throttle_once = throttle_once
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("Authorization", "")
        if request.method == "PUT" and request.url.path.startswith("/v1/profiles/"):
            if auth != "Bearer admin-key":
                return httpx.Response(403, json={"message": "needs admin"})
            body = json.loads(request.content)
            assert "user_id" not in body  # the path names the user
            with self._lock:
                self.profiles[request.url.path.rsplit("/", 1)[1]] = body
            return httpx.Response(201, json=body)
        if request.method == "POST" and request.url.path == "/v1/chat":
            if auth != "Bearer shop-key":
                return httpx.Response(401, json={"message": "bad key"})
            body = json.loads(request.content)
            with self._lock:
                if self.throttle_once:
                    status, self.throttle_once = self.throttle_once, None
                    return httpx.Response(status, headers={"Retry-After": "0"})
                self.chats.append(body)
                known = body["user_id"] in self.profiles
            if body["message"] == self.fail_message:
                return httpx.Response(500, json={"message": "engine failed"})
            if not known:
                return httpx.Response(404, json={"message": "unknown user"})
            reply = "Of course, I'm passing you to one of our agents now."
            return httpx.Response(
                200,
                json={
                    "session_id": "s-1",
                    "reply": reply,
                    "variant": "default",
                    "policy_version": "base",
                    "handoff": True,
                    "usage": {"prompt_tokens": 300, "completion_tokens": 12, "total_tokens": 312},
                    "latency_ms": 5.0,
                },
            )
        return httpx.Response(404)


def http_policy(service: FakeService, **kwargs) -> HttpPolicy:
    return HttpPolicy(
        "http://service.test",
        "shop-key",
        transport=httpx.MockTransport(service),
        concurrency=2,
        **kwargs,
    )


def test_http_policy_writes_profiles_then_asks_with_the_storefront_key(
    eval_examples: list[TaskExample],
) -> None:
    service = FakeService()
    policy = http_policy(service, admin_key="admin-key")
    replies = policy.generate(eval_examples[:3])
    policy.close()
    assert [r.error for r in replies] == [None, None, None]
    assert all(r.text.startswith("Of course") and r.generated_tokens == 12 for r in replies)
    assert set(service.profiles) == {f"eval-{ex.id}" for ex in eval_examples[:3]}
    stored = service.profiles["eval-dev-1-0"]
    assert stored["credit_limit"] == "1000" and stored["identity_verified"] is True
    first = next(c for c in service.chats if c["user_id"] == "eval-dev-1-0")
    assert first == chat_body(eval_examples[0], "eval-dev-1-0")
    assert first["context"] == {"items": [{"title": "Desk lamp", "price": "120.00"}]}
    assert "context" not in chat_body(eval_examples[2], "u")  # no page context: omitted


def test_http_policy_without_admin_key_uses_stored_profiles(
    eval_examples: list[TaskExample],
) -> None:
    service = FakeService()
    service.profiles["u-1"] = {}
    policy = http_policy(service)
    replies = policy.generate(eval_examples[:2])
    policy.close()
    assert service.chats[0]["user_id"] in {"u-1", "u-2"}
    assert replies[0].error is None
    assert replies[1].error is not None and "404" in replies[1].error  # u-2 is not stored


@pytest.mark.parametrize("busy_status", [429, 503])
def test_http_policy_records_failures_and_retries_busy_answers(
    eval_examples: list[TaskExample], busy_status: int
) -> None:
    service = FakeService(fail_message=eval_examples[1].message, throttle_once=busy_status)
    policy = http_policy(service, admin_key="admin-key")
    replies = policy.generate(eval_examples[:3])
    policy.close()
    assert replies[0].error is None and replies[2].error is None  # the busy answer was retried
    assert replies[1].text == "" and "500" in (replies[1].error or "")  # a 500 is not
    assert service.throttle_once is None


def test_evaluate_http_policy_end_to_end(eval_examples: list[TaskExample], tmp_path) -> None:
    service = FakeService(fail_message=eval_examples[3].message)
    policy = http_policy(service, admin_key="admin-key")
    rewards = get_rewards(["decision", "handoff", "concision"])
    result = evaluate(
        policy,
        eval_examples,
        split="dev",
        constraints={k: v for k, v in rewards.items() if k != "concision_reward"},
        linguistic={"concision_reward": rewards["concision_reward"]},
        out_dir=tmp_path,
        progress=False,
    )
    policy.close()
    overall = result.report["overall"]
    assert overall["n"] == 5 and overall["errors"] == 1
    # The fake always hands off: right for the human request, and the failed turn's empty
    # reply does not hand off, which is right for small talk.
    assert overall["constraints"]["handoff"]["satisfied"] == pytest.approx(2 / 5)
    assert result.report["by_intent"]["small_talk"]["constraints"]["handoff"]["satisfied"] == 1.0
    assert result.report["by_intent"]["purchase_fit"]["constraints"]["handoff"]["satisfied"] == 0.0
    assert result.report["by_intent"]["human_request"]["all_satisfied"] == 1.0
    assert result.report["policy"] == "http:http://service.test"
    assert list(result.report["by_tag"]) == ["boundary", "several_items"]
    assert result.report["by_tag"]["boundary"]["n"] == 1
    assert "## Per tag" in result.markdown and "## Sample failures" in result.markdown
    rows = [json.loads(line) for line in (tmp_path / "replies.jsonl").read_text().splitlines()]
    assert rows[3]["error"] and rows[3]["reply"] == ""
    assert rows[0]["reasons"]["handoff"]  # reason strings from the reasoning scorers


@pytest.mark.parametrize(
    ("spec", "url"),
    [
        ("http:http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http:127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_make_policy_parses_http_specs(spec: str, url: str) -> None:
    policy = make_policy(spec, api_key="k")
    assert isinstance(policy, HttpPolicy) and policy.name == f"http:{url}"
    policy.close()


def test_make_policy_rejects_bad_specs(tmp_path) -> None:
    with pytest.raises(ValueError, match="API key"):
        make_policy("http:http://127.0.0.1:8000")
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("gpt")
    with pytest.raises(FileNotFoundError, match="adapter"):
        make_policy(f"adapter:{tmp_path}")


def test_http_request_bodies_validate_against_the_service_schemas(
    eval_examples: list[TaskExample],
) -> None:
    # Contract check: what the HTTP policy sends is what the API accepts.
    from app.api.schemas import ChatRequest, ProfileRequest

    for ex in eval_examples:
        request = ChatRequest.model_validate(chat_body(ex, f"eval-{ex.id}"))
        assert request.message == ex.message
        assert (request.context or type(ex.context)()) == ex.context
        body = ex.profile.model_dump(mode="json", exclude={"user_id"})
        assert ProfileRequest.model_validate(body).to_profile(ex.profile.user_id) == ex.profile
