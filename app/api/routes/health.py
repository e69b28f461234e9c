"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from app.api.deps import CredentialsDep, ServicesDep, SettingsDep
from app.api.schemas import ErrorResponse, HealthResponse, ReadinessResponse
from app.core.errors import AuthenticationError
from app.core.metrics import render_latest
from app.core.security import hash_key
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


async def require_metrics_key(settings: SettingsDep, credentials: CredentialsDep) -> None:
    """With `MORE_METRICS_KEY` set, only `Authorization: Bearer <that key>` may scrape."""
    expected = settings.MORE_METRICS_KEY
    if expected is None:
        return
    if credentials is None:
        raise AuthenticationError(
            "missing metrics key: send `Authorization: Bearer <MORE_METRICS_KEY>`",
            code="missing_api_key",
        )
    if not hmac.compare_digest(hash_key(credentials.credentials), hash_key(expected)):
        raise AuthenticationError("invalid metrics key")


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_metrics_key)],
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        401: {
            "model": ErrorResponse,
            "description": "`MORE_METRICS_KEY` is set and the request does not carry it.",
        },
    },
)
async def read_metrics() -> Response:
    """Prometheus metrics of this replica."""
    payload, content_type = render_latest()
    return Response(payload, media_type=content_type)
