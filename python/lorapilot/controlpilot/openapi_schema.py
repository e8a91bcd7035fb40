"""ControlPilot's OpenAPI schema as a file: what the web UI's TypeScript types are generated from.

``python -m lorapilot.controlpilot.openapi_schema`` (or ``scripts/dump-openapi``) writes it to
``controlpilot/web/src/api/openapi.json``; the web build (``npm run build``) then runs ``gen:types``,
which turns that file into ``src/api/schema.ts`` with openapi-typescript. Both files are checked in,
so the web build needs no Python, and tests/test_web_api_types.py fails when either is stale.
See docs/renames.md ("API types").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

WEB_API_DIR = Path(__file__).parent / "web" / "src" / "api"
SCHEMA_FILE = WEB_API_DIR / "openapi.json"


def api_schema() -> dict:
    """The schema of ``create_app`` for a throwaway workspace (the schema depends on no workspace).

    ``info.version`` is left out: the file would otherwise change with every release without the
    API changing.
    """
    from lorapilot.controlpilot.app import create_app
    from lorapilot.stack.context import load_context

    with tempfile.TemporaryDirectory(prefix="lorapilot-openapi-") as tmp:
        app = create_app(load_context(tmp))
        schema = app.openapi()
    schema["info"] = {key: value for key, value in schema["info"].items() if key != "version"}
    schema["info"]["version"] = "see lorapilot --version"
    return schema


def schema_text(schema: dict) -> str:
    """The schema as the checked-in file holds it (stable key order, one trailing newline)."""
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema (default: the web UI's ``src/api/openapi.json``); ``--check`` only compares."""
    parser = argparse.ArgumentParser(prog="dump-openapi", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=SCHEMA_FILE)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs from the schema")
    args = parser.parse_args(argv)
    text = schema_text(api_schema())
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is stale: run scripts/dump-openapi, then npm run gen:types", file=sys.stderr)
            return 1
        return 0
    if current != text:
        tmp = args.path.with_name(args.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.path)  # never a half-written schema
    print(args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
