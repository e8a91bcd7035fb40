"""The component registry: every shipped spec loads, every broken one fails clearly."""

import shutil
from pathlib import Path

import pytest

from lorapilot.kit.errors import ConfigError
from lorapilot.kit.tomlconfig import validate_model
from lorapilot.stack.components import default_components_dir, load_registry, topological_order
from lorapilot.stack.settings import Settings, load_settings

SHIPPED = default_components_dir()
EXPECTED_PORTS = {
    "controlpilot": 7878,
    "copilot": 7879,
    "comfyui": 5555,
    "invokeai": 9090,
    "kohya": 6666,
    "ai-toolkit": 8675,
    "tensorboard": 4444,
    "jupyterlab": 8888,
    "code-server": 8443,
}


@pytest.fixture
def components(tmp_path):
    """A private copy of the shipped specs to break."""
    target = tmp_path / "components"
    shutil.copytree(SHIPPED, target)
    return target


def test_shipped_components_load_with_their_ports():
    registry = load_registry()
    assert {c.name: c.port for c in registry} == EXPECTED_PORTS


def test_copilot_is_loopback_only_and_others_are_not():
    registry = load_registry()
    assert registry.get("copilot").spec.loopback_only
    assert not registry.get("comfyui").spec.loopback_only


def test_every_spec_has_probe_and_pinned_source():
    for comp in load_registry():
        assert comp.spec.probe is not None, comp.name
        source = comp.spec.source
        if source.type == "git":
            assert len(source.rev) == 40
        elif source.type in ("pypi", "npm"):
            assert source.version


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_malformed_toml_names_file_and_line(components):
    spec = components / "comfyui" / "component.toml"
    spec.write_text(spec.read_text() + "\nport = = 5\n")
    with pytest.raises(ConfigError) as err:
        load_registry(components_dir=components)
    assert str(spec) in str(err.value)
    assert "line" in str(err.value)


def test_unknown_key_names_file_and_field(components):
    spec = components / "kohya" / "component.toml"
    _replace(spec, "[probe]", '[probe]\nhttp_path = "/x"')
    with pytest.raises(ConfigError) as err:
        load_registry(components_dir=components)
    assert str(spec) in str(err.value)
    assert "probe.http_path: unknown key" in str(err.value)


def test_wrong_type_names_field_and_value(components):
    spec = components / "tensorboard" / "component.toml"
    _replace(spec, "port = 4444", 'port = "four"')
    with pytest.raises(ConfigError) as err:
        load_registry(components_dir=components)
    assert "port:" in str(err.value) and "'four'" in str(err.value)


def test_unknown_placeholder_is_refused(components):
    spec = components / "tensorboard" / "component.toml"
    _replace(spec, '"{outputs}/tensorboard"', '"{outptus}/tensorboard"')
    with pytest.raises(ConfigError) as err:
        load_registry(components_dir=components)
    assert "outptus" in str(err.value) and "run" in str(err.value)


def test_name_must_match_folder(components):
    spec = components / "jupyterlab" / "component.toml"
    _replace(spec, 'name = "jupyterlab"', 'name = "jupyter"')
    with pytest.raises(ConfigError, match="must match its folder name"):
        load_registry(components_dir=components)


def test_depends_on_unknown_component(components):
    spec = components / "comfyui" / "component.toml"
    _replace(spec, "gpu = true", 'gpu = true\ndepends_on = ["comfy-manager"]')
    with pytest.raises(ConfigError) as err:
        load_registry(components_dir=components)
    assert str(spec) in str(err.value) and "'comfy-manager'" in str(err.value)


def test_dependency_cycle_is_reported(components):
    _replace(components / "comfyui" / "component.toml", "gpu = true", 'gpu = true\ndepends_on = ["invokeai"]')
    _replace(components / "invokeai" / "component.toml", "gpu = true", 'gpu = true\ndepends_on = ["comfyui"]')
    with pytest.raises(ConfigError, match="dependency cycle"):
        load_registry(components_dir=components)


def test_port_collision_between_components(components):
    _replace(components / "tensorboard" / "component.toml", "port = 4444", "port = 5555")
    with pytest.raises(ConfigError) as err:
        load_registry(components_dir=components)
    assert "port 5555" in str(err.value) and "comfyui" in str(err.value) and "tensorboard" in str(err.value)


def test_port_collision_from_user_override_names_settings_file(tmp_path):
    settings_path = tmp_path / "lorapilot.toml"
    settings_path.write_text("[components.jupyterlab]\nport = 7878\n")
    with pytest.raises(ConfigError) as err:
        load_registry(load_settings(settings_path), settings_path)
    assert str(settings_path) in str(err.value) and "port 7878" in str(err.value)


def test_user_override_onto_a_later_component_names_the_setting(tmp_path):
    # comfyui loads before controlpilot: the message must still point at the user's line.
    settings_path = tmp_path / "lorapilot.toml"
    settings_path.write_text("[components.comfyui]\nport = 7878\n")
    with pytest.raises(ConfigError) as err:
        load_registry(load_settings(settings_path), settings_path)
    message = str(err.value)
    assert message.startswith(f"{settings_path}: components.comfyui.port: port 7878")
    assert "'controlpilot'" in message and "component.toml" not in message


def test_port_collision_with_manager_port(tmp_path):
    settings_path = tmp_path / "lorapilot.toml"
    settings_path.write_text("[manager]\nport = 4444\n")
    with pytest.raises(ConfigError) as err:
        load_registry(load_settings(settings_path), settings_path)
    assert str(err.value).startswith(f"{settings_path}: manager.port: port 4444 of component 'tensorboard'")
    assert "process manager" in str(err.value)


def test_disabled_component_frees_its_port(tmp_path):
    settings_path = tmp_path / "lorapilot.toml"
    settings_path.write_text("[components.comfyui]\nenabled = false\n[components.invokeai]\nport = 5555\n")
    registry = load_registry(load_settings(settings_path), settings_path)
    assert registry.get("invokeai").port == 5555
    assert "comfyui" not in [c.name for c in registry.enabled()]


def test_user_overrides_port_autostart_and_env(tmp_path):
    settings_path = tmp_path / "lorapilot.toml"
    settings_path.write_text(
        '[components.comfyui]\nport = 5600\nautostart = false\nenv = { PYTORCH_CUDA_ALLOC_CONF = "expandable_segments:True" }\n'
    )
    comfy = load_registry(load_settings(settings_path), settings_path).get("comfyui")
    assert (comfy.port, comfy.autostart) == (5600, False)
    assert comfy.extra_env == {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}


def test_override_of_unknown_component_names_it(tmp_path):
    settings_path = tmp_path / "lorapilot.toml"
    settings_path.write_text("[components.comfy]\nport = 1\n")
    with pytest.raises(ConfigError) as err:
        load_registry(load_settings(settings_path), settings_path)
    assert "components.comfy: unknown component" in str(err.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("host = \n", "not valid TOML"),
        ("[components.comfyui]\nport = 70000\n", "components.comfyui.port"),
        ("[components.comfyui]\nports = 1\n", "components.comfyui.ports: unknown key"),
        ("hots = '0.0.0.0'\n", "hots: unknown key"),
    ],
)
def test_malformed_settings_file(tmp_path, text, expected):
    settings_path = tmp_path / "lorapilot.toml"
    settings_path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(settings_path)
    assert str(settings_path) in str(err.value) and expected in str(err.value)


def test_dependency_on_disabled_component_is_refused(components, tmp_path):
    _replace(
        components / "jupyterlab" / "component.toml",
        'category = "dev"',
        'category = "dev"\ndepends_on = ["controlpilot"]',
    )
    settings = validate_model(None, Settings, {"components": {"controlpilot": {"enabled": False}}})
    with pytest.raises(ConfigError, match="'controlpilot' is disabled but 'jupyterlab' depends on it"):
        load_registry(settings, tmp_path / "lorapilot.toml", components_dir=components)


def test_topological_order_puts_dependencies_first(components):
    _replace(components / "comfyui" / "component.toml", "gpu = true", 'gpu = true\ndepends_on = ["tensorboard"]')
    order = [c.name for c in topological_order(load_registry(components_dir=components))]
    assert order.index("tensorboard") < order.index("comfyui")


# The launch flags and health endpoints each upstream project documents (see
# /work/shared/reference/upstream-notes.md); a spec edit that drops one fails here.
UPSTREAM_CONTRACT = {
    "comfyui": (
        ["main.py", "--listen", "{host}", "--port", "{port}", "--output-directory", "--extra-model-paths-config"],
        "/system_stats",
    ),
    "invokeai": (["{bin}/invokeai-web"], "/api/v1/app/version"),
    "kohya": (["kohya_gui.py", "--listen", "--server_port", "{port}", "--headless", "--noverify"], "/"),
    "jupyterlab": (["{bin}/jupyter", "lab", "--port", "{port}"], "/api"),
    "code-server": (["{bin}/code-server", "--bind-addr", "{host}:{port}"], "/healthz"),
    "tensorboard": (["{bin}/tensorboard", "--port", "{port}"], "/data/logdir"),
    "controlpilot": (["--port", "{port}"], "/api/health"),
    "copilot": (["--port", "{port}"], "/health"),
}


@pytest.mark.parametrize("name", sorted(UPSTREAM_CONTRACT))
def test_shipped_spec_uses_the_upstream_flags_and_health_endpoint(name):
    spec = load_registry().get(name).spec
    flags, probe = UPSTREAM_CONTRACT[name]
    for flag in flags:
        assert flag in spec.run.command, f"{name}: {flag!r} missing from run.command"
    assert spec.probe.http == probe


def test_invokeai_root_and_jupyter_token_come_from_the_environment():
    registry = load_registry()
    assert registry.get("invokeai").spec.run.env["INVOKEAI_ROOT"] == "{state}"
    # JUPYTER_TOKEN is what --IdentityProvider.token defaults to; kept out of argv so `ps` never shows it.
    assert registry.get("jupyterlab").spec.run.secret_env == {"JUPYTER_TOKEN": "JUPYTER_TOKEN"}
    assert not any("token" in arg.lower() for arg in registry.get("jupyterlab").spec.run.command)
