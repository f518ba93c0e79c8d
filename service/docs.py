"""The API docs (/docs, /redoc, /openapi.json), served with their assets from the installed package.

Swagger UI and ReDoc come from the ``fastapi-offline`` wheel, not a CDN: no third
party sees who reads the docs, an unpinned CDN script cannot change under us, and the
docs work on an intranet. ``KB_DOCS_ACCESS`` makes them need a key (any role) or
turns them off. Each page's Content-Security-Policy admits only its own inline
script, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from service.deps import get_principal

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_csp(html: str) -> str:
    """A policy allowing this page's own files, its inline scripts (by hash) and the API it documents."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _page(html: HTMLResponse) -> HTMLResponse:
    text = bytes(html.body).decode()
    return HTMLResponse(text, headers={"Content-Security-Policy": page_csp(text)})


def install_docs(app: FastAPI, access: str) -> None:
    """Serve the docs on ``app`` as ``KB_DOCS_ACCESS`` says (``open``, ``key`` or ``off``)."""
    if access == "off":
        return
    dependencies: Sequence[Any] = [Depends(get_principal)] if access == "key" else []
    router = APIRouter(include_in_schema=False, dependencies=list(dependencies))
    title = app.title

    @router.get("/openapi.json")
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(
            get_swagger_ui_html(
                openapi_url=f"{root}/openapi.json",
                title=f"{title} - Swagger UI",
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            )
        )

    @router.get("/redoc")
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(
            get_redoc_html(
                openapi_url=f"{root}/openapi.json",
                title=f"{title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
