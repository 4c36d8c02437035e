"""The review app's pages: Jinja2 templates (autoescaped, every variable required), the error
page of a `Refused` request, and the static files (styles, script, icon) served from memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from eibench.review.web import Refused

TEMPLATES = Path(__file__).parent / "templates"
STATIC_TYPES = {
    "review.css": "text/css; charset=utf-8",
    "review.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}


class Pages:
    """The templates and static files, read once when the app starts."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
        )
        self.static = {name: (TEMPLATES / "static" / name).read_bytes() for name in STATIC_TYPES}

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """`template` with `context`; pages without a session get none of its parts."""
        context.setdefault("session", None)
        context.setdefault("progress", None)
        context.setdefault("kind", "")
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    def refused(self, exc: Refused) -> Response:
        """The error page of `exc`; a bare page when even the template cannot be rendered."""
        try:
            response: Response = self.render(
                "message.html", exc.status, title=exc.title, message=exc.message
            )
        except Exception:  # the page of last resort: nothing here may fail
            response = HTMLResponse(
                f"<!doctype html><title>{exc.status}</title><h1>{exc.status}</h1>",
                status_code=exc.status,
            )
        response.headers.update(exc.headers)
        return response

    def static_file(self, name: str) -> Response:
        if name not in self.static:
            raise Refused(404, "Not found", "There is no such page.")
        return Response(self.static[name], media_type=STATIC_TYPES[name])
