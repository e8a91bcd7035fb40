"""README.md is a short front door that stays true: the two commands exactly, every `lorapilot ...` line of
its examples a real command with real options, and every link (README and docs/) pointing at a file and
heading that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from lorapilot.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RUN = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/lorapilot up"


def test_the_two_commands_are_there_exactly_and_the_page_is_short():
    assert "nix run .#lorapilot" in README and RUN in README and "./scripts/check" in README
    assert len(README.splitlines()) <= 170


def _commands(text: str) -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    joined = "\n".join(blocks).replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.split("  #")[0].strip()
        if line.startswith("lorapilot "):
            out.append(shlex.split(line)[1:])
    return out


def test_every_example_command_exists_with_its_options():
    commands = _commands(README)
    assert len(commands) >= 8
    for argv in commands:
        command, ctx, rest = cli, click.Context(cli), list(argv)
        while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
            sub = command.get_command(ctx, rest[0])
            assert sub is not None, f"lorapilot {' '.join(argv)}: no command {rest[0]!r}"
            command, ctx, rest = sub, click.Context(sub, parent=ctx, info_name=rest[0]), rest[1:]
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for token in rest:
            if token.startswith("--"):
                assert token.split("=")[0] in known, f"lorapilot {' '.join(argv)}: no option {token}"


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_points_at_an_existing_file_and_heading():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://", "#")):
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve()
            assert resolved.exists(), f"{page.name}: {target}"
            if anchor and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(), re.M)
                assert anchor in {_anchor(h) for h in headings}, f"{page.name}: {target}"


def test_the_gaps_page_collects_every_pages_gaps():
    gaps = (ROOT / "docs" / "gaps.md").read_text()
    for page in ("workspace", "controlpilot", "tagpilot", "trainpilot", "models", "mediapilot", "copilot", "journey"):
        text = (ROOT / "docs" / f"{page}.md").read_text()
        assert "gaps.md#" in text, page
        assert f"From [{page}.md]({page}.md)." in gaps, page
