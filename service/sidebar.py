"""GET /sidebar: the agent sidebar page and its files, straight from the package (no build step, no CDN).

The page is static; everything it shows comes from the API with the agent's key, which
the page keeps in ``sessionStorage``. Its Content-Security-Policy admits only its own
script and stylesheet files (no inline script or style, so injected markup cannot run),
calls to this origin, and as framing parents only ``KB_SIDEBAR_FRAME_ANCESTORS``.
"""

from __future__ import annotations

from fastapi import FastAPI

from service.pages import install_page

ASSETS = {"sidebar.js": "text/javascript; charset=utf-8", "sidebar.css": "text/css; charset=utf-8"}


def sidebar_csp(frame_ancestors: str) -> str:
    """The page's policy: its own files only, API calls to this origin, framed only by ``frame_ancestors``."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'none'"
    )


def install_sidebar(app: FastAPI, frame_ancestors: str) -> None:
    """Serve the page at ``/sidebar`` and its script and stylesheet under ``/sidebar/``."""
    install_page(app, "sidebar", ASSETS, sidebar_csp(frame_ancestors))
