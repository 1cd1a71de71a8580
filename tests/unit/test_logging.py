"""Log lines carry their own level and pass the same redaction as every other line."""

from __future__ import annotations

import io
import logging

from fleetrewind.console import setup_logging


def test_a_warning_prints_as_a_warning_with_credentials_hidden() -> None:
    stderr = io.StringIO()
    setup_logging(verbose=False, stderr=stderr)
    log = logging.getLogger("fleetrewind.registry.cache")
    log.warning("could not write registry cache %s", "https://ci:s3cr3t-pw@registry.example.com/cache")
    log.debug("not shown without --verbose")
    assert stderr.getvalue() == ("warning: fleetrewind.registry.cache: could not write registry cache "
                                 "https://<hidden>@registry.example.com/cache\n")


def test_verbose_shows_debug_and_urllib3_through_the_same_redaction() -> None:
    stderr = io.StringIO()
    setup_logging(verbose=True, stderr=stderr)
    logging.getLogger("fleetrewind.marathon.client").debug("PUT %s was applied", "/ds/prod/api")
    logging.getLogger("urllib3.connectionpool").debug("GET https://ops:hunter2@marathon/v2/apps")
    assert stderr.getvalue().splitlines() == [
        "debug: fleetrewind.marathon.client: PUT /ds/prod/api was applied",
        "debug: urllib3.connectionpool: GET https://<hidden>@marathon/v2/apps",
    ]
