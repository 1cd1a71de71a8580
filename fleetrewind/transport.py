"""One pooled requests session per API: timeouts, a total deadline, read retries, explicit TLS and proxies.

Every request goes through :class:`Transport`, so no call can forget its timeout, its deadline,
its ``verify`` value or the origin rule for credentials (the registry's direct reads, directread.py,
take their deadline, TLS, bounds and messages from it, and give it everything else). The session does not read the
environment (``trust_env = False``): proxies are resolved once per origin from the proxy
variables, and ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are read by the settings as a CA bundle
setting of their own (docs/security.md, "TLS"; docs/performance.md for the CPU this saves).
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import requests
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from . import __version__
from .errors import RollbackError, UnreachableError, UsageError, WriteFenced
from .secret import split_userinfo
from .deadline import CURRENT, WATCHDOG, Adapter, DeadlineExceeded, FenceClosed, Watch
from .http_answers import AnswerTooLarge, path_of, read_bounded, short_reason, tls_message

if TYPE_CHECKING:
    from requests.sessions import _Settings


RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = f"fleetrewind/{__version__}"
RETRY_AFTER_MAX = 10  # seconds: a server asking for an hour (Retry-After: 3600) gets ten
DEFAULT_PORTS = {"http": 80, "https": 443}
# read by requests for every origin (upper or lower case); a password in one is a secret (cli)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


class CredentialsRefused(RollbackError):
    """A request would carry credentials over a weaker scheme or to another origin (exit 1)."""


class _RedirectRefused(Exception):
    """Raised inside requests' redirect loop; :meth:`Transport.request` names the server in the message."""

    def __init__(self, method: str, target: str, why: str) -> None:
        super().__init__(why)
        self.method, self.target, self.why = method, target, why


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
                raise _RedirectRefused(request.method or "GET", absolute, why)
        return target


@dataclass(frozen=True, kw_only=True)
class TLS:
    """TLS choice for one endpoint: a CA bundle path (and which setting named it), or ``--insecure``."""

    ca_bundle: str | None = None
    insecure: bool = False
    source: str = "--ca-bundle"  # the flag, variable or config key the bundle came from

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle or True


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


class Proxies:
    """The environment's proxies for a URL, resolved once per origin (the environment does not change
    while a command runs; requests would rescan it twice per request)."""

    def __init__(self) -> None:
        self._by_origin: dict[str, dict[str, str]] = {}

    def for_url(self, url: str) -> dict[str, str]:
        parts = urllib.parse.urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        found = self._by_origin.get(key)
        if found is None:
            found = dict(get_environ_proxies(key))
            for scheme, proxy in found.items():
                _check_proxy(scheme, proxy)
            self._by_origin[key] = found
        return found


PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


def _check_proxy(scheme: str, proxy: str) -> None:
    """A proxy from the environment is checked where it is read: a bad one is blamed on its variable,
    never on the URL it was meant to reach (UsageError, exit 2)."""
    name = "ALL_PROXY" if scheme == "all" else f"{scheme.upper()}_PROXY"
    where = f"the proxy in {name} (or {name.lower()})"
    try:
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        port = parts.port
    except ValueError:
        raise UsageError(f"{where} is not a URL: {sanitize_url(proxy)[:120]!r}; fix it or unset it") from None
    if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname or (port is not None and port == 0):
        raise UsageError(f"{where} is not a usable proxy URL (scheme {', '.join(PROXY_SCHEMES)}, a host, "
                         f"a port): {sanitize_url(proxy)[:120]!r}; fix it or unset it")


class Transport:
    """Base URL + session + TLS + timeout + deadline: the only way the clients send requests."""

    def __init__(
        self,
        base_url: str,
        *,
        tls: TLS,
        timeout: float = 15.0,
        deadline: float | None = None,
        session: requests.Session | None = None,
        pool_size: int = 16,
        name: str = "server",
        reads_elsewhere: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tls = tls
        self.timeout = timeout
        self.deadline = deadline if deadline is not None else max(60.0, 2 * timeout)
        self.session = session or make_session(pool_size=pool_size, reads_elsewhere=reads_elsewhere)
        self.proxies = Proxies()
        self.name = name
        if tls.insecure:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    @property
    def display_url(self) -> str:
        return sanitize_url(self.base_url)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + path

    def check_credentials_target(self, url: str, *, other_origin_ok: bool = False) -> None:
        """Refuse to send credentials over a weaker scheme, to another origin, or with userinfo in the URL."""
        try:
            target = origin(url)
            home = origin(self.base_url)
            has_userinfo = "@" in urllib.parse.urlsplit(url).netloc
        except ValueError:
            raise CredentialsRefused(f"refusing to send credentials for {self.name} to an unusable URL "
                                     f"{sanitize_url(url)!r}") from None
        if has_userinfo and url != self.base_url and not url.startswith(self.base_url + "/"):
            raise CredentialsRefused(f"refusing to send credentials for {self.name} to {sanitize_url(url)}: "
                                     "the URL carries a user name or password of its own")
        if home[0] == "https" and target[0] != "https":
            raise CredentialsRefused(f"refusing to send credentials for {self.name} over plain http to "
                                     f"{show_origin(target)}: {self.display_url} uses https")
        if target != home and not other_origin_ok:
            raise CredentialsRefused(f"refusing to send credentials for {self.name} to another origin "
                                     f"{show_origin(target)} (they go only to {show_origin(home)})")

    def request(self, method: str, path: str, *, other_origin_ok: bool = False, fence: Callable[[], bool] | None = None,
                **kwargs: Any) -> requests.Response:
        """Send one request within the total deadline; network and TLS failures become :class:`UnreachableError`.

        ``timeout`` given by the caller is both the read timeout and the request's deadline. ``fence`` is
        asked as the request is about to be written (each try): False, and it is not sent (WriteFenced).
        """
        url = self.url(path)
        if kwargs.get("auth") or "Authorization" in (kwargs.get("headers") or {}):
            self.check_credentials_target(url, other_origin_ok=other_origin_ok)
        deadline = float(kwargs["timeout"]) if kwargs.get("timeout") else self.deadline
        kwargs.setdefault("timeout", self.timeout)
        kwargs["verify"] = self.tls.verify
        kwargs["proxies"] = self.proxies.for_url(url)
        watch = Watch(time.monotonic() + deadline, fence)
        CURRENT.watch = watch
        WATCHDOG.add(watch)
        try:
            streamed = bool(kwargs.pop("stream", False))  # the caller reads it itself (an event stream), bounded
            resp = self.session.request(method, url, stream=True, **kwargs)
            if not streamed:
                read_bounded(resp, MAX_ANSWER)
            if watch.expired:  # http.client takes a connection cut mid-headers for their end
                raise DeadlineExceeded()
            return resp
        except AnswerTooLarge:
            raise self.too_large(method, url) from None
        except DeadlineExceeded:
            raise self.too_slow(method, url, deadline) from None
        except FenceClosed:
            raise WriteFenced(f"{method} {path_of(url)} was not sent to {self.name}: the lock it was to be sent "
                              "under could no longer be proved held") from None
        except _RedirectRefused as exc:
            raise self.redirect_refused(exc.method, url, exc.why) from None
        except requests.exceptions.SSLError as exc:
            raise UnreachableError(tls_message(self.name, sanitize_url(url), exc, self.tls.ca_bundle,
                                               self.tls.source)) from None
        except requests.exceptions.RequestException as exc:
            if watch.expired:
                raise self.too_slow(method, url, deadline) from None
            if isinstance(exc, requests.exceptions.Timeout):
                raise UnreachableError(
                    f"{self.name} at {self.display_url} did not answer {method} {path_of(url)} "
                    f"within {kwargs['timeout']} s; check that it is up and reachable"
                ) from None
            raise UnreachableError(
                f"cannot reach {self.name} at {self.display_url} ({short_reason(exc)}); "
                "check the URL and that the service is up"
            ) from None
        finally:
            CURRENT.watch = None
            WATCHDOG.remove(watch)

    def read(self, path: str, *, headers: Mapping[str, str]) -> requests.Response:
        """``GET path`` (the registry's reads: directread.DirectReads answers the same call on its own sockets)."""
        return self.request("GET", path, headers=dict(headers))

    def too_slow(self, method: str, url: str, deadline: float) -> UnreachableError:
        return UnreachableError(
            f"{self.name} at {self.display_url} did not finish {method} {path_of(url)} within {deadline:g} s "
            "(the deadline of one request, retries included); check that it is up and not overloaded"
        )

    def redirect_refused(self, method: str, url: str, why: str) -> CredentialsRefused:
        return CredentialsRefused(f"refusing to follow a redirect of {method} {path_of(url)} from {self.name} "
                                  f"at {self.display_url} {why}")

    def too_large(self, method: str, url: str) -> UnreachableError:
        return UnreachableError(f"{self.name} at {self.display_url} answered {method} {path_of(url)} with more than "
                                f"{MAX_ANSWER // 2**20} MB; refusing to read more (check the URL, or a proxy in "
                                "front of it)")

    def close(self) -> None:
        self.session.close()


MAX_ANSWER = 128 * 2**20  # bytes: Marathon's /v2/apps for thousands of apps is a few MB
