"""The storefront chat widget (`/widget.js`) and, in embedded mode, a demo storefront.

`/widget.js` is always served. The demo page (`/demo`) and its chat proxy (`/demo/chat`)
exist only in embedded mode with a storefront key: the proxy answers anyone who can reach
the server with that key, which is what a laptop demo wants and a shared deployment
must not have. Elsewhere they answer 404 like any unknown path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse
from starlette.exceptions import HTTPException

from app.api.deps import ChatDep, ServicesDep, SettingsDep
from app.api.routes.chat import stream_chat_reply
from app.api.schemas import ChatRequest
from app.core.security import Principal, Scope

_STATIC = Path(__file__).resolve().parent.parent / "static"

# Storefronts embed the script on every page: let browsers and CDNs keep it a while, but
# not so long that a release takes a day to reach shoppers.
_WIDGET_CACHE_CONTROL = "public, max-age=600"

router = APIRouter(include_in_schema=False)


@router.get("/widget.js")
async def read_widget_script() -> FileResponse:
    """The chat widget script."""
    return FileResponse(
        _STATIC / "widget.js",
        media_type="application/javascript",
        headers={"Cache-Control": _WIDGET_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
    )


def _require_demo(settings: SettingsDep) -> None:
    # Decided per request, not when routes are mounted: `create_app()` without settings
    # only reads them in the lifespan.
    if not (settings.embedded and settings.storefront_key):
        raise HTTPException(status_code=404)


async def _demo_storefront(services: ServicesDep) -> Principal:
    """The storefront behind the configured key, authenticated server-side as a
    storefront's backend would: the key never reaches the browser."""
    return await services.auth.authenticate(
        services.settings.storefront_key, needed=Scope.STOREFRONT
    )


DemoStorefrontDep = Annotated[Principal, Depends(_demo_storefront)]

demo_router = APIRouter(
    prefix="/demo", include_in_schema=False, dependencies=[Depends(_require_demo)]
)


@demo_router.get("")
async def read_demo_page() -> FileResponse:
    """The demo storefront page."""
    return FileResponse(
        _STATIC / "demo.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


@demo_router.post("/chat", response_class=EventSourceResponse)
async def stream_demo_chat_reply(
    body: ChatRequest, principal: DemoStorefrontDep, chat: ChatDep
) -> EventSourceResponse:
    """The demo page's chat: `/v1/chat/stream` with the storefront key added here."""
    # The page chooses `user_id` (a shopper selector); a real storefront backend takes it
    # from its own login session instead of trusting the browser.
    return await stream_chat_reply(body, principal, chat)
