"""The lock is the install: pyproject.toml and uv.lock must agree, or make says what to do."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".uv" / "bin" / "uv"


def _check_lock(directory: Path) -> subprocess.CompletedProcess[str]:
    # `-o .uv/bin/uv`: use the uv already installed (the copy links to it), never reinstall it.
    return subprocess.run(
        ["make", "-s", "-o", ".uv/bin/uv", "check-lock"], cwd=directory, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    assert UV.exists(), "make installs uv into .uv/ before the suite runs"
    for name in ("Makefile", "pyproject.toml", "uv.lock", "requirements-uv.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".uv").symlink_to(ROOT / ".uv")
    return tmp_path


def test_the_committed_lock_matches_pyproject(copy: Path) -> None:
    result = _check_lock(copy)
    assert result.returncode == 0, result.stderr


def test_a_dependency_added_without_make_lock_is_refused_saying_so(copy: Path) -> None:
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('dependencies = [\n', 'dependencies = [\n  "six>=1.16",\n', 1))
    result = _check_lock(copy)
    assert result.returncode != 0
    assert "run 'make lock'" in result.stderr


def test_every_locked_package_has_hashes() -> None:
    import tomllib

    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    unhashed = [
        p["name"]
        for p in lock["package"]
        if "source" in p and "registry" in p["source"]
        and not all("hash" in f for f in [*p.get("wheels", []), *([p["sdist"]] if "sdist" in p else [])])
    ]
    assert not unhashed
    # uv itself: one pinned requirement, each of its files by hash (pip runs with --require-hashes).
    requirements = (ROOT / "requirements-uv.txt").read_text()
    assert "uv==" in requirements and "--hash=sha256:" in requirements
