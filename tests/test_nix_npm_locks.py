"""The package-lock.json files Nix builds with importNpmLock name every tarball.

importNpmLock fetches each package from its lock entry's `resolved` URL and checks
its `integrity`, so a lock written with npm's `omit-lockfile-registry-resolved`
(as this machine's npm config does) cannot be built. The project folders carry
an .npmrc that turns that off.
"""

import json

import pytest

from support.workspaces import REPO_ROOT

LOCKS = [REPO_ROOT / "components" / "copilot" / "package-lock.json"]
WEB_LOCK = REPO_ROOT / "python" / "lorapilot" / "controlpilot" / "web" / "package-lock.json"
if WEB_LOCK.exists():
    LOCKS.append(WEB_LOCK)


@pytest.mark.parametrize("lock_path", LOCKS, ids=lambda p: p.parent.name)
def test_every_package_has_a_resolved_url_and_integrity(lock_path):
    lock = json.loads(lock_path.read_text())
    assert lock["lockfileVersion"] >= 2
    packages = {path: entry for path, entry in lock["packages"].items() if path and not entry.get("link")}
    assert packages
    for path, entry in packages.items():
        assert entry.get("resolved", "").startswith("https://registry.npmjs.org/"), (
            f"{lock_path}: {path} has no resolved URL"
        )
        assert entry.get("integrity", "").startswith("sha512-"), f"{lock_path}: {path} has no integrity"
    npmrc = lock_path.parent / ".npmrc"
    assert "omit-lockfile-registry-resolved=false" in npmrc.read_text()
