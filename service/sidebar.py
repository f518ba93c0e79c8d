"""GET /sidebar: the agent sidebar page and its files, straight from the package (no build step, no CDN).

The page is static; everything it shows comes from the API with the agent's key, which
the page keeps in ``sessionStorage``. Its Content-Security-Policy admits only its own
script and stylesheet files (no inline script or style, so injected markup cannot run),
calls to this origin, and as framing parents only ``KB_SIDEBAR_FRAME_ANCESTORS``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import Response

from service.errors import NotFound

STATIC = resources.files("service") / "static"
PAGE = "sidebar.html"
ASSETS = {"sidebar.js": "text/javascript; charset=utf-8", "sidebar.css": "text/css; charset=utf-8"}


def sidebar_csp(frame_ancestors: str) -> str:
    """The page's policy: its own files only, API calls to this origin, framed only by ``frame_ancestors``."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'none'"
    )


def install_sidebar(app: FastAPI, frame_ancestors: str) -> None:
    """Serve the page at ``/sidebar`` and its script and stylesheet under ``/sidebar/``."""
    headers = {"Content-Security-Policy": sidebar_csp(frame_ancestors)}
    files = {name: (STATIC / name).read_bytes() for name in (PAGE, *ASSETS)}
    router = APIRouter(include_in_schema=False)

    @router.get("/sidebar")
    async def page() -> Response:
        return Response(files[PAGE], media_type="text/html; charset=utf-8", headers=headers)

    @router.get("/sidebar/{name}")
    async def asset(name: str = Path(max_length=64)) -> Response:
        if name not in ASSETS:
            raise NotFound(f"no sidebar file {name!r}", details={"file": name})
        return Response(files[name], media_type=ASSETS[name], headers=headers)

    app.include_router(router)
