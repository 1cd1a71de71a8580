"""Marathon client (REST API v2): the only code that talks to Marathon.

One method per endpoint, in domain terms. Writes are never retried blindly: a PUT that times
out is followed by a look at the app and its deployments (docs/marathon-facts.md, "Deployments").
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Callable, Iterator, Mapping

import requests

from ..errors import AuthError, MarathonBusy, MarathonError, MarathonLocked, MarathonRejected, UnreachableError
from ..secret import Secret
from .authmode import AuthMode
from .answers import app_ids_of, check_app, error_message
from .events import Event, StreamBound, parse_events
from ..transport import Transport
from .appdef import AppDef, Doc, deployment_ids, image_of, image_update_body
from ..inputs import loads

Fence = Callable[[], bool]  # may a change still be sent? (the lock's proof, asked as the request is written)

log = logging.getLogger(__name__)

# Marathon's 403 at its deployment cap (``TooManyRunningDeploymentsException`` in Marathon's
# src/main/scala/mesosphere/marathon/Exception.scala); the cap is published nowhere else.
CAP_MESSAGE = re.compile(r"Max number \((\d+)\) of running deployments")


def deployment_cap(message: str) -> int | None:
    """The N of "Max number (N) of running deployments is achieved", or None for any other text."""
    found = CAP_MESSAGE.search(message)
    return int(found.group(1)) if found else None

def _message(resp: requests.Response) -> str:
    try:
        body = loads(resp.content)
    except ValueError:
        return resp.text[:200].strip() or f"HTTP {resp.status_code}"
    return error_message(body, resp.status_code)


def _basic_auth(user: str, password: str) -> tuple[str | bytes, str | bytes]:
    """requests encodes Basic credentials as Latin-1 and fails on anything else; RFC 7617 allows UTF-8."""
    try:
        f"{user}:{password}".encode("latin-1")
        return user, password
    except UnicodeEncodeError:
        return user.encode("utf-8"), password.encode("utf-8")


class MarathonClient:
    def __init__(self, transport: Transport, *, user: str | None = None, password: Secret | None = None,
                 auth_mode: AuthMode = AuthMode.BASIC) -> None:
        self.transport = transport
        self.user = user
        self.password = password
        self.auth_mode = auth_mode
        self._token: str | None = None
        self._lock = threading.Lock()
        self._events_given_up = threading.Event()  # a stream went past a bound: poll from then on

    # -- auth and low level ------------------------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        if self.auth_mode == AuthMode.DCOS:
            with self._lock:
                if self._token is None:
                    self._token = self._login()
                return {"Authorization": f"token={self._token}"}
        return {}

    def _login(self) -> str:
        if not self.user or not self.password:
            raise AuthError("DC/OS login needs a user and password: set --user and MARATHON_PASSWORD (or --pwd-file)")
        resp = self.transport.request("POST", "/acs/api/v1/auth/login",
                                      json={"uid": self.user, "password": self.password.reveal()})
        if resp.status_code in (401, 403):
            raise AuthError(f"DC/OS refused the login of user {self.user!r} (HTTP {resp.status_code}); "
                            "check --user and MARATHON_PASSWORD")
        try:
            token = loads(resp.content)["token"]
        except (ValueError, KeyError, TypeError):
            raise UnreachableError(f"DC/OS login at {self.transport.display_url} answered HTTP "
                                   f"{resp.status_code} without a token") from None
        return str(token)

    def _call(self, method: str, path: str, *, params: Mapping[str, str | list[str]] | None = None,
              json: Doc | None = None, timeout: float | None = None,
              stream: bool = False, accept: str | None = None, fence: Fence | None = None) -> requests.Response:
        options: Doc = {"params": params, "json": json, "fence": fence}
        if timeout:
            options["timeout"] = timeout
        if stream:
            options["stream"] = True
        if self.auth_mode == AuthMode.BASIC and self.user and self.password:
            options["auth"] = _basic_auth(self.user, self.password.reveal())
        for attempt in (1, 2):
            headers = self._auth_headers() | ({"Accept": accept} if accept else {})
            resp = self.transport.request(method, path, headers=headers, **options)
            if resp.status_code == 401 and self.auth_mode == AuthMode.DCOS and attempt == 1:
                with self._lock:  # the token expired: log in again, once
                    self._token = None
                continue
            break
        if resp.status_code == 401:
            hint = "set --user and --pwd (or MARATHON_USER/MARATHON_PASSWORD)" if not self.password else \
                "check --user and the password"
            raise AuthError(f"Marathon at {self.transport.display_url} refused the credentials (HTTP 401); {hint}")
        if resp.status_code == 403:
            message = _message(resp)
            cap = deployment_cap(message)
            if cap is not None:
                raise MarathonBusy(f"Marathon runs as many deployments as it admits ({cap}); "
                                   f"waiting for one to finish ({method} {path})", cap=cap)
            raise AuthError(f"Marathon denied {method} {path} (HTTP 403): {message}; "
                            "the user needs permission on these apps")
        return resp

    def _json(self, resp: requests.Response, what: str) -> object:
        if resp.status_code >= 500:
            raise UnreachableError(f"Marathon at {self.transport.display_url} failed on {what} "
                                   f"(HTTP {resp.status_code}) after retries; try again when it is healthy")
        if resp.status_code != 200:
            raise MarathonError(f"Marathon answered HTTP {resp.status_code} to {what}: {_message(resp)}",
                                status=resp.status_code)
        try:
            return loads(resp.content)
        except ValueError:
            raise MarathonError(f"Marathon sent a non-JSON answer to {what}") from None

    # -- reads -------------------------------------------------------------------------------
    def ping(self) -> None:
        self.info()

    def info(self) -> Doc:
        """``GET /v2/info``: Marathon's version and its configuration (``zk_max_versions``)."""
        body = self._json(self._call("GET", "/v2/info"), "GET /v2/info")
        return body if isinstance(body, dict) else {}

    def list_app_ids(self) -> list[str]:
        return app_ids_of(self._json(self._call("GET", "/v2/apps"), "GET /v2/apps"))

    def apps_with_tasks(self) -> list[AppDef]:
        """Every app with its tasks and ``lastTaskFailure``, in one read (``GET /v2/apps`` with embeds): what a
        ``get`` observes (docs/how-it-works.md, "Three witnesses"). An entry that is no app is left out."""
        what = "GET /v2/apps"
        body = self._json(self._call("GET", "/v2/apps", params={"embed": ["apps.tasks", "apps.lastTaskFailure"]}),
                          what)
        apps = body.get("apps") if isinstance(body, dict) else None
        if not isinstance(apps, list):
            raise MarathonError(f"Marathon's answer to {what} has no list of apps")
        found: list[AppDef] = []
        for app in apps:
            try:
                found.append(check_app(app, str(app.get("id")) if isinstance(app, dict) else "?"))
            except MarathonError:
                continue
        return found

    def get_app(self, app_id: str, *, timeout: float | None = None) -> AppDef:
        resp = self._call("GET", f"/v2/apps{app_id}", params={"embed": ["app.tasks", "app.deployments",
                                                                          "app.lastTaskFailure"]}, timeout=timeout)
        if resp.status_code == 404:
            raise MarathonError(f"Marathon app {app_id} does not exist", status=404)
        body = self._json(resp, f"GET /v2/apps{app_id}")
        return check_app(body.get("app") if isinstance(body, dict) else None, app_id)

    def deployments(self) -> list[Doc]:
        body = self._json(self._call("GET", "/v2/deployments"), "GET /v2/deployments")
        return [d for d in body if isinstance(d, dict)] if isinstance(body, list) else []

    def queue(self) -> list[Doc] | None:
        """The launch queue's entries (``GET /v2/queue``), or None when this Marathon does not serve it."""
        resp = self._call("GET", "/v2/queue")
        if resp.status_code in (404, 405, 501):
            return None
        body = self._json(resp, "GET /v2/queue")
        entries = body.get("queue") if isinstance(body, dict) else None
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    def app_versions(self, app_id: str, *, timeout: float | None = None) -> list[str]:
        """``GET /v2/apps/{id}/versions``: every stored version, in no promised order."""
        what = f"GET /v2/apps{app_id}/versions"
        body = self._json(self._call("GET", f"/v2/apps{app_id}/versions", timeout=timeout), what)
        versions = body.get("versions") if isinstance(body, dict) else None
        if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
            raise MarathonError(f"Marathon's answer to {what} has no list of versions")
        return list(versions)

    def app_version(self, app_id: str, version: str, *, timeout: float | None = None) -> AppDef:
        """``GET /v2/apps/{id}/versions/{version}``: the definition as it was stored then."""
        what = f"GET /v2/apps{app_id}/versions/{version}"
        body = self._json(self._call("GET", f"/v2/apps{app_id}/versions/{version}", timeout=timeout), what)
        if not isinstance(body, dict) or "id" not in body:
            raise MarathonError(f"Marathon's answer to {what} is not an app definition")
        return body

    def events(self, event_types: tuple[str, ...], *, read_timeout: float) -> EventStream:
        """Open Marathon's event stream, filtered by type; MarathonError when this Marathon does not stream
        or once a stream of this client went past a bound (its warning was given then)."""
        if self._events_given_up.is_set():
            raise MarathonError("Marathon's event stream was given up earlier in this run")
        resp = self._call("GET", "/v2/events", params={"event_type": list(event_types)}, stream=True,
                          accept="text/event-stream", timeout=read_timeout)
        if resp.status_code != 200 or "text/event-stream" not in resp.headers.get("Content-Type", ""):
            resp.close()
            raise MarathonError(f"Marathon does not stream events (GET /v2/events: HTTP {resp.status_code})",
                                status=resp.status_code)
        return EventStream(resp, self._events_given_up)

    # -- writes ------------------------------------------------------------------------------
    def restore_version(self, app_id: str, version: str, *, image: str | None, force: bool = False,
                        fence: Fence | None = None) -> str:
        """Deploy a stored definition again (``{"version": ts}``, a new version); return the deployment id.

        ``image`` is the stored definition's image, to recognise a write whose answer was lost.
        """
        params = {"force": "true"} if force else None
        return self._put(app_id, {"version": version}, params, image, fence)

    def update_image(self, app: AppDef, image: str, *, force: bool = False, fence: Fence | None = None) -> str:
        """Change one app's image; return the deployment id. Never sends ``version``.

        ``fence``: asked as the PUT is written; False, and it is not sent (WriteFenced)."""
        app_id = str(app["id"])
        body = image_update_body(app, image)
        params = {"force": "true"} if force else None
        return self._put(app_id, body, params, image, fence)

    def _put(self, app_id: str, body: Doc, params: dict[str, str] | None, image: str | None,
             fence: Fence | None) -> str:
        try:
            resp = self._call("PUT", f"/v2/apps{app_id}", json=body, params=params, fence=fence)
        except UnreachableError:
            # The PUT may have reached Marathon before the connection broke: look before resending.
            found = self._deployment_after_lost_write(app_id, image) if image else None
            if found:
                return found
            raise
        if resp.status_code == 409:
            ids = deployment_ids(_safe_json(resp))
            raise MarathonLocked(f"a deployment is already running for {app_id} ({', '.join(ids) or '?'}); "
                                 "wait for it, or use --force", status=409)
        if resp.status_code == 422 or resp.status_code == 400:
            raise MarathonRejected(f"Marathon rejected the new definition of {app_id}: {_message(resp)}",
                                   status=resp.status_code)
        if resp.status_code == 404 and "version" in body:
            raise MarathonRejected(f"Marathon no longer holds version {body['version']} of {app_id}: {_message(resp)}",
                                   status=404)
        if resp.status_code >= 500:
            found = self._deployment_after_lost_write(app_id, image) if image else None
            if found:
                return found
            raise UnreachableError(f"Marathon failed on PUT {app_id} (HTTP {resp.status_code}); "
                                   "nothing was changed for it; try again when Marathon is healthy")
        if resp.status_code not in (200, 201):
            raise MarathonError(f"Marathon answered HTTP {resp.status_code} to PUT {app_id}: {_message(resp)}",
                                status=resp.status_code)
        dep_id = _safe_json(resp).get("deploymentId") or resp.headers.get("Marathon-Deployment-Id")
        return str(dep_id or "")

    def _deployment_after_lost_write(self, app_id: str, image: str) -> str | None:
        try:
            app = self.get_app(app_id)
        except (UnreachableError, MarathonError):
            return None
        if image_of(app) != image:
            return None
        deps = deployment_ids(app)
        log.debug("PUT %s was applied despite a lost answer", app_id)
        return deps[0] if deps else ""


class EventsGivenUp(UnreachableError):
    """The event stream went past a bound; this client does not open it again (the run polls)."""


class EventStream:
    """An open ``GET /v2/events``: iterate for its events (in one thread, which also closes it)."""

    def __init__(self, resp: requests.Response, given_up: threading.Event | None = None) -> None:
        self._resp = resp
        self._given_up = given_up or threading.Event()

    def __iter__(self) -> Iterator[Event]:
        try:
            yield from parse_events(_lines(self._resp.iter_content(2**14, decode_unicode=True)))
        except StreamBound as exc:
            self._given_up.set()
            raise EventsGivenUp(f"Marathon's event stream {exc}; following /v2/deployments instead") from None
        except (requests.exceptions.RequestException, AttributeError, ValueError) as exc:
            # AttributeError/ValueError: urllib3 reading a response another thread closed
            raise UnreachableError(f"Marathon's event stream broke ({exc.__class__.__name__})") from None
        finally:
            self._resp.close()


MAX_EVENT_LINE = 2**20  # characters: Marathon's events are a few KB; a line that never ends is refused


def _lines(chunks: Iterator[str]) -> Iterator[str]:
    """The stream's lines, none longer than MAX_EVENT_LINE (requests' iter_lines keeps an endless line whole)."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        *done, pending = pending.split("\n")
        for line in done:
            yield line.removesuffix("\r")
        if len(pending) > MAX_EVENT_LINE:
            raise StreamBound(f"sent a line of more than {MAX_EVENT_LINE} characters")
    if pending:
        yield pending


def _safe_json(resp: requests.Response) -> Doc:
    try:
        body = loads(resp.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
