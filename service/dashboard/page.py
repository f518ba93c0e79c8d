"""GET /dashboard: the team-lead page and its files, straight from the package (no build step, no CDN).

Like the sidebar (``service/sidebar.py``) the page is static and reads everything from the API
with an editor or admin key kept in ``sessionStorage``. Its Content-Security-Policy admits only
its own script and stylesheet files and calls to this origin; it may not be framed. The chart
library is Apache ECharts, vendored in ``service/static`` (``VENDORED.md``).
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import Response

from service.errors import NotFound

STATIC = resources.files("service") / "static"
PAGE = "dashboard.html"
JS = "text/javascript; charset=utf-8"
ASSETS = {
    "dashboard.js": JS,
    "dashboard-charts.js": JS,
    "echarts.min.js": JS,
    "dashboard.css": "text/css; charset=utf-8",
}
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def install_dashboard(app: FastAPI) -> None:
    """Serve the page at ``/dashboard`` and its scripts and stylesheet under ``/dashboard/``."""
    headers = {"Content-Security-Policy": DASHBOARD_CSP}
    files = {name: (STATIC / name).read_bytes() for name in (PAGE, *ASSETS)}
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard")
    async def page() -> Response:
        return Response(files[PAGE], media_type="text/html; charset=utf-8", headers=headers)

    @router.get("/dashboard/{name}")
    async def asset(name: str = Path(max_length=64)) -> Response:
        if name not in ASSETS:
            raise NotFound(f"no dashboard file {name!r}", details={"file": name})
        return Response(files[name], media_type=ASSETS[name], headers=headers)

    app.include_router(router)
