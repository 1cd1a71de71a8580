"""A sample fleet of images, pushed from a compact spec; used by tests, the demo and benchmarks.

A spec maps a repository to releases: ``(tag, created)``, ``(tag, created, kind)`` or
``(tag, created, {push_image keyword: value, ...})``.  Releases are pushed in the order given.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

import requests

from testbed.images import ImagePusher

Release = Union[tuple[str, str], tuple[str, str, str], tuple[str, str, Mapping[str, Any]]]
FleetSpec = Mapping[str, Sequence[Release]]

# auth's releases are Docker manifest lists whose linux/arm64 child comes first and is built a
# day later: only the linux/amd64 child's date counts.
_AUTH_LIST = {"kind": "list", "platforms": ("linux/arm64", "linux/amd64")}


def _auth(tag: str, created: str, arm64_created: str) -> Release:
    return (tag, created, {**_AUTH_LIST, "platform_created": {"linux/arm64": arm64_created}})


#: Four services, master releases 2026-11-15..2026-11-20 (UTC).
#:
#: - api (Docker schema 2): three master releases on 2026-11-18; ``hotfix-master`` on 11-19;
#:   ``develop`` newer than every master; ``latest`` is the same image as ``515-master``
#:   (same digest); one ``created`` carries nanoseconds.
#: - worker (OCI manifests): NO release on 2026-11-19, so 11-19 back-fills from 11-18.
#: - auth (Docker manifest lists, arm64 child first, dated a day after amd64).
#: - web (OCI indexes; its oldest release is a signed schema 1 manifest whose newest
#:   history entry is not the first); a release at 23:59:59.999999999 on 11-19.
SAMPLE_FLEET: dict[str, list[Release]] = {
    "api": [
        ("500-master", "2026-11-15T08:12:00Z"),
        ("503-master", "2026-11-16T10:30:00Z"),
        ("506-master", "2026-11-17T09:00:00Z"),
        ("508-master", "2026-11-18T08:05:00Z"),
        ("509-master", "2026-11-18T12:41:17.123456789Z"),
        ("510-master", "2026-11-18T17:59:00Z"),
        ("hotfix-master", "2026-11-19T03:14:00Z"),
        ("512-master", "2026-11-19T11:00:00Z"),
        ("515-master", "2026-11-20T09:30:00Z"),
        ("develop", "2026-11-20T15:00:00Z"),
        ("latest", "2026-11-20T09:30:00Z"),
    ],
    "worker": [
        ("200-master", "2026-11-15T07:00:00Z", "oci"),
        ("201-master", "2026-11-16T16:20:00Z", "oci"),
        ("204-master", "2026-11-17T10:10:00Z", "oci"),
        ("207-master", "2026-11-18T14:45:00Z", "oci"),
        ("210-master", "2026-11-20T08:00:00Z", "oci"),
        ("develop", "2026-11-19T12:00:00Z", "oci"),
    ],
    "auth": [
        _auth("400-master", "2026-11-15T11:00:00Z", "2026-11-16T11:00:00Z"),
        _auth("402-master", "2026-11-17T13:30:00Z", "2026-11-18T13:30:00Z"),
        _auth("405-master", "2026-11-19T09:15:00Z", "2026-11-20T09:15:00Z"),
        _auth("406-master", "2026-11-20T10:00:00Z", "2026-11-21T10:00:00Z"),
        ("latest", "2026-11-20T10:00:00Z", "docker2"),
    ],
    "web": [
        ("300-master", "2026-11-15T09:45:00Z", "schema1"),
        ("301-master", "2026-11-16T09:45:00Z", "index"),
        ("303-master", "2026-11-17T18:00:00Z", "index"),
        ("305-master", "2026-11-18T07:30:00Z", "index"),
        ("306-master", "2026-11-19T23:59:59.999999999Z", "index"),
        ("308-master", "2026-11-20T06:00:00Z", "index"),
    ],
}


def populate(
    base_url: str,
    spec: FleetSpec = SAMPLE_FLEET,
    *,
    prefix: str = "",
    auth: tuple[str, str] | None = None,
    verify: str | bool = True,
    session: requests.Session | None = None,
    pusher: ImagePusher | None = None,
) -> dict[str, dict[str, str]]:
    """Push every release in ``spec``; return {repository: {tag: digest}}.

    ``prefix`` is put before each repository name (e.g. ``unique_repo + "/"`` or ``"ds/"``).
    """
    pusher = pusher or ImagePusher(base_url, auth=auth, verify=verify, session=session)
    pushed: dict[str, dict[str, str]] = {}
    for name, releases in spec.items():
        repo = prefix + name
        digests = pushed.setdefault(repo, {})
        for release in releases:
            if len(release) not in (2, 3):
                raise ValueError(
                    f"a release is (tag, created[, kind or options]) (found: {release!r} in {name})"
                )
            tag, created = release[0], release[1]
            options: dict[str, Any] = {}
            if len(release) == 3:
                extra = release[2]  # type: ignore[misc]
                options = {"kind": extra} if isinstance(extra, str) else dict(extra)
            digests[tag] = pusher.push_image(repo, tag, created, **options)
    return pushed
