"""API Gateway HTTP API (payload format 2.0): reading the request, shaping the response."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

#: every response of the chain: never cached, never leaks the URL (it may hold a code) onward
_BASE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def query(event: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters (API Gateway joins repeated ones with commas)."""
    params = event.get("queryStringParameters") or {}
    return {str(k): str(v) for k, v in params.items()}


def cookies(event: Mapping[str, Any]) -> dict[str, str]:
    """Request cookies: payload 2.0 puts them in ``cookies``; a raw ``cookie`` header also works.
    A name sent twice keeps its first value (the browser sends the most specific first)."""
    raw: list[str] = list(event.get("cookies") or [])
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if str(name).lower() == "cookie" and value:
            raw.extend(str(value).split(";"))
    out: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.strip().partition("=")
        if sep and name and name not in out:
            out[name] = value
    return out


def redirect(location: str, set_cookies: Sequence[str] = ()) -> dict[str, Any]:
    """A 302 to ``location`` with ``Set-Cookie`` values (payload 2.0 ``cookies``)."""
    return {
        "statusCode": 302,
        "headers": {**_BASE_HEADERS, "Location": location},
        "cookies": list(set_cookies),
        "body": "",
    }


def json_response(status: int, body: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A JSON body (already serialised)."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        },
        "body": body,
    }


def error_page(status: int, reference: str | None, set_cookies: Sequence[str] = ()) -> dict[str, Any]:
    """The one page a failed login shows: no reason, no detail, only a reference for support."""
    ref = html.escape(reference or "-")
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sign-in failed</title></head>"
        "<body><h1>Sign-in failed</h1><p>We could not sign you in. Please try again.</p>"
        f"<p>Reference: <code>{ref}</code></p></body></html>"
    )
    return {
        "statusCode": status,
        "headers": {**_BASE_HEADERS, "Content-Type": "text/html; charset=utf-8"},
        "cookies": list(set_cookies),
        "body": body,
    }
