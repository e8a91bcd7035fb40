"""User-facing errors: the CLI prints them without a traceback."""


class LorapilotError(Exception):
    """A mistake the user can fix; the message names the file, field or value."""


class ConfigError(LorapilotError):
    """A configuration file is malformed or inconsistent."""

    def __init__(self, path, message: str):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class WorkspaceError(LorapilotError):
    """The workspace cannot be created or written."""


class ServiceError(LorapilotError):
    """The process manager refused or could not be reached."""


class NotFoundError(LorapilotError):
    """The named thing does not exist (HTTP 404)."""


class ConflictError(LorapilotError):
    """The request is based on stale data or would overwrite something (HTTP 409)."""
