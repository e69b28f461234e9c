"""The API router: only includes the resource routers."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.routes import chat, events, experiments, health, policies, profiles, sessions, widget

api_router = APIRouter()
api_router.include_router(chat.router)
api_router.include_router(profiles.router)
api_router.include_router(health.router)
api_router.include_router(events.router)
api_router.include_router(sessions.router)
api_router.include_router(experiments.router)
api_router.include_router(policies.router)
api_router.include_router(widget.router)
api_router.include_router(widget.demo_router)
