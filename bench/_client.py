"""Clients of the REST API: over HTTP (standard library only) or in-process (to count SQL).

Both have the same methods, so one sequence of requests drives either. ``SessionClient``
is a signed-in browser for the pages.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from ._server import HOST


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


# A keep-alive connection the server closed while idle (gunicorn's keep-alive is 2 s, and a
# slow step elsewhere can leave a client idle that long): a browser sends a GET again.
STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def exchange(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes, headers: dict[str, str]
) -> http.client.HTTPResponse:
    """One request on a keep-alive connection; a GET that met a stale connection is retried
    once on a new one (never a POST: the server may have acted on it)."""
    try:
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse()
    except STALE_CONNECTION:
        if method not in {"GET", "HEAD"}:
            raise
        conn.close()
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse()


class _Client:
    def __init__(self, token: str) -> None:
        self._auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def close(self) -> None:
        pass

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        raise NotImplementedError

    def send_json(
        self, method: str, path: str, payload: Any, headers: dict[str, str] | None = None
    ) -> Response:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        content = {"Content-Type": "application/json; charset=utf-8"}
        return self.request(method, path, body, {**content, **(headers or {})})

    def send_files(
        self, path: str, fields: dict[str, str], files: list[tuple[str, str, bytes, str]]
    ) -> Response:
        """multipart/form-data: ``fields`` as text parts, ``files`` as (field, name, bytes, mime)."""
        boundary = uuid.uuid4().hex
        body = multipart(boundary, fields, files)
        content = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request("POST", path, body, content)


class ApiClient(_Client):
    """One enterprise's client: its bearer token over one keep-alive connection."""

    def __init__(self, port: int, token: str, timeout: float = 60) -> None:
        super().__init__(token)
        self._conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def close(self) -> None:
        self._conn.close()

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        response = exchange(self._conn, method, path, body, {**self._auth, **(headers or {})})
        return Response(response.status, response.read(), dict(response.getheaders()))


class InProcessClient(_Client):
    """The same requests through Django's handler in this process (needs ``django.setup()``)."""

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        from django.test import Client

        headers = {**self._auth, **(headers or {})}
        content_type = headers.pop("Content-Type", "application/octet-stream")
        response = Client().generic(method, path, body, content_type, headers=headers)
        return Response(response.status_code, response.content, dict(response.headers))


def multipart(
    boundary: str, fields: dict[str, str], files: list[tuple[str, str, bytes, str]]
) -> bytes:
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(head.encode("utf-8") + value.encode("utf-8") + b"\r\n")
    for field, filename, content, mime in files:
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        )
        parts.append(head.encode("utf-8") + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class SessionClient:
    """A browser: signs in through the real login form, then keeps its cookies (one keep-alive
    connection). For the pages, which take a session, not a token."""

    def __init__(self, port: int, timeout: float = 60) -> None:
        self._conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def close(self) -> None:
        self._conn.close()

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        sent = {**({"Cookie": cookie} if cookie else {}), **(headers or {})}
        response = exchange(self._conn, method, path, body, sent)
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return Response(response.status, response.read(), dict(response.getheaders()))

    def login(self, username: str, password: str) -> None:
        """GET the form (CSRF cookie and token), POST it; a redirect with a session means in."""
        form = self.request("GET", "/login/")
        token = CSRF_FIELD.search(form.body.decode("utf-8", "replace"))
        if form.status != 200 or token is None:
            raise RuntimeError(f"login form: HTTP {form.status}")
        fields = {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
        content = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = self.request("POST", "/login/", urlencode(fields).encode(), content)
        if answer.status != 302 or "login" in answer.headers.get("Location", "login"):
            raise RuntimeError(f"login of {username}: HTTP {answer.status}")
