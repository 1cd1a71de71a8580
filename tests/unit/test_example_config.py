"""examples/rollback.yaml: the file users copy. It names every config key and loads as it is, and
with its commented defaults switched on."""

from __future__ import annotations

import re
from pathlib import Path

from fleetrewind.config_file import KEYS, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rollback.yaml"


def test_the_example_names_every_config_key() -> None:
    named = set(re.findall(r"^(?:# )?([a-z_]+):", EXAMPLE.read_text(), re.MULTILINE))
    assert set(KEYS) - named == set()


def test_the_example_loads_as_it_is_and_with_its_defaults_uncommented(tmp_path: Path) -> None:
    assert load_config(str(EXAMPLE)).text("registry") == "https://registry.example.com"
    uncommented = tmp_path / "rollback.yaml"
    uncommented.write_text(re.sub(r"^# (?=[a-z_]+:)", "", EXAMPLE.read_text(), flags=re.MULTILINE))
    loaded = load_config(str(uncommented)).values
    assert set(loaded) == set(KEYS)
    assert (loaded["state"], loaded["zk_session_timeout"], loaded["min_soak"], loaded["max_versions"],
            loaded["max_tags"]) == ("file", 10, 600, 200, 2000)
