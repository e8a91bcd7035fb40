"""The stack: settings, workspace, components, rendering and the process managers. Imports only the kit."""
