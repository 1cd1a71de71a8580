"""One pooled requests session per API (session.py, loaded at its first use): timeouts, a total deadline, read
retries, explicit TLS and proxies.

Every request goes through :class:`Transport`, so no call can forget its timeout, its deadline,
its ``verify`` value or the origin rule for credentials (the registry's direct reads, directread.py,
take their deadline, TLS, bounds and messages from it, and give it everything else). The session does not read the
environment (``trust_env = False``): proxies are resolved once per origin from the proxy
variables, and ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are read by the settings as a CA bundle
setting of their own (docs/security.md, "TLS"; docs/performance.md for the CPU this saves).
"""

from __future__ import annotations

import os
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .errors import RollbackError, UnreachableError, UsageError, WriteFenced
from .http_answers import path_of, short_reason, tls_message
from .httprules import MAX_ANSWER as MAX_ANSWER, RETRY_AFTER_MAX as RETRY_AFTER_MAX, \
    RETRY_STATUSES as RETRY_STATUSES, USER_AGENT as USER_AGENT, origin as origin, \
    redirect_problem as redirect_problem, sanitize_url as sanitize_url, show_origin as show_origin

if TYPE_CHECKING:
    import requests


# read by requests for every origin (upper or lower case); a password in one is a secret (cli)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


class CredentialsRefused(RollbackError):
    """A request would carry credentials over a weaker scheme or to another origin (exit 1)."""


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
            if not any(name.lower().endswith("_proxy") for name in os.environ):
                found = {}  # what requests' lookup finds without a single proxy variable, without loading it
            else:
                from requests.utils import get_environ_proxies
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
        self._session = session
        self._pool_size = pool_size
        self._reads_elsewhere = reads_elsewhere
        self.proxies = Proxies()
        self.name = name
        if tls.insecure:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    @property
    def session(self) -> requests.Session:
        """requests' session, made at the first request that needs it (session.py)."""
        if self._session is None:
            from .session import make_session
            self._session = make_session(pool_size=self._pool_size, reads_elsewhere=self._reads_elsewhere)
        return self._session

    @property
    def reads_elsewhere(self) -> bool:
        return bool(getattr(self._session, "reads_elsewhere", self._reads_elsewhere))

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
        import requests  # with the session: loaded here, at the first request through it

        from .deadline import CURRENT, WATCHDOG, DeadlineExceeded, FenceClosed, Watch
        from .http_answers import AnswerTooLarge, read_bounded
        from .session import RedirectRefused

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
        except RedirectRefused as exc:
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
        if self._session is not None:
            self._session.close()

