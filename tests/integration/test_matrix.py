"""The HTML release matrix as a person sees it: rendered by headless Chromium (cells and escaping
are in tests/unit/test_matrix.py)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from fleetrewind.report.matrix import write_matrix
from tests.unit.test_matrix import _index, _parse


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: run `make system-deps` (or apt-get install chromium)")
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={tmp_path / 'chromium-profile'}",
               *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def screenshot(html: Path, png: Path, profile: Path, *, width: int = 1280, height: int = 800) -> None:
    run_chromium(profile, f"--window-size={width},{height}", f"--screenshot={png.resolve()}", html.resolve().as_uri())


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        if data[pos + 4:pos + 8] == b"IDAT":
            chunks.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


@pytest.mark.slow
def test_chromium_renders_the_matrix(tmp_path: Path) -> None:
    html = write_matrix(tmp_path, _index(), date="2026-11-19")
    png = tmp_path / "matrix.png"
    screenshot(html, png, tmp_path)
    width, height, pixels = _png_pixels(png.read_bytes())
    assert (width, height) == (1280, 800)
    assert png.stat().st_size > 10_000
    assert len(set(pixels)) > 30, "the screenshot is (nearly) blank"

    dom = run_chromium(tmp_path, "--dump-dom", html.resolve().as_uri()).stdout
    page = _parse(dom)
    assert page.columns == ["api", "web", "auth", "batch"]
    assert page.cells[("2026-11-19", "api")] == ({"rel", "target"}, "512-master+2")
    assert page.cells[("2026-11-19", "auth")] == ({"fill"}, "← 40-master (from 2026-11-17)")
    assert page.cells[("2026-11-19", "batch")] == ({"asis"}, "left as is")
    assert page.cells[("2026-11-17", "auth")] == ({"rel", "target"}, "40-master")
