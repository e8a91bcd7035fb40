"""The web UI's TypeScript types come from the API's schema, and the checked-in copies are current.

``src/api/openapi.json`` is what ``scripts/dump-openapi`` writes from the pydantic response models, and
``src/api/schema.ts`` is what openapi-typescript (``npm run gen:types``, run by ``npm run build``) makes
of it. A response model changed without regenerating both fails here, naming the command to run.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from lorapilot.controlpilot.openapi_schema import SCHEMA_FILE, WEB_API_DIR, api_schema, main, schema_text

WEB_DIR = WEB_API_DIR.parent.parent
GENERATOR = WEB_DIR / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
TYPES_FILE = WEB_API_DIR / "schema.ts"


def test_the_checked_in_schema_is_what_the_app_declares_now():
    current = schema_text(api_schema())
    assert SCHEMA_FILE.read_text(encoding="utf-8") == current, (
        f"{SCHEMA_FILE} is stale: run scripts/dump-openapi, then `npm run gen:types` in {WEB_DIR}"
    )
    assert main(["--check"]) == 0


def test_the_schema_names_each_tool_under_its_url_and_no_anonymous_json():
    schema = api_schema()
    paths = schema["paths"]
    for prefix in ("/api/models", "/api/tagpilot/", "/api/trainpilot/", "/api/mediapilot/", "/api/copilot/"):
        assert any(p.startswith(prefix) for p in paths), prefix
    names = list(schema["components"]["schemas"])
    assert not [n for n in names if "__" in n], "two models share a name: give each a unique class name"


def test_dump_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    assert main([str(stale), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert main([str(stale)]) == 0 and main([str(stale), "--check"]) == 0  # written, then current


@pytest.mark.skipif(
    shutil.which("node") is None or not GENERATOR.is_file(),
    reason=f"needs node and `npm ci` in {WEB_DIR} (./scripts/check does both)",
)
def test_the_checked_in_typescript_types_are_generated_from_the_current_schema(tmp_path):
    schema = tmp_path / "openapi.json"
    schema.write_text(schema_text(api_schema()), encoding="utf-8")
    out = tmp_path / "schema.ts"
    run = subprocess.run(
        ["node", str(GENERATOR), str(schema), "--output", str(out)],
        cwd=WEB_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert TYPES_FILE.read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        f"{TYPES_FILE} is stale: run scripts/dump-openapi, then `npm run gen:types` in {WEB_DIR}"
    )
