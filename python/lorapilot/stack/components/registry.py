"""Load every component.toml, apply the user's overrides, check the whole set."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.tomlconfig import read_toml, validate_model
from lorapilot.stack.components.spec import ComponentSpec
from lorapilot.stack.settings import ComponentOverride, Settings

SPEC_FILENAME = "component.toml"


def default_components_dir() -> Path:
    """Where the component specs live.

    ``LORAPILOT_COMPONENTS`` wins; then the source checkout's ``components/``;
    then the copy shipped inside the wheel.
    """
    env = os.environ.get("LORAPILOT_COMPONENTS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    checkout = here.parents[4] / "components"
    if checkout.is_dir():
        return checkout
    return here.parents[2] / "_components"


@dataclass(frozen=True)
class Component:
    """A component spec with the user's overrides applied."""

    spec: ComponentSpec
    spec_path: Path
    port: int
    autostart: bool
    enabled: bool
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name


class Registry:
    """The validated set of components; the only list of services there is."""

    def __init__(self, components: dict[str, Component], settings: Settings, settings_path: Path | None):
        self._components = components
        self.settings = settings
        self.settings_path = settings_path

    def __iter__(self):
        return iter(self._components.values())

    def __len__(self) -> int:
        return len(self._components)

    def __contains__(self, name: str) -> bool:
        return name in self._components

    def names(self) -> list[str]:
        return list(self._components)

    def get(self, name: str) -> Component:
        try:
            return self._components[name]
        except KeyError:
            known = ", ".join(self._components)
            raise ConfigError(None, f"unknown component {name!r}; known components: {known}") from None

    def enabled(self) -> list[Component]:
        return [c for c in self._components.values() if c.enabled]


def load_spec(path: Path) -> ComponentSpec:
    """Load and validate one component.toml."""
    data = read_toml(path)
    spec = validate_model(path, ComponentSpec, data)
    if spec.name != path.parent.name:
        raise ConfigError(path, f"name: {spec.name!r} must match its folder name {path.parent.name!r}")
    return spec


def load_registry(
    settings: Settings | None = None,
    settings_path: Path | None = None,
    components_dir: Path | None = None,
) -> Registry:
    """Load all component specs, apply ``settings`` and validate the result.

    Raises :class:`ConfigError` naming the file and field for a malformed spec,
    an unknown key, an override of an unknown component, a dependency on an
    unknown or disabled component, a dependency cycle, or a port collision.
    """
    settings = settings or Settings()
    components_dir = components_dir or default_components_dir()
    if not components_dir.is_dir():
        raise ConfigError(components_dir, "component directory not found")
    specs: dict[str, tuple[ComponentSpec, Path]] = {}
    for spec_path in sorted(components_dir.glob(f"*/{SPEC_FILENAME}")):
        spec = load_spec(spec_path)
        specs[spec.name] = (spec, spec_path)
    if not specs:
        raise ConfigError(components_dir, f"no */{SPEC_FILENAME} found")

    for name in settings.components:
        if name not in specs:
            raise ConfigError(
                settings_path,
                f"components.{name}: unknown component; known components: {', '.join(specs)}",
            )

    components: dict[str, Component] = {}
    for name, (spec, spec_path) in specs.items():
        override = settings.components.get(name, ComponentOverride())
        components[name] = Component(
            spec=spec,
            spec_path=spec_path,
            port=override.port or spec.port,
            autostart=spec.autostart if override.autostart is None else override.autostart,
            enabled=override.enabled,
            extra_env=dict(override.env),
        )
    registry = Registry(components, settings, settings_path)
    _check_dependencies(registry)
    _check_ports(registry)
    _check_post_start_names(registry)
    return registry


def _check_post_start_names(registry: Registry) -> None:
    for comp in registry:
        for task in comp.spec.post_start:
            if f"{comp.name}-{task.name}" in registry:
                raise ConfigError(
                    comp.spec_path,
                    f"post_start.{task.name}: process name {comp.name}-{task.name!s} is a component's name",
                )


def _check_dependencies(registry: Registry) -> None:
    for comp in registry:
        for dep in comp.spec.depends_on:
            if dep not in registry:
                raise ConfigError(comp.spec_path, f"depends_on: unknown component {dep!r}")
            if comp.enabled and not registry.get(dep).enabled:
                raise ConfigError(
                    registry.settings_path,
                    f"components.{dep}.enabled: {dep!r} is disabled but {comp.name!r} depends on it",
                )
    # Depth-first search for cycles.
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, chain: list[str]) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " -> ".join(chain[chain.index(name) :] + [name])
            raise ConfigError(registry.get(name).spec_path, f"depends_on: dependency cycle {cycle}")
        visiting.add(name)
        for dep in registry.get(name).spec.depends_on:
            visit(dep, chain + [name])
        visiting.discard(name)
        done.add(name)

    for comp in registry:
        visit(comp.name, [])


def _check_ports(registry: Registry) -> None:
    """Two enabled components (or one and the process manager) on one port is an error.

    The message names the file and field to change: the user's setting when
    either port was set in config/lorapilot.toml, else the component.toml.
    """
    user_set = {name for name, o in registry.settings.components.items() if o.port is not None}
    manager = "the process manager"
    taken: dict[int, str] = {registry.settings.manager.port: manager}
    for comp in registry.enabled():
        other = taken.setdefault(comp.port, comp.name)
        if other == comp.name:
            continue
        owner = "the process manager ([manager] port)" if other == manager else f"component {other!r}"
        clash = f"port {comp.port} of component {comp.name!r} collides with {owner}"
        if comp.name in user_set:
            raise ConfigError(registry.settings_path, f"components.{comp.name}.port: {clash}; choose a free port")
        if other == manager:
            raise ConfigError(registry.settings_path, f"manager.port: {clash}; choose a free port")
        if other in user_set:
            raise ConfigError(registry.settings_path, f"components.{other}.port: {clash}; choose a free port")
        raise ConfigError(
            comp.spec_path,
            f"port: {clash} ({registry.get(other).spec_path}); "
            f"set [components.{comp.name}] port = ... in config/lorapilot.toml",
        )


def topological_order(registry: Registry) -> list[Component]:
    """Enabled components with every dependency before its dependents."""
    order: list[Component] = []
    seen: set[str] = set()

    def visit(comp: Component) -> None:
        if comp.name in seen:
            return
        seen.add(comp.name)
        for dep in comp.spec.depends_on:
            visit(registry.get(dep))
        order.append(comp)

    for comp in registry.enabled():
        visit(comp)
    return order
