"""Sync: ``lorapilot sync push|pull`` between the workspace and S3-compatible storage (see :mod:`.engine`)."""
