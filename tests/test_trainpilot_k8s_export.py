"""`lorapilot train export k8s JOB`: a training job as Kubernetes objects, checked against the
Kubernetes OpenAPI schema (the strict JSON schemas the kubernetes-validate package ships, which
reject unknown fields). No cluster runs here: what a cluster does with them is not tested."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest
import yaml

from lorapilot.kit.errors import ConfigError
from lorapilot.tools.trainpilot import actions
from lorapilot.tools.trainpilot.adapters import get_adapter
from lorapilot.tools.trainpilot.k8s import K8sOptions, render_job, to_yaml
from lorapilot.tools.trainpilot.runspec import build_spec
from support.trainpilot import make_train_workspace
from test_trainpilot_queue_e2e import _profile

kubernetes_validate = pytest.importorskip("kubernetes_validate")
K8S_VERSION = "1.30"


def _check(objects):
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def _submit(ctx, trainer="native", nodes=1, gpus=1):
    profile = _profile(ctx, trainer, steps=20, name=f"k8s-{trainer}")
    profile.training.num_gpus = gpus
    if nodes > 1:
        profile.training.rendezvous = "ignored.example:1234"
        profile.training.num_nodes = nodes
    return actions.submit(ctx, profile)[0]


def test_one_machine_is_a_plain_job_running_the_queues_command_on_the_claim(tmp_path):
    ctx = make_train_workspace(tmp_path)
    job = _submit(ctx)
    objects = render_job(ctx, job, K8sOptions(image="registry.example/lorapilot:1.0", pvc="train-ws", namespace="lora"))
    _check(objects)
    assert [o["kind"] for o in objects] == ["Job"]
    spec = objects[0]["spec"]
    assert "completionMode" not in spec and spec["backoffLimit"] == 0
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    expected = get_adapter("native").command(build_spec(ctx, job.profile_model(), job.run_path, gpu_ids=["0"])).argv
    assert container["command"] + container["args"] == expected
    assert (
        container["image"] == "registry.example/lorapilot:1.0"
        and container["resources"]["limits"]["nvidia.com/gpu"] == 1
    )
    assert {"name": "workspace", "mountPath": str(ctx.workspace.root)} in container["volumeMounts"]
    assert {"name": "workspace", "persistentVolumeClaim": {"claimName": "train-ws"}} in pod["volumes"]
    assert objects[0]["metadata"]["namespace"] == "lora"
    assert tomllib.loads((job.run_path / "run.toml").read_text())["training"]["steps"] == 20  # written for the pod


def test_several_machines_are_an_indexed_job_with_a_headless_service(tmp_path):
    ctx = make_train_workspace(tmp_path)
    job = _submit(ctx, nodes=3, gpus=2)
    objects = render_job(ctx, job, K8sOptions())
    _check(objects)
    service, batch = objects
    name = batch["metadata"]["name"]
    assert service["kind"] == "Service" and service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {"batch.kubernetes.io/job-name": name}
    spec = batch["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == 3
    pod = spec["template"]["spec"]
    assert pod["subdomain"] == name
    args = pod["containers"][0]["args"]
    assert f"--rdzv_endpoint={name}-0.{name}:29400" in args and "--nnodes=3" in args and "--nproc_per_node=2" in args
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 2


def test_diffusion_pipe_gets_its_node_rank_from_the_completion_index(tmp_path):
    ctx = make_train_workspace(tmp_path)
    job = _submit(ctx, "diffusion-pipe", nodes=2)
    objects = render_job(ctx, job, K8sOptions())
    _check(objects)
    container = objects[1]["spec"]["template"]["spec"]["containers"][0]
    assert "--node_rank=$(LORAPILOT_NODE_RANK)" in container["args"] and "--no_ssh" in container["args"]
    rank = next(e for e in container["env"] if e["name"] == "LORAPILOT_NODE_RANK")
    assert (
        rank["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    )


def test_the_schema_check_bites():
    bad = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "x"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_cli_writes_yaml_and_refuses_a_bad_claim_name(tmp_path):
    ctx = make_train_workspace(tmp_path)
    job = _submit(ctx)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "job.yaml"

    def cli(*args):
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from lorapilot.cli import main; main()",
                "-w",
                str(ctx.workspace.root),
                "train",
                "export",
                "k8s",
                str(job.id),
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    done = cli("--pvc", "my-claim", "-o", str(out))
    assert done.returncode == 0, done.stderr
    objects = list(yaml.safe_load_all(out.read_text()))
    _check(objects)
    assert objects == [yaml.safe_load(y) for y in to_yaml(objects).split("---\n")]
    bad = cli("--pvc", "My_Claim")
    assert bad.returncode != 0 and "pvc" in bad.stderr
    with pytest.raises(ConfigError, match="pvc"):
        from lorapilot.kit.tomlconfig import validate_model

        validate_model(None, K8sOptions, {"pvc": "My_Claim"})
