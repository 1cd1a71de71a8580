"""The transport's session prepares the same request as requests' own preparation, only cheaper.

Its short path (no cookies, no ``auth``, no session params or hooks) must send the exact same
method, URL, headers and body; anything else must take requests' own path.
"""

from __future__ import annotations

import requests

from fleetrewind.session import make_session


def _both(request: requests.Request) -> tuple[requests.PreparedRequest, requests.PreparedRequest]:
    session = make_session()
    return session.prepare_request(request), requests.Session.prepare_request(session, request)


def _same(ours: requests.PreparedRequest, theirs: requests.PreparedRequest) -> None:
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    assert dict(ours.headers) == dict(theirs.headers)
    assert list(ours.headers) == list(theirs.headers)  # the order they go on the wire


def test_a_registry_read_is_prepared_as_requests_would() -> None:
    request = requests.Request("get", "https://registry.example:5000/v2/app/manifests/1-master",
                               headers={"Accept": "application/json", "Authorization": "Bearer t"},
                               params={"n": "1000", "last": None})
    ours, theirs = _both(request)
    _same(ours, theirs)
    assert ours.url == "https://registry.example:5000/v2/app/manifests/1-master?n=1000"
    assert ours.headers["User-Agent"].startswith("fleetrewind/")
    assert "Cookie" not in ours.headers


def test_a_none_header_removes_the_sessions_and_a_body_is_encoded_the_same() -> None:
    request = requests.Request("PUT", "http://marathon.example:8080/v2/apps/a?force=true",
                               headers={"User-Agent": None, "Content-Type": "application/json"},
                               data=b'{"id": "/a"}')
    ours, theirs = _both(request)
    _same(ours, theirs)
    assert "User-Agent" not in ours.headers


def test_credentials_in_the_url_still_become_basic_auth() -> None:
    ours, theirs = _both(requests.Request("GET", "http://user:pw@marathon.example:8080/v2/apps"))
    _same(ours, theirs)
    assert ours.headers["Authorization"].startswith("Basic ")


def test_cookies_and_auth_take_requests_own_path() -> None:
    session = make_session()
    session.cookies.set("route", "leader-1", domain="marathon.example", path="/")
    prepared = session.prepare_request(requests.Request("GET", "http://marathon.example/v2/apps",
                                                        auth=("user", "pw")))
    assert prepared.headers["Cookie"] == "route=leader-1"
    assert prepared.headers["Authorization"].startswith("Basic ")


def test_the_calls_proxies_verify_and_stream_are_kept() -> None:
    session = make_session()
    for args in (({"https": "http://proxy.example:3128"}, True, "/etc/ca.pem", None), ({}, None, False, None),
                 (None, False, True, ("c.pem", "k.pem"))):
        ours = session.merge_environment_settings("https://registry.example/v2/", *args)
        theirs = requests.Session.merge_environment_settings(session, "https://registry.example/v2/", *args)
        assert {k: dict(v) if k == "proxies" else v for k, v in ours.items()} == \
               {k: dict(v) if k == "proxies" else v for k, v in theirs.items()}
