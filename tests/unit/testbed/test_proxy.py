"""RegistryProxy's pure part: how it classifies requests (the proxy itself is tested in
tests/integration/testbed/test_proxy.py)."""

from __future__ import annotations

from testbed.canned import classify


def test_classify() -> None:
    assert classify("/v2/ds/api/tags/list?n=2") == "tags"
    assert classify("/v2/ds/api/manifests/sha256:abc") == "manifests"
    assert classify("/v2/ds/api/blobs/uploads/x?_state=1") == "blobs"
    assert classify("/v2/_catalog") == "other"
    assert classify("/v2/") == "other"
