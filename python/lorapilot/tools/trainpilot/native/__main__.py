"""``python -m lorapilot.tools.trainpilot.native --config run.toml [--resume auto|PATH]``."""

from .cli import main

raise SystemExit(main())
