"""Static pages served straight from the package (no build step, no CDN): one HTML file and its assets.

A page reads everything it shows from the API with a key it keeps in ``sessionStorage``; its
Content-Security-Policy is sent with the page and with each of its files.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import Response

from service.errors import NotFound

STATIC = resources.files("service") / "static"


def install_page(app: FastAPI, name: str, assets: dict[str, str], csp: str) -> None:
    """Serve ``static/NAME.html`` at ``/NAME`` and each of ``assets`` (file → media type) under ``/NAME/``."""
    headers = {"Content-Security-Policy": csp}
    page = f"{name}.html"
    files = {file: (STATIC / file).read_bytes() for file in (page, *assets)}
    router = APIRouter(include_in_schema=False)

    @router.get(f"/{name}")
    async def read_page() -> Response:
        return Response(files[page], media_type="text/html; charset=utf-8", headers=headers)

    @router.get(f"/{name}/{{file}}")
    async def read_asset(file: str = Path(max_length=64)) -> Response:
        if file not in assets:
            raise NotFound(f"no {name} file {file!r}", details={"file": file})
        return Response(files[file], media_type=assets[file], headers=headers)

    app.include_router(router)
