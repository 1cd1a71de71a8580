"""requests' side of the transport: the session with the origin rule on redirects, urllib3's retries with
``Retry-After`` bounded, and pools whose connections keep the request's deadline (deadline.py).

Loaded at a transport's first request through requests, not with the transport: a warm ``get`` whose
reads are all direct (directread.py) never imports requests or urllib3 (docs/performance.md).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

import requests
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from .deadline import CURRENT, Adapter, Watch
from .httprules import RETRY_AFTER_MAX, RETRY_STATUSES, USER_AGENT, redirect_problem

if TYPE_CHECKING:
    from requests.sessions import _Settings


class RedirectRefused(Exception):
    """Raised inside requests' redirect loop; :meth:`Transport.request` names the server in the message."""

    def __init__(self, method: str, target: str, why: str) -> None:
        super().__init__(why)
        self.method, self.target, self.why = method, target, why


class _Session(requests.Session):
    """requests' session, with every redirect checked by :func:`redirect_problem` before it is followed.

    ``reads_elsewhere``: a registry sends blob downloads to its storage; Marathon has no reason to
    send a read elsewhere (its standbys proxy to the leader), and an answer from another origin
    would be planned on as if Marathon had said it.
    """

    reads_elsewhere = True

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """requests' preparation without its general merges when there is nothing to merge.

        With no cookie, no ``auth`` and no session params (the registry's and Marathon's reads:
        credentials travel as a header), requests would still copy two empty cookie jars, merge
        params and headers through ``runtime_checkable`` protocol checks and encode an empty
        query: about a sixth of a cold `get`'s CPU (docs/performance.md). The result is
        the same request; anything else takes requests' own path.
        """
        if (request.cookies or self.cookies or request.auth or self.auth or self.params
                or any(self.hooks.values())):
            return super().prepare_request(request)
        headers = CaseInsensitiveDict(self.headers)
        for name, value in (request.headers or {}).items():
            if value is None:
                headers.pop(name, None)  # a None header removes the session's (requests' merge_setting)
            else:
                headers[name] = value
        # PreparedRequest.prepare's steps in its order; an empty cookie jar adds no Cookie header
        prepared = requests.PreparedRequest()
        prepared.prepare_method(request.method)
        prepared.prepare_url(request.url, request.params or None)
        prepared.prepare_headers(headers)
        prepared._cookies = RequestsCookieJar()  # type: ignore[attr-defined]  # set by prepare_cookies
        prepared.prepare_body(request.data, request.files, request.json)
        prepared.prepare_auth(None, request.url)
        prepared.prepare_hooks(request.hooks)  # the session has none to merge
        return prepared

    def merge_environment_settings(self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> _Settings:
        """Without the environment (``trust_env`` off) and session defaults, the call's own settings."""
        if self.trust_env or self.proxies or self.stream or self.verify is not True or self.cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {"proxies": dict(proxies or {}), "stream": stream if stream is not None else self.stream,
                "verify": verify if verify is not None else self.verify, "cert": cert}

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target:
            request = resp.request
            absolute = urllib.parse.urljoin(resp.url, target)
            why = redirect_problem(request.method or "GET", bool(request.body), resp.url, absolute,
                                   reads_elsewhere=self.reads_elsewhere)
            if why:
                raise RedirectRefused(request.method or "GET", absolute, why)
        return target


class _Retry(Retry):
    """urllib3's Retry, with ``Retry-After`` bounded and a malformed one (``soon``) read as absent."""

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            seconds = super().parse_retry_after(retry_after)
        except InvalidHeader:
            return 0.0  # falls back to the backoff
        watch: Watch | None = getattr(CURRENT, "watch", None)
        return max(0.0, min(seconds, watch.remaining())) if watch else seconds


def make_session(*, pool_size: int = 16, retries: int = 3, status_retries: int | None = None,
                 backoff: float = 0.1, reads_elsewhere: bool = True) -> requests.Session:
    """A session whose adapter retries reads (GET/HEAD) on 429/5xx and connection errors.

    Error statuses get twice as many retries as connection errors (default 6 and 3): with 3, a
    registry failing one request in five sank one ``get`` in ten (0.2**4 per request, ~60
    requests), while a server that is gone is still given up on within a few seconds
    (backoff 0, 0.2, 0.4, 0.8, 1, 1 s). Writes are never retried on a status: a Marathon PUT
    that failed half-way must be looked at (deployments) before it is sent again.
    """
    status_retries = 2 * retries if status_retries is None else status_retries
    retry = _Retry(
        total=max(retries, status_retries),
        connect=retries,
        read=retries,
        other=0,  # a certificate that fails verification does not get better when asked again
        status=status_retries,
        backoff_factor=backoff,
        backoff_max=1.0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,
    )
    session = _Session()
    session.reads_elsewhere = reads_elsewhere
    # No environment lookups per request (proxies, CA variables, .netrc): Transport passes them.
    session.trust_env = False
    adapter = Adapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
