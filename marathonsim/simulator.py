"""Simulator: a Marathon look-alike HTTP server on a background thread."""
from __future__ import annotations

import ssl
import threading
from typing import Any, Iterable, Mapping, Sequence

from .auth import Authenticator, BasicAuth, DcosAuth, DCOS_TOKEN_TTL, NoAuth
from .clock import Clock, system_clock
from .context import Context
from .faults import FaultRule
from .ids import canonical
from .knobs import ALL_APPS, Capacity, KnobTable, Knobs
from .replies import ApiError
from .server import SimServer
from .state import ImagePolicy, Store


class Simulator:
    """Start with start() (or `with`), point a client at .url, stop with stop()."""

    def __init__(
        self,
        apps: Iterable[Mapping[str, Any]] = (),
        *,
        deploy_seconds: float = 0.3,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: tuple[str, str] | None = None,
        dcos: bool = False,
        certfile: str | None = None,
        keyfile: str | None = None,
        unhealthy_images: Iterable[str] = (),
        invalid_images: Iterable[str] = (),
        failing_images: Iterable[str] = (),
        token_ttl: float = DCOS_TOKEN_TTL,
        realm: str = "Mesosphere",
        max_running_deployments: int = 100,
        max_versions: int = 50,
        gc_interval: float = 30.0,
        history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        capacity: Mapping[str, Any] | None = None,
        knobs: Mapping[str, Mapping[str, Any]] | None = None,
        clock: Clock | None = None,
        verbose: bool = False,
    ) -> None:
        if deploy_seconds < 0:
            raise ValueError(f"deploy_seconds must not be negative (found: {deploy_seconds})")
        if max_versions < 1 or max_running_deployments < 1:
            raise ValueError("max_versions and max_running_deployments must be at least 1")
        if (certfile is None) != (keyfile is None):
            raise ValueError("TLS needs both certfile and keyfile")
        self._clock = clock or system_clock
        policy = ImagePolicy(list(unhealthy_images), list(failing_images), list(invalid_images))
        store = Store(deploy_seconds=deploy_seconds, clock=self._clock, policy=policy,
                      max_running_deployments=max_running_deployments,
                      max_versions=max_versions, gc_interval=gc_interval,
                      capacity=Capacity.from_json(capacity) if capacity is not None else None,
                      knobs=KnobTable({k if k == ALL_APPS else canonical(k): v
                                       for k, v in (knobs or {}).items()}))
        try:
            store.load(apps, history)
        except ApiError as exc:
            raise ValueError(f"invalid app definition: {exc.body}") from None
        authenticator: Authenticator = NoAuth()
        if dcos:
            user, password = auth if auth else (None, None)
            authenticator = DcosAuth(self._clock, user, password, ttl=token_ttl)
        elif auth:
            authenticator = BasicAuth(auth[0], auth[1], realm)
        self._ctx = Context(store=store, auth=authenticator, dcos=dcos, verbose=verbose,
                            scheme="https" if certfile else "http")
        self._host, self._port = host, port
        self._tls = (certfile, keyfile) if certfile and keyfile else None
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Simulator":
        server = SimServer((self._host, self._port), self._ctx)
        if self._tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
            # The handshake runs in the request's thread: a silent client can't block accept.
            server.socket = context.wrap_socket(server.socket, server_side=True,
                                                do_handshake_on_connect=False)
        host, port = str(server.server_address[0]), int(server.server_address[1])
        self._ctx.leader = f"{host}:{port}"
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="marathonsim",
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; open event streams end."""
        self._ctx.store.events.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT (Marathon paths also answer under
        /service/marathon in DC/OS mode)."""
        if not self._ctx.leader:
            raise RuntimeError("the simulator is not started")
        return f"{self._ctx.scheme}://{self._ctx.leader}"

    @property
    def apps(self) -> dict[str, dict[str, Any]]:
        """Current apps as AppInfo (counts, deployments, tasks, lastTaskFailure), by id."""
        return self._ctx.store.snapshot()

    @property
    def deployments(self) -> list[dict[str, Any]]:
        return self._ctx.store.deployments()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Marathon requests received: method, path, query, json, body, headers (without
        Authorization and Cookie), time, fault."""
        return self._ctx.recorder.all()

    def reset_requests(self) -> None:
        self._ctx.recorder.clear()

    def set_fault(self, **rule: Any) -> None:
        """Replace all fault rules with this one (keys as in faults.FaultRule)."""
        self._ctx.faults.set([FaultRule.from_json(rule)])

    def add_fault(self, **rule: Any) -> None:
        self._ctx.faults.add(FaultRule.from_json(rule))

    def clear_faults(self) -> None:
        self._ctx.faults.set([])

    def set_images(self, *, unhealthy: Iterable[str] | None = None,
                   failing: Iterable[str] | None = None,
                   invalid: Iterable[str] | None = None) -> None:
        """Change image globs; only tasks launched afterwards are affected."""
        policy = self._ctx.store.policy
        with self._ctx.store.lock:
            if unhealthy is not None:
                policy.unhealthy = list(unhealthy)
            if failing is not None:
                policy.failing = list(failing)
            if invalid is not None:
                policy.invalid = list(invalid)

    def set_knobs(self, app_id: str = ALL_APPS, **knobs: Any) -> None:
        """Replace the knobs of one app (or of every app with "*"); tasks launched from
        now on follow them (keys as in knobs.Knobs, docs/simulator.md "Knobs")."""
        self._ctx.store.set_knobs(app_id, Knobs.from_json(knobs, f"knobs for {app_id}"))

    def set_capacity(self, capacity: Mapping[str, Any] | None) -> None:
        """Set the cluster's room ({"cpus", "mem", "agents"?, "offer_interval_seconds"?}),
        or None for unlimited; waiting instances take what now fits."""
        self._ctx.store.set_capacity(Capacity.from_json(capacity) if capacity is not None
                                     else None)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event so far (the newest 10,000), as GET /v2/events streams them."""
        self._ctx.store.poll()
        return self._ctx.store.events.all()

    @property
    def queue(self) -> list[dict[str, Any]]:
        """What GET /v2/queue answers."""
        entries: list[dict[str, Any]] = self._ctx.store.queue()["queue"]
        return entries

    def expire_tokens(self) -> None:
        """DC/OS mode: every issued token stops working (the next call gets 401)."""
        if self._ctx.dcos_auth is None:
            raise RuntimeError("expire_tokens needs dcos=True")
        self._ctx.dcos_auth.expire_all()
