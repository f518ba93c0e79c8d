"""GET /dashboard: the team-lead page and its files, straight from the package (no build step, no CDN).

Like the sidebar (``service/sidebar.py``) the page is static and reads everything from the API
with an editor or admin key kept in ``sessionStorage``. Its Content-Security-Policy admits only
its own script and stylesheet files and calls to this origin; it may not be framed. The chart
library is Apache ECharts, vendored in ``service/static`` (``VENDORED.md``).
"""

from __future__ import annotations

from fastapi import FastAPI

from service.pages import install_page

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
    install_page(app, "dashboard", ASSETS, DASHBOARD_CSP)
