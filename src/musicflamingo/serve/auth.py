"""The API key every ``/v1`` route of ``musicflamingo serve`` asks for when one is set."""

from __future__ import annotations

from fastapi import Request

from musicflamingo.llm.server import check_key
from musicflamingo.serve.context import ServeContext


def require_key(request: Request) -> None:
    """FastAPI dependency: 401 unless the app's key (``app.state.ctx.api_key``) is unset or
    sent as ``Authorization: Bearer KEY``. Use as ``dependencies=[Depends(require_key)]``."""
    ctx: ServeContext = request.app.state.ctx
    check_key(request, ctx.api_key)
