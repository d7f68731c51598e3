"""Who can reach the chat and what it serves, on the real app: the default bind address, the password, file
paths, upload names.

(Refusing to listen on the network without a password is tested in test_app_api.py.) Two apps serve this
module: one with the default settings, one with RAG_PASSWORD set, on 0.0.0.0 inside the test network
namespace (scripts/offline.sh: loopback only) and on 127.0.0.1 elsewhere.
"""
from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from tests.app_fixtures import ROOT, RunningApp, model_file, running_app  # noqa: F401

PASSWORD = secrets.token_urlsafe(12)
ISOLATED = os.environ.get("NETNS_OFFLINE") == "1"  # set by scripts/offline.sh: nothing but loopback exists
LOCKED_HOST = "0.0.0.0" if ISOLATED else "127.0.0.1"
PASSWD_LINE = b"root:x:0:0"


@pytest.fixture(scope="module")
def default_app(tmp_path_factory, model_file) -> Iterator[RunningApp]:
    """The app as `make run` starts it: no --host, no password."""
    with running_app(tmp_path_factory.mktemp("default"), model_file, args=()) as app:
        yield app


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory, model_file) -> Iterator[RunningApp]:
    with running_app(tmp_path_factory.mktemp("locked"), model_file, ("--host", LOCKED_HOST), RAG_PASSWORD=PASSWORD) as app:
        yield app


def port_of(app: RunningApp) -> int:
    return urllib.parse.urlparse(app.url).port


def listening_addresses(port: int) -> set[str]:
    """The local addresses of TCP sockets listening on port, from /proc/net/tcp and tcp6: ``{'127.0.0.1'}``."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)  # each 32-bit word in the kernel's (little-endian) order
                found.add(socket.inet_ntop(family, b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))))
    return found


def get(app: RunningApp, path: str) -> tuple[int, bytes]:
    """GET a raw path (sent as written: no normalising of '..'); (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(app), timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def post_json(app: RunningApp, path: str, payload: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(app), timeout=60)
    try:
        connection.request("POST", path, body=json.dumps(payload), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- binding -------------------------------------------------------------------------------------

def test_binds_loopback_by_default(default_app):
    assert listening_addresses(port_of(default_app)) == {"127.0.0.1"}


def test_with_a_password_it_may_listen_beyond_loopback(locked_app):
    assert listening_addresses(port_of(locked_app)) == {LOCKED_HOST}


# -- files ---------------------------------------------------------------------------------------

def private_files(app: RunningApp, model: Path) -> list[Path]:
    """Files the app reads but must never serve: the model, a corpus article, the index database, its own code."""
    index_files = sorted((p for p in app.home.rglob("*") if p.is_file()), key=lambda p: p.suffix != ".sqlite3")
    assert index_files, "the app should have written its index"
    return [model, next(app.corpus.glob("*.md")), *index_files[:3], ROOT / "app.py"]


@pytest.mark.parametrize("path", [
    "/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file=../../etc/passwd",
    "/gradio_api/file=..%2F..%2F..%2Fetc%2Fpasswd", "/gradio_api/file=//etc/passwd",
    "/gradio_api/file=%2Fetc%2Fpasswd", "/static/../../../../etc/passwd", "/assets/../../../../etc/passwd",
])
def test_system_files_are_not_served(default_app, path):
    status, body = get(default_app, path)
    assert status in (403, 404), (status, body[:200])
    assert PASSWD_LINE not in body


def test_model_corpus_and_index_files_are_not_served(default_app, model_file):
    for private in private_files(default_app, model_file):
        with open(private, "rb") as handle:  # the model is 1.1 GB: its first bytes are enough
            head = handle.read(64)
        for form in (str(private), os.path.relpath(private, ROOT), urllib.parse.quote(str(private))):
            for prefix in ("/gradio_api/file=", "/file="):
                status, body = get(default_app, prefix + form)
                assert status in (403, 404), (prefix + form, status)
                assert not (head and head in body), f"{prefix + form} returned the file's content"


def upload_raw(app: RunningApp, name: str, content: bytes) -> str:
    """POST one file to Gradio's upload route under any name, as a hand-made client could; its server path."""
    boundary = secrets.token_hex(16)
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port_of(app), timeout=60)
    try:
        connection.request("POST", "/gradio_api/upload", body=body,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    assert response.status == 200, data[:300]
    return json.loads(data)[0]


def call_upload(app: RunningApp, server_path: str, orig_name: str) -> dict:
    """The /upload endpoint through Gradio's plain HTTP API (no gradio_client cleaning the name first)."""
    file_data = {"path": server_path, "orig_name": orig_name, "meta": {"_type": "gradio.FileData"}}
    status, body = post_json(app, "/gradio_api/call/upload", {"data": [file_data, ""]})  # "": the default collection
    assert status == 200, body[:300]
    event = json.loads(body)["event_id"]
    status, stream = get(app, f"/gradio_api/call/upload/{event}")
    lines = stream.decode().splitlines()
    assert "event: complete" in lines, stream[-500:]
    return json.loads(lines[lines.index("event: complete") + 1].removeprefix("data: "))[0]


@pytest.mark.parametrize("name", ["../../evil.txt", "..\\..\\evil.txt"])
def test_an_upload_cannot_leave_the_corpus_folder(default_app, name):
    content = b"Evil Corp announced a river festival prize made of carved wood.\n"
    server_path = upload_raw(default_app, name, content)
    result = call_upload(default_app, server_path, name)
    assert result["saved"] == ["evil.txt"] and result["failed"] == [], result
    saved = default_app.corpus / "evil.txt"
    assert saved.read_bytes() == content
    assert not (default_app.corpus.parent.parent / "evil.txt").exists()
    assert not (default_app.corpus.parent / "evil.txt").exists()
    assert [p.name for p in default_app.corpus.iterdir() if "evil" in p.name] == ["evil.txt"]
    status, body = get(default_app, "/gradio_api/file=" + str(saved))
    assert status in (403, 404) and content not in body
    saved.unlink()  # the app serves the whole module: the next case's upload must not find the name taken


@pytest.mark.parametrize("path, kind", [("/gradio_api/upload", "multipart/form-data; boundary=b0undary"),
                                        ("/v1/chat/completions", "application/json")])
def test_a_client_that_goes_away_mid_request_leaves_no_traceback(default_app, path, kind):
    """Half a request, then the connection closed: the app notes it in one line and goes on serving."""
    before = len(default_app.log.read_bytes())
    with socket.create_connection(("127.0.0.1", port_of(default_app)), timeout=10) as raw:
        raw.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
                    "Content-Length: 100000\r\n\r\n".encode() + b"--b0undary\r\n{\"partial\": ")
        time.sleep(1.0)
    time.sleep(1.5)
    status, _ = get(default_app, "/")
    logged = default_app.log.read_bytes()[before:].decode(errors="replace")
    assert status == 200 and "Traceback" not in logged and "ClientDisconnect" not in logged, logged


# -- password ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/config"), ("GET", "/gradio_api/info"), ("POST", "/gradio_api/call/documents"),
    ("POST", "/gradio_api/call/ask"), ("GET", "/gradio_api/file=/etc/passwd"),
])
def test_without_the_password_the_api_is_refused(locked_app, method, path):
    if method == "GET":
        status, body = get(locked_app, path)
    else:
        status, body = post_json(locked_app, path, {"data": ["Who is Sam Altman?"]})
    assert status in (401, 403), (status, body[:200])
    assert b"named_endpoints" not in body and b"Ask the articles" not in body and PASSWD_LINE not in body


def test_without_the_password_the_page_is_the_login_form(locked_app):
    """The page is Gradio's login form, with none of the app. (Gradio 6.31 still embeds the API's description,
    endpoint and parameter names, in this page; /gradio_api/info itself is refused.)"""
    status, body = get(locked_app, "/")
    assert status == 200 and b'"auth_required":true' in body and b'"components":[]' in body
    assert b"Ask the articles" not in body and b"altman-china" not in body
    status, _ = post_form(locked_app, "/login", {"username": "rag", "password": "wrong"})
    assert status in (400, 401)
    status, _ = post_form(locked_app, "/login", {"username": "rag", "password": PASSWORD})
    assert status == 200


def post_form(app: RunningApp, path: str, fields: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(app), timeout=60)
    try:
        connection.request("POST", path, body=urllib.parse.urlencode(fields),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_gradio_client_needs_the_password(locked_app):
    from gradio_client import Client

    with pytest.raises(ValueError, match="credentials were not provided"):  # gradio_client's AuthenticationError
        Client(locked_app.url, verbose=False, download_files=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(locked_app.url, auth=("rag", "not-the-password"), verbose=False, download_files=False)
    client = Client(locked_app.url, auth=("rag", PASSWORD), verbose=False, download_files=False)
    try:
        assert [d["source"] for d in client.predict(api_name="/documents")] == ["altman-china-ai-open-weights.md"]
    finally:
        client.close()


# -- the OpenAI-compatible endpoint and the MCP server: the same rule, as a Bearer key -------------

def test_v1_needs_the_key_beyond_loopback(locked_app):
    """Gradio's login does not cover routes added beside it; /v1 asks for the password as a Bearer key."""
    import openai

    base = locked_app.url + "v1"
    for key in ("", "not-the-password"):
        client = openai.OpenAI(base_url=base, api_key=key or "x", max_retries=0, timeout=60)
        with pytest.raises(openai.AuthenticationError) as caught:
            client.chat.completions.create(model="rag", messages=[{"role": "user", "content": "Who is Sam Altman?"}])
        assert caught.value.status_code == 401 and caught.value.body["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    status, _ = get(locked_app, "/v1/models")  # no Authorization header at all
    assert status == 401
    client = openai.OpenAI(base_url=base, api_key=PASSWORD, max_retries=0, timeout=60)
    assert [m.id for m in client.models.list().data] == ["rag"]


def test_mcp_needs_the_key_beyond_loopback(locked_app):
    import asyncio

    from tests.test_mcp import mcp_session

    url = locked_app.url.rstrip("/") + "/gradio_api/mcp/"
    for path in ("/gradio_api/mcp/", "/gradio_api/mcp/schema", "/gradio_api/mcp/sse"):
        status, body = get(locked_app, path)
        assert status == 401 and b"invalid_api_key" in body, (path, status)
    status, _ = post_json(locked_app, "/gradio_api/mcp/", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert status == 401

    async def tool_names(session):
        return sorted(tool.name for tool in (await session.list_tools()).tools)

    with pytest.raises(BaseException):  # the client's HTTP 401, raised inside its task group
        asyncio.run(mcp_session(url, tool_names, headers={"Authorization": "Bearer not-the-password"}))
    names = asyncio.run(mcp_session(url, tool_names, headers={"Authorization": f"Bearer {PASSWORD}"}))
    assert names == ["ask_articles", "list_articles", "search_articles"]


# -- throttling failed logins and keys, and the length of secrets beyond loopback -----------------

def test_waits_grow_after_the_free_failures_and_a_success_forgets_them():
    from rag.web.access import FREE_FAILURES, Throttle, wait_after

    assert [wait_after(n) for n in range(FREE_FAILURES)] == [0.0] * FREE_FAILURES
    waits = [wait_after(n) for n in range(FREE_FAILURES, FREE_FAILURES + 12)]
    assert waits[0] == 1.0 and all(b == min(2 * a, 60.0) for a, b in zip(waits, waits[1:])) and waits[-1] == 60.0
    now = [100.0]
    throttle = Throttle(clock=lambda: now[0])
    for _ in range(FREE_FAILURES):
        assert throttle.wait("10.0.0.9") == 0.0
        throttle.failed("10.0.0.9")
    assert throttle.wait("10.0.0.9") == 1.0 and throttle.wait("10.0.0.8") == 0.0  # per client
    now[0] += 1.0
    throttle.failed("10.0.0.9")
    assert throttle.wait("10.0.0.9") == 2.0
    now[0] += 2.0
    throttle.succeeded("10.0.0.9")
    assert throttle.wait("10.0.0.9") == 0.0
    throttle.failed("10.0.0.7")
    now[0] += 10_000  # long after: forgotten
    throttle.failed("10.0.0.7")
    assert throttle.failures["10.0.0.7"][0] == 1


@pytest.mark.parametrize("host, password, key, refused", [
    ("0.0.0.0", "eleven-char", None, "RAG_PASSWORD"), ("0.0.0.0", "twelve-chars", None, None),
    ("0.0.0.0", "twelve-chars", "eleven-char", "RAG_API_KEY"), ("127.0.0.1", "pw", "eight-ch", None),
])
def test_short_secrets_are_refused_beyond_loopback_only(host, password, key, refused):
    from rag.errors import SettingsError
    from rag.settings import Settings
    from rag.web.access import check_access

    settings = Settings(host=host, password=password, api_key=key)
    if refused is None:
        assert check_access(settings) == ("rag", password)
        return
    with pytest.raises(SettingsError, match=f"11-character {refused}: .* at least 12 characters"):
        check_access(settings)


def bearer_status(app: RunningApp, key: str) -> tuple[int, object, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(app), timeout=60)
    try:
        connection.request("GET", "/v1/models", headers={"Authorization": f"Bearer {key}"})
        response = connection.getresponse()
        return response.status, response.headers, response.read()  # headers: case-insensitive
    finally:
        connection.close()


def test_failed_keys_and_logins_are_throttled_per_client(locked_app):
    """Runs last in this module: it leaves the client's failures forgotten (a right key at the end)."""
    import time

    from rag.web.access import FREE_FAILURES

    for _ in range(FREE_FAILURES):
        assert bearer_status(locked_app, "not-the-password")[0] == 401
    status, headers, body = bearer_status(locked_app, PASSWORD)  # even the right key waits its turn
    assert status == 429 and int(headers["Retry-After"]) >= 1, body
    assert json.loads(body)["error"]["code"] == "too_many_attempts" and b"try again in" in body
    status, _ = post_form(locked_app, "/login", {"username": "rag", "password": PASSWORD})
    assert status == 429  # the page's login counts for the same client
    time.sleep(int(headers["Retry-After"]))
    assert bearer_status(locked_app, "still-not-it")[0] == 401  # the wait is over: one more guess, then longer
    status, headers, _ = bearer_status(locked_app, "again-not-it")
    assert status == 429 and int(headers["Retry-After"]) >= 2
    time.sleep(int(headers["Retry-After"]))
    status, _ = post_form(locked_app, "/login", {"username": "rag", "password": PASSWORD})
    assert status == 200
    assert bearer_status(locked_app, PASSWORD)[0] == 200  # a success forgot the failures
    for _ in range(FREE_FAILURES - 1):
        assert post_form(locked_app, "/login", {"username": "rag", "password": "wrong"})[0] in (400, 401)
    assert bearer_status(locked_app, PASSWORD)[0] == 200


def test_bearer_gate_throttles_keys_and_logins_of_one_client_in_process():
    """BearerGate on a bare Starlette app (no model): the rule of the real-server test below, in a second."""
    import asyncio

    import httpx
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from rag.web.access import FREE_FAILURES, BearerGate

    async def login(request):
        form = (await request.body()).decode()
        return JSONResponse({}, 200 if "password=right-password" in form else 400)

    async def models(request):
        return JSONResponse({"data": []})

    app = BearerGate(Starlette(routes=[Route("/login", login, methods=["POST"]), Route("/v1/models", models)]),
                     key="right-password")

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            key = lambda k: client.get("/v1/models", headers={"Authorization": f"Bearer {k}"})  # noqa: E731
            assert (await client.get("/v1/models")).status_code == 401  # no key: not a guess, not counted
            statuses = [(await key("wrong")).status_code for _ in range(FREE_FAILURES)]
            statuses += [(await key("right-password")).status_code]
            statuses += [(await client.post("/login", content="password=right-password")).status_code]
            return statuses

    statuses = asyncio.run(run())
    assert statuses == [401] * FREE_FAILURES + [429, 429], statuses


def test_logins_sent_all_at_once_are_counted_as_they_arrive():
    """40 wrong logins sent together, answered slowly: only the free ones reach the login, the rest get 429 at once
    (counting them when answered let 10 through)."""
    import asyncio

    import httpx
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from rag.web.access import FREE_FAILURES, BearerGate

    reached = []

    async def login(request):
        reached.append(1)
        await asyncio.sleep(0.3)  # Gradio checks the password while the others arrive
        return JSONResponse({"detail": "Incorrect credentials."}, 400)

    app = BearerGate(Starlette(routes=[Route("/login", login, methods=["POST"])]), key=None)

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            answers = await asyncio.gather(*[client.post("/login", content=f"password=guess{n}") for n in range(40)])
            return sorted(a.status_code for a in answers)

    statuses = asyncio.run(run())
    assert len(reached) == FREE_FAILURES and statuses == [400] * FREE_FAILURES + [429] * (40 - FREE_FAILURES), statuses


def test_a_client_that_goes_away_mid_request_is_one_line_in_the_log(caplog):
    import asyncio
    import logging

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from rag.web.access import BearerGate

    async def upload(request):
        await request.body()  # Gradio's upload and /v1 read the whole body first
        return JSONResponse({})

    app = BearerGate(Starlette(routes=[Route("/gradio_api/upload", upload, methods=["POST"])]), key=None)
    messages = iter([{"type": "http.request", "body": b"--boundary\r\npart of a file", "more_body": True},
                     {"type": "http.disconnect"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "headers": [], "query_string": b"",
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 7860), "scheme": "http", "root_path": ""}
    with caplog.at_level(logging.INFO, logger="rag.web"):
        asyncio.run(app(scope, receive, send))  # no ClientDisconnect escapes to the server, which logs a traceback
    assert [r.getMessage() for r in caplog.records] == [
        "POST /gradio_api/upload: the client went away before sending its whole request"]
