"""Turn the component registry into process-manager configuration."""

from lorapilot.stack.render.process_compose import dump_yaml, render_process_compose
from lorapilot.stack.render.supervisord import render_supervisord

__all__ = ["dump_yaml", "render_process_compose", "render_supervisord"]
