"""The review web app (`eibench review serve`): raters open their login link, then rate,
refine or audit one item per page; every answer is appended to the run store.

Security: the session cookie holds the rater's login token (HttpOnly, SameSite=Strict) and is
checked against the store on every request, so the database is the only shared state. Every
POST carries a CSRF token, an HMAC of the token's hash under a secret made when the app starts,
and is refused when it comes from another site. Images are read by the item's stored key, never
a path from the request. Pages are Jinja2 templates with autoescape and a strict
Content-Security-Policy (scripts and styles only from /static, no inline code).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from eibench.data.images import ImageError
from eibench.errors import EIBenchError
from eibench.review.campaigns import (
    Campaign,
    ReviewItem,
    add_response,
    ensure_tables,
    items,
    login,
    responses,
    token_hash,
)
from eibench.review.campaigns import (
    Response as ReviewResponse,
)
from eibench.review.forms import FLAGS, FormError, form_view, parse_response
from eibench.review.refine import apply_refinement
from eibench.settings.media import image_part
from eibench.store import Store

COOKIE = "eibench_review"
MAX_IMAGE_SIDE = 1600  # pixels; larger images are downscaled before they are sent
MAX_TOKEN = 200  # characters; longer cookies or login tokens are refused unread
MAX_BODY = 1_000_000  # bytes in a submitted form
MAX_FIELDS = 500  # fields in a submitted form
TEMPLATES = Path(__file__).parent / "templates"
STATIC_TYPES = {
    "review.css": "text/css; charset=utf-8",
    "review.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class Refused(Exception):
    """A request answered with an error page: `status`, a `title` and a `message`."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True)
class Session:
    """The logged-in rater: their campaign, name, login token and CSRF token."""

    campaign: Campaign
    rater: str
    token: str
    csrf: str


@dataclass(frozen=True)
class State:
    """A rater's campaign as it stands: its items, the rater's current response per item id,
    and the positions answered."""

    items: list[ReviewItem]
    current: dict[str, ReviewResponse]

    @property
    def done(self) -> set[int]:
        return {i for i, item in enumerate(self.items) if item.item_id in self.current}

    def progress(self) -> dict[str, int]:
        return {"done": len(self.done), "total": len(self.items)}

    def next_open(self, after: int = -1) -> int | None:
        """The first unanswered position after `after`, wrapping round; None when all are."""
        done, n = self.done, len(self.items)
        order = [*range(after + 1, n), *range(0, min(after + 1, n))]
        return next((p for p in order if p not in done), None)


class ReviewApp:
    """The app's configuration and handlers. workspace: the run store's folder (None: the
    default workspace); images: the image root (None: no images are shown); secure_cookie:
    mark the cookie Secure (serve behind HTTPS)."""

    def __init__(self, workspace: Path | None, images: Path | None, secure_cookie: bool) -> None:
        self.workspace = workspace
        self.images = images
        self.secure_cookie = secure_cookie
        self.secret = secrets.token_bytes(32)
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
        )
        self.static = {name: (TEMPLATES / "static" / name).read_bytes() for name in STATIC_TYPES}
        with self.store() as store:
            ensure_tables(store)

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The run store for one request, opened and closed in the calling thread."""
        store = Store.open(self.workspace)
        try:
            yield store
        finally:
            store.close()

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("session", None)
        context.setdefault("progress", None)
        context.setdefault("kind", "")
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    def csrf_for(self, token: str) -> str:
        """The CSRF token of the session that logged in with `token`."""
        return hmac.new(self.secret, token_hash(token).encode(), hashlib.sha256).hexdigest()

    def session(self, store: Store, request: Request) -> Session | None:
        """The rater whose valid session cookie came with `request`, or None."""
        token = request.cookies.get(COOKIE, "")
        if not token or len(token) > MAX_TOKEN:
            return None
        found = login(store, token)
        if found is None:
            return None
        return Session(found[0], found[1], token, self.csrf_for(token))

    def require(self, store: Store, request: Request) -> Session:
        """The session of `request`; 401 without one."""
        session = self.session(store, request)
        if session is None:
            raise Refused(401, "Not signed in", "Open your personal login link to start.")
        return session

    def state(self, store: Store, session: Session) -> State:
        name = session.campaign.name
        current = {r.item_id: r for r in responses(store, name, session.rater)}
        return State(items(store, name), current)

    @staticmethod
    def position(raw: str, state: State) -> int:
        """The item position `raw` names in the rater's campaign; 404 otherwise."""
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) >= len(state.items):
            raise Refused(404, "No such item", "This campaign has no item at that position.")
        return int(raw)

    def next_url(self, state: State, after: int = -1) -> str:
        found = state.next_open(after)
        return "/done" if found is None else f"/task/{found}"

    # -- pages --------------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        with self.store() as store:
            session = self.session(store, request)
            if session is None:
                return self.render(
                    "message.html",
                    title="Welcome",
                    message="Open the personal login link you were given to start reviewing.",
                )
            return RedirectResponse(self.next_url(self.state(store, session)), status_code=303)

    def login(self, request: Request, token: str) -> Response:
        with self.store() as store:
            found = login(store, token) if len(token) <= MAX_TOKEN else None
            if found is None:
                raise Refused(403, "Unknown login link", "This login link is not valid.")
            csrf = self.csrf_for(token)
            target = self.next_url(self.state(store, Session(found[0], found[1], token, csrf)))
        if request.headers.get("sec-fetch-site") == "cross-site":
            # A SameSite=Strict cookie is not sent on a redirect that another site started, so
            # continue from a page of our own (a same-site navigation).
            response: Response = self.render(
                "message.html",
                title="Signed in",
                message="You are signed in.",
                link={"href": target, "text": "Continue to your items"},
                refresh=target,
            )
        else:
            response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=self.secure_cookie, path="/"
        )
        return response

    def task(self, request: Request, position: str) -> Response:
        with self.store() as store:
            session = self.require(store, request)
            state = self.state(store, session)
            at = self.position(position, state)
            item = state.items[at]
            kind, n = session.campaign.kind, len(state.items)
            view = form_view(item, kind, state.current.get(item.item_id))
        return self.render(
            f"{kind}.html", session=session, progress=state.progress(), kind=kind, item=item,
            position=at, prev=at - 1 if at > 0 else None, next=at + 1 if at + 1 < n else None,
            view=view, flags=FLAGS, has_image=self.images is not None,
        )  # fmt: skip

    def done(self, request: Request) -> Response:
        with self.store() as store:
            session = self.require(store, request)
            state = self.state(store, session)
            progress, left = state.progress(), state.next_open()
        return self.render("done.html", session=session, progress=progress, left=left)

    def image(self, request: Request, position: str) -> Response:
        with self.store() as store:
            session = self.require(store, request)
            state = self.state(store, session)
            item = state.items[self.position(position, state)]
        if self.images is None:
            raise Refused(404, "No images", "The app was started without an image root.")
        try:
            part = image_part(self.images, item.image, MAX_IMAGE_SIDE)
        except ImageError:
            raise Refused(404, "Image not found", "This item's image is missing.") from None
        return Response(
            part.data, media_type=part.media_type, headers={"Cache-Control": "private, max-age=300"}
        )

    def static_file(self, name: str) -> Response:
        if name not in self.static:
            raise Refused(404, "Not found", "There is no such page.")
        return Response(self.static[name], media_type=STATIC_TYPES[name])

    # -- posts --------------------------------------------------------------------------------

    def check_post(
        self, request: Request, session: Session | None, fields: dict[str, list[str]]
    ) -> Session:
        """The session of a POST whose cookie, CSRF token and origin are all right; 403 if not."""
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        if site == "cross-site" or (
            origin is not None and urlsplit(origin).netloc != request.headers.get("host")
        ):
            raise Refused(403, "Refused", "Forms can only be sent from this site's own pages.")
        if session is None:
            raise Refused(403, "Not signed in", "Open your personal login link to start.")
        sent = fields.get("csrf", [])
        if len(sent) != 1 or not hmac.compare_digest(sent[0].encode(), session.csrf.encode()):
            raise Refused(403, "Refused", "This form does not belong to your session; reload it.")
        return session

    def submit(self, request: Request, position: str, fields: dict[str, list[str]]) -> Response:
        with self.store() as store:
            session = self.check_post(request, self.session(store, request), fields)
            state = self.state(store, session)
            at = self.position(position, state)
            item = state.items[at]
            if fields.get("item_id") != [item.item_id]:
                raise Refused(400, "Wrong item", "This form was made for another item; reload it.")
            kind = session.campaign.kind
            try:
                response = parse_response(item, kind, session.rater, fields)
            except FormError as error:
                raise Refused(400, "Please check your answer", str(error)) from None
            if kind == "refine" and item.batch is None:
                raise Refused(400, "Not a draft", "This item has no CFSA annotation to refine.")
            add_response(store, session.campaign.name, response)
            if kind == "refine":
                try:
                    apply_refinement(store, item, response)
                except EIBenchError as error:
                    raise Refused(400, "Not applied", str(error)) from None
            state.current[item.item_id] = response
            return RedirectResponse(self.next_url(state, at), status_code=303)

    async def post_task(self, request: Request, position: str) -> Response:
        fields = await _fields(request)
        return await run_in_threadpool(self.submit, request, position, fields)

    async def post_logout(self, request: Request) -> Response:
        fields = await _fields(request)
        return await run_in_threadpool(self.logout, request, fields)

    def logout(self, request: Request, fields: dict[str, list[str]]) -> Response:
        with self.store() as store:
            self.check_post(request, self.session(store, request), fields)
        response = self.render("message.html", title="Signed out", message="You are signed out.")
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response


async def _fields(request: Request) -> dict[str, list[str]]:
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


def create_app(
    workspace: Path | None,
    data: Path | None,
    images: Path | None,
    *,
    secure_cookie: bool = False,
) -> FastAPI:
    """The review app over the run store in `workspace` (None: the default workspace).

    data: the release folder; items carry their own text, so it is only accepted for the CLI's
    uniform options. images: the image root (`<root>/<key>` is each item's image; None shows
    no images). secure_cookie: send the session cookie only over HTTPS."""
    del data
    review = ReviewApp(workspace, images, secure_cookie)
    app = FastAPI(title="EIBench review", docs_url=None, redoc_url=None, openapi_url=None)

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return review.render("message.html", exc.status, title=exc.title, message=exc.message)

    async def on_http(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        title = {404: "Not found", 405: "Not allowed"}.get(status, "Bad request")
        return review.render("message.html", status, title=title, message="There is no such page.")

    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(HTTPException, on_http)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    get, post = ["GET"], ["POST"]
    app.add_api_route("/", review.home, methods=get)
    app.add_api_route("/login/{token}", review.login, methods=get)
    app.add_api_route("/task/{position}", review.task, methods=get)
    app.add_api_route("/task/{position}", review.post_task, methods=post)
    app.add_api_route("/done", review.done, methods=get)
    app.add_api_route("/image/{position}", review.image, methods=get)
    app.add_api_route("/static/{name}", review.static_file, methods=get)
    app.add_api_route("/logout", review.post_logout, methods=post)
    return app


def serve(
    workspace: Path | None,
    data: Path | None,
    images: Path | None,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Serve the review app (see `create_app`) on `host`:`port` until interrupted."""
    import uvicorn

    app = create_app(workspace, data, images)
    # No access log: login URLs carry the raters' tokens.
    uvicorn.run(
        app, host=host, port=port, server_header=False, proxy_headers=False, access_log=False
    )
