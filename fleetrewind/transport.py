"""One pooled requests session per API, with timeouts, read retries and explicit TLS settings.

Every request goes through :class:`Transport`, so no call can forget its timeout or its
``verify`` value. ``verify`` is passed on each request because requests lets
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify`` (but not a per-request
path or ``False``).
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies
from urllib3.util.retry import Retry

from . import __version__
from .errors import UnreachableError

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = f"fleetrewind/{__version__}"


@dataclass(frozen=True, kw_only=True)
class TLS:
    """TLS choice for one endpoint: a CA bundle path, or verification off (``--insecure``)."""

    ca_bundle: str | None = None
    insecure: bool = False

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle or True


def sanitize_url(url: str) -> str:
    """Drop user:password from a URL so it can be shown or logged."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class _Session(requests.Session):
    """A requests Session that reads the environment's proxy settings once per scheme://host.

    requests scans every environment variable twice per request to find proxies (about a
    quarter of a millisecond each time: a fifth of the tool's CPU per request); the environment
    does not change while the tool runs. Everything else is requests' own logic, unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self._env_proxies: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc, no_proxy)
        env_proxies = self._env_proxies.get(key)
        if env_proxies is None:
            env_proxies = self._env_proxies[key] = get_environ_proxies(url, no_proxy=no_proxy)
        if proxies is not None:
            for name, value in env_proxies.items():
                proxies.setdefault(name, value)
        if verify is True or verify is None:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
        merge: Any = merge_setting  # requests leaves it untyped
        return {
            "proxies": merge(proxies, self.proxies),
            "stream": merge(stream, self.stream),
            "verify": merge(verify, self.verify),
            "cert": merge(cert, self.cert),
        }


def make_session(*, pool_size: int = 16, retries: int = 3, status_retries: int | None = None,
                 backoff: float = 0.1) -> requests.Session:
    """A session whose adapter retries reads (GET/HEAD) on 429/5xx and connection errors.

    Error statuses get twice as many retries as connection errors (default 6 and 3): with 3, a
    registry failing one request in five sank one ``get`` in ten (0.2**4 per request, ~60
    requests; issue 7), while a server that is gone is still given up on within a few seconds
    (backoff 0, 0.2, 0.4, 0.8, 1, 1 s). Writes are never retried on a status: a Marathon PUT
    that failed half-way must be looked at (deployments) before it is sent again.
    """
    status_retries = 2 * retries if status_retries is None else status_retries
    retry = Retry(
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
        raise_on_status=False,
    )
    session = _Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


class Transport:
    """Base URL + session + TLS + timeout: the only way the clients send requests."""

    def __init__(
        self,
        base_url: str,
        *,
        tls: TLS,
        timeout: float = 15.0,
        session: requests.Session | None = None,
        pool_size: int = 16,
        name: str = "server",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tls = tls
        self.timeout = timeout
        self.session = session or make_session(pool_size=pool_size)
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

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request; connection and TLS failures become :class:`UnreachableError`."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs["verify"] = self.tls.verify
        url = self.url(path)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise UnreachableError(
                f"TLS verification failed for {self.name} at {sanitize_url(url)}: "
                f"{_short_reason(exc)}; pass --ca-bundle=<file> for a private CA "
                "(or --insecure, not recommended)"
            ) from None
        except requests.exceptions.Timeout:
            raise UnreachableError(
                f"{self.name} at {self.display_url} did not answer {method} {_path_of(url)} "
                f"within {kwargs['timeout']} s; check that it is up and reachable"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.RetryError) as exc:
            raise UnreachableError(
                f"cannot reach {self.name} at {self.display_url} ({_short_reason(exc)}); "
                "check the URL and that the service is up"
            ) from None

    def close(self) -> None:
        self.session.close()


def _path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


_REASONS = (
    ("certificate verify failed", "certificate verify failed"),
    ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"),
    ("hostname", "certificate does not match the host name"),
    ("wrong version number", "TLS spoken to a plain-HTTP server"),
    ("refused", "connection refused"),
    ("Name or service not known", "unknown host"),
    ("ResponseError", "too many error responses"),
    ("timed out", "timed out"),
    ("reset", "connection reset"),
    ("RemoteDisconnected", "connection closed without an answer"),
    ("aborted", "connection aborted"),
)


def _short_reason(exc: BaseException) -> str:
    """A short cause without the URL (which may carry credentials) or nested reprs."""
    text = str(exc)
    for marker, reason in _REASONS:
        if marker in text:
            return reason
    return type(exc).__name__
