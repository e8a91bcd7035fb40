"""A stand-in `process-compose` executable for `lorapilot up --backend process-compose`.

It records how it was called (argv, the PC_API_TOKEN it got) in $FAKE_PC_RECORD and,
for `up ... --detached`, does what process-compose does: starts its REST API (the
swagger-shaped FakeProcessCompose) on `--address:--port` in a new session with
stdio on /dev/null, and exits 0. `POST /project/stop` ends that server.
$FAKE_PC_FAIL=1 makes it refuse the config, as process-compose does with an error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        import yaml

        from support.fake_process_compose import FakeProcessCompose

        config_path, port = argv[1], int(argv[2])
        names = list(yaml.safe_load(Path(config_path).read_text())["processes"])
        fake = FakeProcessCompose(os.environ["PC_API_TOKEN"], names, exit_on_stop=True, port=port)
        fake.server.serve_forever()
        return 0
    Path(os.environ["FAKE_PC_RECORD"]).write_text(json.dumps({"argv": argv, "token": os.environ.get("PC_API_TOKEN")}))
    if os.environ.get("FAKE_PC_FAIL") == "1":
        print(f"error: failed to load {_option(argv, '-f')}: process 'x' is broken", file=sys.stderr)
        return 1
    if "--detached" in argv:
        with open(os.devnull, "r+b") as null:
            subprocess.Popen(
                [sys.executable, __file__, "--serve", _option(argv, "-f"), _option(argv, "--port")],
                stdin=null,
                stdout=null,
                stderr=null,
                start_new_session=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
