"""The process-compose backend against a loopback server that speaks the swagger's shapes."""

import json
import re

import jsonschema
import pytest

from lorapilot.kit.errors import ServiceError
from lorapilot.stack.services.process_compose import ProcessComposeManager
from support.fake_process_compose import FakeProcessCompose
from support.workspaces import make_workspace


@pytest.fixture
def swagger(reference_dir):
    return json.loads((reference_dir / "process-compose-api.swagger.json").read_text())


@pytest.fixture
def setup(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"controlpilot", "tensorboard"})
    plans = ctx.plan(False)
    with FakeProcessCompose("tok", [p.name for p in plans]) as fake:
        yield ProcessComposeManager(ctx.workspace, plans, fake.port, "tok"), fake


def _schema_for(swagger, path_template, method, code="200"):
    schema = swagger["paths"][path_template][method]["responses"][code]["content"]["application/json"]["schema"]
    return {**schema, "components": swagger["components"]}


def _template_for(swagger, method, path):
    for template, ops in swagger["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return template
    return None


def test_status_maps_states_readiness_and_uptime(setup):
    manager, fake = setup
    fake.procs["tensorboard"]["status"] = "Completed"
    by_name = {s.name: s for s in manager.status()}
    assert by_name["controlpilot"].state == "running" and by_name["controlpilot"].ready is True
    assert by_name["controlpilot"].uptime_s == 12.0 and by_name["controlpilot"].pid == 1000
    assert by_name["tensorboard"].state == "exited" and by_name["tensorboard"].pid is None


def test_start_stop_restart_use_the_documented_methods(setup):
    manager, fake = setup
    manager.stop("tensorboard")
    assert fake.procs["tensorboard"]["status"] == "Completed"
    manager.start("tensorboard")
    manager.restart("tensorboard")
    assert fake.procs["tensorboard"]["restarts"] == 1
    assert ("PATCH", "/process/stop/tensorboard") in fake.requests
    assert ("POST", "/process/start/tensorboard") in fake.requests
    assert ("POST", "/process/restart/tensorboard") in fake.requests


def test_logs_tail(setup):
    manager, fake = setup
    assert manager.logs("controlpilot", tail=2) == ["controlpilot line 3", "controlpilot line 4"]


def test_token_header_is_sent_and_a_wrong_token_is_a_clear_error(setup, tmp_path):
    manager, fake = setup
    assert manager.alive()
    wrong = ProcessComposeManager(manager.ws, list(manager.plans.values()), fake.port, "nope")
    with pytest.raises(ServiceError, match="refused the API token"):
        wrong.status()


def test_unknown_process_error_is_reported(setup):
    manager, fake = setup
    manager.plans["ghost"] = manager.plans["tensorboard"]
    with pytest.raises(ServiceError, match="does not exist"):
        manager.stop("ghost")


def test_unreachable_server_is_a_clear_error(tmp_path):
    from support.workspaces import free_port

    ctx = make_workspace(tmp_path / "ws")
    manager = ProcessComposeManager(ctx.workspace, ctx.plan(False), free_port(), "t", timeout=1)
    assert not manager.alive()
    with pytest.raises(ServiceError, match="cannot reach process-compose"):
        manager.status()


def test_shutdown_stops_the_project(setup):
    manager, fake = setup
    manager.shutdown()
    assert fake.stopped_project


def test_every_request_is_in_the_swagger_and_fake_responses_match_its_schemas(setup, swagger):
    manager, fake = setup
    manager.status()
    manager.stop("tensorboard")
    manager.start("tensorboard")
    manager.restart("tensorboard")
    manager.logs("tensorboard", 3)
    manager.alive()
    manager.shutdown()
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{fake.port}", headers={"X-PC-Token-Key": "tok"}) as client:
        for method, path in list(fake.requests):
            template = _template_for(swagger, method, path)
            assert template is not None, f"{method} {path} is not in the process-compose API"
            body = client.request(method, path).json()
            jsonschema.validate(body, _schema_for(swagger, template, method.lower()))
