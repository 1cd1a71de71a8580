"""Deploy's extra verification: an HTTP URL per service that must answer 2xx within a grace period."""

from __future__ import annotations

import threading
import time
from typing import Mapping

from ..errors import RollbackError
from ..model.plan import Step
from ..session import make_session
from ..transport import TLS, Transport, sanitize_url


class HealthUrlChecker:
    def __init__(self, urls: Mapping[str, str], *, grace: float, tls: TLS, stop: threading.Event,
                 interval: float = 0.5) -> None:
        self.urls = dict(urls)
        self.grace = grace
        self.tls = tls
        self.stop = stop
        self.interval = interval
        timeout = min(5.0, max(0.5, grace))
        # Absolute URLs, no credentials: the Transport brings the deadline, proxies and verify.
        self.transport = Transport("", tls=tls, session=make_session(retries=0), timeout=timeout,
                                   deadline=timeout, name="health URL")

    def __call__(self, step: Step) -> str | None:
        """None when the service's URL answered 2xx in time (or it has none), else what went wrong."""
        url = self.urls.get(step.service)
        if not url:
            return None
        deadline = time.monotonic() + self.grace
        last = "no answer"
        while True:
            try:
                resp = self.transport.request("GET", url, allow_redirects=False)
                if 200 <= resp.status_code < 300:
                    return None
                last = f"HTTP {resp.status_code}"
            except RollbackError as err:
                last = str(err)  # already without credentials
            if time.monotonic() >= deadline or self.stop.is_set():
                return f"health URL {sanitize_url(url)} did not answer 2xx within {self.grace:.0f}s (last: {last})"
            self.stop.wait(self.interval)
