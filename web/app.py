"""The dashboard's aiohttp application: sign-in, security headers, the JSON API, CSV downloads, live events.

Every page is static HTML + JS that fetches JSON and renders it with textContent (never innerHTML), under a
Content-Security-Policy that allows scripts from this origin only; the few server-made pages (sign-in) are
string.Template with every value html-escaped. No CORS headers are ever sent.
"""
from __future__ import annotations

import html
import logging
from pathlib import Path
from string import Template
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from tradingbot.app.dashboard_auth import COOKIE, LOGIN_PATH, SESSION_TTL, DashboardAuth
from tradingbot.app.dashboard_reports import Reports

from . import api
from .tables import Table
from .live import LiveFeed

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {p.name: p for p in STATIC.rglob("*") if p.is_file() and p.name != "index.html"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin",
           "Cross-Origin-Resource-Policy": "same-origin"}
NO_SESSION = "No session: open /dashboard in the chat for a sign-in link."
REFUSED = "This sign-in link is used, expired or unknown: send /dashboard in the chat for a new one."
PAGE = Template("""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>iTradingBot dashboard</title>
<link rel="stylesheet" href="/static/style.css"><link rel="icon" href="/static/favicon.svg"></head><body class="plain"><main class="card">
<h1>iTradingBot</h1><p>$message</p>$form</main></body></html>""")
FORM = Template("""<form method="post" action="$action"><input type="hidden" name="t" value="$token">
<button type="submit">Continue to the dashboard</button></form>""")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AUTH = web.AppKey("auth", DashboardAuth)
REPORTS = web.AppKey("reports", Reports)
FEED = web.AppKey("feed", LiveFeed)
CACHE = web.AppKey("cache", api.PageCache)


def plain_page(message: str, status: int = 200, token: str | None = None) -> web.Response:
    form = FORM.substitute(action=LOGIN_PATH, token=html.escape(token, quote=True)) if token else ""
    body = PAGE.substitute(message=html.escape(message), form=form)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as e:  # 404 and the like: the same headers, raised on
        _harden(request, e.headers)
        raise
    _harden(request, response.headers)
    return response


def _harden(request: web.Request, headers: Any) -> None:
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


def signed_in(request: web.Request) -> bool:
    return request.app[AUTH].valid_session(request.cookies.get(COOKIE))


def api_refusal() -> web.Response:
    return web.json_response({"error": NO_SESSION}, status=401)


async def index(request: web.Request) -> web.StreamResponse:
    if not signed_in(request):
        return plain_page(NO_SESSION, status=401)
    return web.FileResponse(STATIC / "index.html")


async def login_page(request: web.Request) -> web.Response:
    """GET shows only a button: a link preview or prefetcher that opens the link spends nothing."""
    token = request.query.get("t", "")
    if not token or len(token) > 200:
        return plain_page(REFUSED, status=403)
    return plain_page("Sign in to the dashboard (read-only; trading stays in the chat).", token=token)


async def login(request: web.Request) -> web.Response:
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        return plain_page(REFUSED, status=403)  # a form posted from another site
    form = await request.post()
    token = form.get("t")
    auth = request.app[AUTH]
    if not isinstance(token, str) or not auth.spend(token):
        log.warning("dashboard: a used, expired or unknown sign-in link was refused")
        return plain_page(REFUSED, status=403)
    response = web.Response(status=303, headers={"Location": "/"})  # to a URL without the token
    response.set_cookie(COOKIE, auth.session_cookie(), max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                        samesite="Strict", path="/", secure=request.secure or auth.public_url.startswith("https:"))
    log.info("dashboard: a session started")
    return response


async def _page(request: web.Request) -> tuple[dict[str, Any], dict[str, Table], api.Encoded] | web.Response:
    """The signed-in page's JSON and tables, or the answer refusing it (no session, no such page or item)."""
    if not signed_in(request):
        return api_refusal()
    name = request.match_info["page"]
    if name not in api.PAGES:
        raise web.HTTPNotFound()
    try:
        return await request.app[CACHE].page(request.app[REPORTS], name, dict(request.query))
    except api.NotFound as e:
        return web.json_response({"error": str(e)}, status=404)


async def page_json(request: web.Request) -> web.Response:
    built = await _page(request)
    if isinstance(built, web.Response):
        return built
    encoded = built[2]
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=encoded.gzipped, content_type="application/json",
                            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return web.Response(body=encoded.plain, content_type="application/json")


async def page_csv(request: web.Request) -> web.Response:
    built = await _page(request)
    if isinstance(built, web.Response):
        return built
    page, name = request.match_info["page"], request.match_info["table"]
    if name not in built[1]:
        raise web.HTTPNotFound()
    return web.Response(text=built[1][name].csv(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{page}-{name}.csv"'})


async def events(request: web.Request) -> web.StreamResponse:
    if not signed_in(request):
        return api_refusal()
    return await request.app[FEED].stream(request)


async def asset(request: web.Request) -> web.StreamResponse:
    path = ASSETS.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    response = web.FileResponse(path)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def make_app(reports: Reports, auth: DashboardAuth, feed: LiveFeed) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=16 * 1024)
    app[AUTH], app[REPORTS], app[FEED], app[CACHE] = auth, reports, feed, api.PageCache()
    app.router.add_get("/", index)
    app.router.add_get(LOGIN_PATH, login_page)
    app.router.add_post(LOGIN_PATH, login)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/{page}.json", page_json)
    app.router.add_get("/api/{page}/{table}.csv", page_csv)
    app.router.add_get("/static/{name}", asset)
    app.on_shutdown.append(lambda _: feed.close())
    return app
