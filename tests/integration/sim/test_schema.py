"""Contract: what the simulator writes back is a valid App per Marathon's own schema.

The legacy JSON Schema (a copy in data/, see data/README.md; a loose helper per the
reference) has additionalProperties:false and predates `role`, so `role` is set aside.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import requests

from .conftest import MakeSim, docker_app, get_app

SCHEMA = Path(__file__).parent / "data" / "AppDefinition.json"


def test_definitions_match_the_app_schema(make_sim: MakeSim, http: requests.Session) -> None:
    """types/app.raml, AppVersionsResource.scala: /versions/{v} is the plain App definition, normalized."""
    schema = json.loads(SCHEMA.read_text())
    sim = make_sim([docker_app(), {"id": "/legacy", "cmd": "run", "uris": ["http://x/a"],
                                   "ports": [0], "healthChecks": [{"protocol": "TCP"}]},
                    {"id": "/mesos", "args": ["serve"], "container": {
                        "type": "MESOS", "docker": {"image": "x:1"}}}])
    for app_id in ("/shop/prod/api", "/legacy", "/mesos"):
        version = get_app(http, sim, app_id)["version"]
        definition = http.get(f"{sim.url}/v2/apps{app_id}/versions/{version}").json()
        definition.pop("role")
        jsonschema.Draft4Validator(schema).validate(definition)  # "$schema" is draft-04 style
