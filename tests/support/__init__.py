"""Helpers shared by the test suite (real workspaces, free ports, processes)."""
