"""ControlPilot: the FastAPI dashboard on port 7878."""
