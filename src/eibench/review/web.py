"""HTTP plumbing of the review app: the error its handlers raise (`Refused`), how a POST's form
is read, the security headers every answer carries, and what an unexpected failure (a full
disk above all) tells the rater."""

from __future__ import annotations

import logging
import sqlite3

from fastapi import Request
from fastapi.responses import Response

from eibench.errors import EIBenchError

MAX_BODY = 1_000_000  # bytes in a submitted form
MAX_FIELDS = 500  # fields in a submitted form
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
RETRY_UNAVAILABLE = 60  # seconds a rater is asked to wait when the store cannot be used
log = logging.getLogger("eibench.review")


class Refused(Exception):
    """A request answered with an error page: `status`, a `title`, a `message` and any extra
    `headers` (Retry-After)."""

    def __init__(
        self, status: int, title: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message
        self.headers = headers or {}


def secure(response: Response) -> Response:
    """Add the security headers every answer of the app carries, error pages included."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def failure(request: Request, exc: Exception) -> Refused:
    """The error page for an exception no handler expected, logged with its traceback (the
    path of a login link is left out: it holds the rater's token). A store that cannot be
    read or written (a full disk, a locked or broken file) is a 503; anything else a 500."""
    path = "/login/…" if request.url.path.startswith("/login/") else request.url.path
    log.error("review app: %s %s failed", request.method, path, exc_info=exc)
    if isinstance(exc, (sqlite3.Error, EIBenchError, OSError)):
        return Refused(
            503, "Temporarily unavailable",
            "The review store cannot be used right now (the server's disk may be full). "
            "Answers you sent before are saved; please try again in a few minutes.",
            {"Retry-After": str(RETRY_UNAVAILABLE)},
        )  # fmt: skip
    return Refused(
        500, "Something went wrong",
        "The server could not answer this page. Answers you sent before are saved; "
        "please try again, or tell the campaign's organiser.",
    )  # fmt: skip


def client_address(request: Request) -> str:
    """The address the request came from (the proxy's, behind one)."""
    return request.client.host if request.client else "unknown"


async def read_fields(request: Request) -> dict[str, list[str]]:
    """A POST's form fields, name -> values; files and bodies over MAX_BODY are refused."""
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise Refused(413, "Too large", "The form is larger than a review answer can be.")
    fields: dict[str, list[str]] = {}
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
        for name, value in form.multi_items():
            if not isinstance(value, str):
                raise Refused(400, "Bad form", "Files cannot be sent here.")
            fields.setdefault(name, []).append(value)
    return fields
