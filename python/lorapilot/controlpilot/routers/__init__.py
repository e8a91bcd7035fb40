"""ControlPilot's API routers, one module per area."""
