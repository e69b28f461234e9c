"""The API router: only includes the resource routers (the `/v1/` ones with the responses
of the request gate that runs before them, `app.api.gate`)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.gate import GATE_RESPONSES
from app.api.routes import (
    chat,
    events,
    experiments,
    health,
    keys,
    policies,
    profiles,
    sessions,
    storefronts,
    widget,
)

api_router = APIRouter()
api_router.include_router(chat.router, responses=GATE_RESPONSES)
api_router.include_router(profiles.router, responses=GATE_RESPONSES)
api_router.include_router(health.router)
api_router.include_router(events.router, responses=GATE_RESPONSES)
api_router.include_router(sessions.router, responses=GATE_RESPONSES)
api_router.include_router(experiments.router, responses=GATE_RESPONSES)
api_router.include_router(policies.router, responses=GATE_RESPONSES)
api_router.include_router(storefronts.router, responses=GATE_RESPONSES)
api_router.include_router(keys.router, responses=GATE_RESPONSES)
api_router.include_router(widget.router)
api_router.include_router(widget.demo_router)
