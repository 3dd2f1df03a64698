"""axe-core in the browser: the pinned script from the npm registry, and the check the tests run.

The script is fetched once (``python -m tests.browser.axe``, which ``make test`` runs) into the
virtualenv and verified against the registry's published sha512, so a changed or truncated download
never runs. The tests fail, never skip, when it is missing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
#: The registry's ``dist.integrity`` for axe-core-4.14.1.tgz.
AXE_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
#: axe.min.js as unpacked from that tarball: checked again before every run, so a stale or
#: edited copy in the virtualenv is replaced rather than trusted.
AXE_SCRIPT_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
#: Beside the installed packages: rebuilt with the virtualenv, untouched by ``make clean``.
AXE_SCRIPT = Path(sys.prefix) / "share" / f"axe-core-{AXE_VERSION}" / "axe.min.js"

#: Violations that fail a page. Moderate and minor ones are reported by axe but do not block.
BLOCKING = ("serious", "critical")


def _verified(tarball: bytes) -> bytes:
    algorithm, _, expected = AXE_INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if actual != expected:
        raise RuntimeError(f"axe-core {AXE_VERSION}: checksum mismatch ({algorithm} {actual}, expected {expected})")
    return tarball


def _intact(path: Path) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == AXE_SCRIPT_SHA256


def install(target: Path = AXE_SCRIPT) -> Path:
    """Download, verify and unpack axe.min.js unless an intact copy is already there."""
    if _intact(target):
        return target
    with urllib.request.urlopen(AXE_TARBALL, timeout=60) as response:
        tarball = _verified(response.read())
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise RuntimeError(f"axe-core {AXE_VERSION}: package/axe.min.js not in the tarball")
        script = member.read()
    if hashlib.sha256(script).hexdigest() != AXE_SCRIPT_SHA256:
        raise RuntimeError(f"axe-core {AXE_VERSION}: axe.min.js in the tarball is not the pinned file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(script)
    partial.replace(target)
    return target


def script() -> str:
    if not _intact(AXE_SCRIPT):
        raise RuntimeError(
            f"axe-core {AXE_VERSION} is missing or altered at {AXE_SCRIPT}: run `make test` or `.venv/bin/python -m tests.browser.axe`"
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').strip()}")
    return "\n".join(lines)


async def violations(page: Any, source: str) -> list[dict[str, Any]]:
    """Every violation axe finds on the page as it is now (WCAG 2.x A/AA and best practice).

    Evaluated through the DevTools protocol rather than a <script> tag, so the portal's
    Content-Security-Policy (no inline script) does not have to be loosened for the test.
    """
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(source)
    return list(await page.evaluate(_RUN))


#: axe's full result is large (every node's HTML and checks); only what a failure message needs
#: crosses back to Python, which otherwise spends seconds validating the protocol messages.
_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', values:
    ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.slice(0, 10).map(n => ({target: n.target.map(String), failureSummary: n.failureSummary || ''}))}));
}"""


def blocking(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in found if v.get("impact") in BLOCKING]


async def check(page: Any, source: str, label: str = "") -> list[dict[str, Any]]:
    """Fail on any serious or critical violation, naming the rule, its help and the nodes."""
    found = await violations(page, source)
    failing = blocking(found)
    assert not failing, f"axe: serious/critical violations on {label or page.url}:\n{describe(failing)}"
    return found


if __name__ == "__main__":
    print(f"axe-core {AXE_VERSION}: {install()}")
