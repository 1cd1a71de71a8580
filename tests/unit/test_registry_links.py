"""A tag page pointing to another host never receives the registry's credentials."""

from __future__ import annotations

import pytest
import responses

from fleetrewind.errors import RegistryError
from fleetrewind.registry.client import RegistryClient
from fleetrewind.secret import Secret
from fleetrewind.registry.auth import RegistryCredentials
from fleetrewind.transport import TLS, Transport


@responses.activate
def test_next_page_on_another_host_is_refused() -> None:
    responses.get("https://reg.example.com/v2/api/tags/list", json={"name": "api", "tags": ["1-master"]},
                  headers={"Link": '<https://evil.example.net/v2/api/tags/list?last=1-master>; rel="next"'})
    evil = responses.get("https://evil.example.net/v2/api/tags/list", json={"tags": []})
    client = RegistryClient(Transport("https://reg.example.com", tls=TLS()),
                            credentials=RegistryCredentials(user="ci", password=Secret("pw")))
    with pytest.raises(RegistryError, match="another origin https://evil.example.net:443"):
        client.list_tags("api")
    assert evil.call_count == 0
