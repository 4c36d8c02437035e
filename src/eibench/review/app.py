"""The review web app (`eibench review serve`): raters open their login link, then rate,
refine or audit one item per page; every answer is appended to the run store.

Security: opening a login link makes a server-side session (`review.sessions`); the cookie
holds its random id (HttpOnly, SameSite=Strict, Secure behind HTTPS), never the login token, and
is checked against the store on every request, so the database is the only shared state and
signing out ends the session for good. Every POST carries a CSRF token, an HMAC of the session
id's hash under a secret made when the app starts, and is refused when it comes from another
site. Wrong login links are throttled per client address (`review.throttle`). Images are read
by the item's stored key, never a path from the request, and refused before decoding when
damaged or too large (`review.images`). Pages are Jinja2 templates with autoescape and a strict
Content-Security-Policy (scripts and styles only from /static, no inline code; `review.pages`);
every answer, an unexpected failure's error page included, carries the security headers
(`review.web`). A rate campaign's form shows its own scale's scores and rubric; a score off the
scale is refused with a 422 page, never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from eibench.errors import EIBenchError
from eibench.review.campaigns import (
    Campaign,
    add_response,
    items,
    login,
    responses,
    token_hash,
)
from eibench.review.forms import FLAGS, FormError, OffScale, form_view, parse_response
from eibench.review.images import ImageMissing, ImageUnreadable, review_image
from eibench.review.pages import Pages
from eibench.review.progress import State
from eibench.review.refine import apply_refinement
from eibench.review.sessions import close_session, find_session, open_session
from eibench.review.throttle import LoginThrottle
from eibench.review.web import Refused, client_address, failure, read_fields, secure
from eibench.store import Store

COOKIE = "eibench_review"
MAX_IMAGE_SIDE = 1600  # pixels; larger images are downscaled before they are sent
MAX_TOKEN = 200  # characters; longer cookies or login tokens are refused unread


@dataclass(frozen=True)
class Session:
    """The logged-in rater: their campaign, name, the stored hash of their session id, and
    the session's CSRF token."""

    campaign: Campaign
    rater: str
    id_hash: str
    csrf: str


class ReviewApp:
    """The app's configuration and handlers. workspace: the run store's folder (None: the
    default workspace); images: the image root (None: no images are shown); secure_cookie:
    mark the cookie Secure (serve behind HTTPS); throttle: the limit on wrong login links."""

    def __init__(
        self,
        workspace: Path | None,
        images: Path | None,
        secure_cookie: bool,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.workspace = workspace
        self.images = images
        self.secure_cookie = secure_cookie
        self.throttle = throttle or LoginThrottle()
        self.secret = secrets.token_bytes(32)
        self.pages = Pages()
        self.render, self.refused = self.pages.render, self.pages.refused
        with self.store():
            pass  # the store (and its review tables) exists before the first request

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The run store for one request, opened and closed in the calling thread."""
        store = Store.open(self.workspace)
        try:
            yield store
        finally:
            store.close()

    def csrf_for(self, id_hash: str) -> str:
        """The CSRF token of the session whose id hashes to `id_hash`."""
        return hmac.new(self.secret, id_hash.encode(), hashlib.sha256).hexdigest()

    def session(self, store: Store, request: Request) -> Session | None:
        """The rater whose valid session cookie came with `request`, or None."""
        session_id = request.cookies.get(COOKIE, "")
        if not session_id or len(session_id) > MAX_TOKEN:
            return None
        found = find_session(store, session_id)
        if found is None:
            return None
        return Session(found.campaign, found.rater, found.id_hash, self.csrf_for(found.id_hash))

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
        address = client_address(request)
        wait = self.throttle.retry_after(address)
        if wait is not None:
            raise Refused(
                429, "Too many tries",
                f"Too many wrong login links came from your address; try again in {wait} s.",
                {"Retry-After": str(wait)},
            )  # fmt: skip
        with self.store() as store:
            found = login(store, token) if len(token) <= MAX_TOKEN else None
            if found is None:
                self.throttle.failed(address)
                raise Refused(403, "Unknown login link", "This login link is not valid.")
            campaign, rater = found
            session_id = open_session(store, campaign.name, rater)
            id_hash = token_hash(session_id)
            session = Session(campaign, rater, id_hash, self.csrf_for(id_hash))
            target = self.next_url(self.state(store, session))
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
            COOKIE, session_id, httponly=True, samesite="strict", secure=self.secure_cookie,
            path="/",
        )  # fmt: skip
        return response

    def task(self, request: Request, position: str) -> Response:
        with self.store() as store:
            session = self.require(store, request)
            state = self.state(store, session)
            at = self.position(position, state)
            item = state.items[at]
            kind, n = session.campaign.kind, len(state.items)
            view = form_view(item, kind, state.current.get(item.item_id))
        scale = session.campaign.rating_scale() if kind == "rate" else None
        return self.render(
            f"{kind}.html", session=session, progress=state.progress(), kind=kind, item=item,
            position=at, prev=at - 1 if at > 0 else None, next=at + 1 if at + 1 < n else None,
            view=view, flags=FLAGS, has_image=self.images is not None, scale=scale,
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
            part = review_image(self.images, item.image, MAX_IMAGE_SIDE)
        except ImageMissing:
            raise Refused(404, "Image not found", "This item's image is missing.") from None
        except ImageUnreadable:
            raise Refused(
                422, "Image cannot be shown",
                "This item's image is damaged or too large to show; rate it from its text, "
                "or tell the campaign's organiser.",
            ) from None  # fmt: skip
        return Response(
            part.data, media_type=part.media_type, headers={"Cache-Control": "private, max-age=300"}
        )

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
            scale = session.campaign.rating_scale() if kind == "rate" else None
            try:
                response = parse_response(item, kind, session.rater, fields, scale)
            except OffScale as error:
                raise Refused(422, "Not on the scale", str(error)) from None
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
        fields = await read_fields(request)
        return await run_in_threadpool(self.submit, request, position, fields)

    async def post_logout(self, request: Request) -> Response:
        fields = await read_fields(request)
        return await run_in_threadpool(self.logout, request, fields)

    def logout(self, request: Request, fields: dict[str, list[str]]) -> Response:
        with self.store() as store:
            session = self.check_post(request, self.session(store, request), fields)
            close_session(store, session.id_hash)
        response = self.render("message.html", title="Signed out", message="You are signed out.")
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict", secure=self.secure_cookie
        )
        return response


def create_app(
    workspace: Path | None,
    data: Path | None,
    images: Path | None,
    *,
    secure_cookie: bool = False,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The review app over the run store in `workspace` (None: the default workspace).

    data: the release folder; items carry their own text, so it is only accepted for the CLI's
    uniform options. images: the image root (`<root>/<key>` is each item's image; None shows
    no images). secure_cookie: send the session cookie only over HTTPS. throttle: the limit on
    wrong login links per client address (None: 10 a minute)."""
    del data
    review = ReviewApp(workspace, images, secure_cookie, throttle)
    app = FastAPI(title="EIBench review", docs_url=None, redoc_url=None, openapi_url=None)

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return review.refused(exc)

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
        try:
            response = await call_next(request)
        except Exception as exc:  # a full disk, a broken store, a bug: still our own page
            response = review.refused(failure(request, exc))
        return secure(response)

    get, post = ["GET"], ["POST"]
    app.add_api_route("/", review.home, methods=get)
    app.add_api_route("/login/{token}", review.login, methods=get)
    app.add_api_route("/task/{position}", review.task, methods=get)
    app.add_api_route("/task/{position}", review.post_task, methods=post)
    app.add_api_route("/done", review.done, methods=get)
    app.add_api_route("/image/{position}", review.image, methods=get)
    app.add_api_route("/static/{name}", review.pages.static_file, methods=get)
    app.add_api_route("/logout", review.post_logout, methods=post)
    return app


def serve(
    workspace: Path | None,
    data: Path | None,
    images: Path | None,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    secure_cookie: bool = False,
) -> None:
    """Serve the review app (see `create_app`) on `host`:`port` until interrupted."""
    import uvicorn

    app = create_app(workspace, data, images, secure_cookie=secure_cookie)
    # No access log: login URLs carry the raters' tokens.
    uvicorn.run(
        app, host=host, port=port, server_header=False, proxy_headers=False, access_log=False
    )
