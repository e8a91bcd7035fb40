"""docs/configuration.md and docs/cli.md are generated (scripts/gen-docs): fail while either is stale,
so a new setting or a changed --help reaches the docs in the same change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lorapilot.stack.settings import SETTINGS_TEMPLATE

ROOT = Path(__file__).resolve().parents[1]


def test_generated_docs_are_current():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-docs"), "--check"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr + "\n(run scripts/gen-docs and commit the result)"


def test_the_settings_template_points_to_an_existing_page():
    pointers = [word.strip("().,") for word in SETTINGS_TEMPLATE.split() if word.strip("().,").endswith(".md")]
    assert pointers, "the template names no documentation page"
    for page in pointers:
        assert (ROOT / page).is_file(), page
    config = (ROOT / "docs" / "configuration.md").read_text()
    for key in ("`host`", "## `trainpilot`", "`webhook_url`", "## `tagpilot.vlm`"):
        assert key in config, key
