"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from app.api.deps import ServicesDep
from app.api.schemas import HealthResponse, ReadinessResponse
from app.core.metrics import render_latest
from app.services.health import check_readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def read_health() -> HealthResponse:
    """The process is alive."""
    return HealthResponse()


@router.get(
    "/readyz",
    response_model=ReadinessResponse,
    responses={503: {"model": ReadinessResponse, "description": "Database or engine is down."}},
)
async def read_readiness(services: ServicesDep) -> JSONResponse:
    """Whether this replica can serve (degraded: the session cache is down)."""
    readiness = await check_readiness(
        db_engine=services.db_engine, cache=services.cache, engine=services.engine
    )
    body = ReadinessResponse(
        status=readiness.status,
        mode="embedded" if services.settings.embedded else "external",
        checks=readiness.checks,
    )
    return JSONResponse(body.model_dump(), status_code=200 if readiness.serving else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def read_metrics() -> Response:
    """Prometheus metrics of this replica."""
    payload, content_type = render_latest()
    return Response(payload, media_type=content_type)
