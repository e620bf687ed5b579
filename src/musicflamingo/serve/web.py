"""The web page and the measured-facts routes of ``musicflamingo serve`` (work in progress)."""

from __future__ import annotations

from fastapi import APIRouter

from musicflamingo.serve.context import ServeContext


def create_router(ctx: ServeContext) -> APIRouter:
    """The page (``/``), its static files, ``/v1/audio/analyze`` and the job routes."""
    return APIRouter()
