"""The rules every HTTP path of the tool shares: which statuses are retried, who it says it is, what an
origin is, and which redirects may be followed (the transport's session and the registry's direct reads)."""

from __future__ import annotations

import urllib.parse

from . import __version__
from .secret import split_userinfo

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = f"fleetrewind/{__version__}"
RETRY_AFTER_MAX = 10  # seconds: a server asking for an hour (Retry-After: 3600) gets ten
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ANSWER = 128 * 2**20  # bytes: Marathon's /v2/apps for thousands of apps is a few MB


def sanitize_url(url: str) -> str:
    """Drop user:password from a URL so it can be shown or logged (valid or not: ``secret.split_userinfo``)."""
    head, userinfo, rest = split_userinfo(url)
    return url if userinfo is None else head + rest


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in (RFC 6454); ValueError if unusable."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme)
    if scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        raise ValueError(sanitize_url(url))  # not an http(s) URL with a host
    return scheme, parts.hostname.lower(), port


def show_origin(value: tuple[str, str, int]) -> str:
    scheme, host, port = value
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"


def redirect_problem(method: str, has_body: bool, from_url: str, to_url: str, *,
                     reads_elsewhere: bool = True) -> str | None:
    """Why a redirect must not be followed, or None.

    requests drops ``Authorization`` when a redirect leaves the host, but it sends a 307/308's
    body again (a DC/OS login's password, a PUT's app definition with its ``env``), and it
    follows https to http. So: never to a weaker scheme, and a request with a body or one that
    writes stays on its own origin (scheme, host, port). A read may go elsewhere (a registry
    sends blob downloads to its storage), without credentials.
    """
    try:
        home, target = origin(from_url), origin(to_url)
    except ValueError:
        return "to an unusable URL"
    if "@" in urllib.parse.urlsplit(to_url).netloc:
        return "to a URL that carries a user name or password of its own"
    if home[0] == "https" and target[0] != "https":
        return f"from https to plain http ({show_origin(target)})"
    if target != home and not reads_elsewhere:
        return (f"to another origin {show_origin(target)} (this server's answers come only from "
                f"{show_origin(home)})")
    if target != home and (has_body or method.upper() not in ("GET", "HEAD")):
        return (f"to another origin {show_origin(target)} (a request with a body or a change stays on "
                f"{show_origin(home)})")
    return None
