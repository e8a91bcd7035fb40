"""Render a training job as Kubernetes objects: a batch/v1 Job running our OCI image, the workspace
on a PersistentVolumeClaim; for several machines an Indexed Job plus a headless Service.

The container runs exactly the trainer command the queue would run, so the workspace volume is
mounted at this workspace's path (``/workspace`` in the image) and the configuration files are
written into the job's run folder here first: copy the workspace (or sync it) onto the volume.
With ``training.num_nodes`` > 1, pod 0 of the Indexed Job hosts the rendezvous: its stable name
``<job>-0.<service>`` replaces the profile's ``rendezvous``, and each pod's completion index becomes
``LORAPILOT_NODE_RANK`` (DeepSpeed's launcher needs it; torchrun's rendezvous hands out ranks itself).
Nothing here talks to a cluster.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.context import Context

from .adapters import get_adapter
from .adapters.multinode import NODE_RANK_ENV
from .queue import Job
from .runspec import build_spec

RENDEZVOUS_PORT = 29400
INDEX_ANNOTATION = "metadata.annotations['batch.kubernetes.io/job-completion-index']"


class K8sOptions(BaseModel):
    """What the cluster side needs that a job does not say."""

    image: str = Field(default="ghcr.io/YOU/lorapilot:latest", min_length=1)
    pvc: str = Field(default="lorapilot-workspace", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=253)
    namespace: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    run_as_user: int = Field(default=1000, ge=0)  # the image's user (0 for the -root variant)
    shm_gib: int = Field(default=16, ge=1, le=1024)  # /dev/shm for data loaders and NCCL


def k8s_name(job: Job) -> str:
    """A DNS-1123 label for ``job`` (``lora-<id>-<name>``, at most 52 characters so pod names fit)."""
    base = re.sub(r"[^a-z0-9-]+", "-", job.name.lower()).strip("-")
    return f"lora-{job.id}-{base}"[:52].rstrip("-")


def render_job(ctx: Context, job: Job, options: K8sOptions) -> list[dict]:
    """The Kubernetes objects (a Job, plus a headless Service for several machines) for ``job``.

    Writes the trainer's configuration into the job's run folder (as the queue does before a start).
    """
    profile = job.profile_model()
    t = profile.training
    name = k8s_name(job)
    nodes = t.num_nodes
    if nodes > 1:
        profile = profile.model_copy(deep=True)
        profile.training.rendezvous = f"{name}-0.{name}:{RENDEZVOUS_PORT}"
    adapter = get_adapter(profile.trainer)
    spec = build_spec(ctx, profile, job.run_path, resume=job.resume, gpu_ids=[str(i) for i in range(t.num_gpus)])
    if nodes > 1:
        spec.node_rank = f"$({NODE_RANK_ENV})"  # Kubernetes expands $(VAR) in args, per pod
    command = adapter.command(spec)
    adapter.write_config(spec)
    root = str(ctx.workspace.root)
    env = [{"name": k, "value": v} for k, v in sorted(command.env.items())]
    env += [{"name": "PYTHONUNBUFFERED", "value": "1"}, {"name": "LORAPILOT_WORKSPACE", "value": root}]
    if nodes > 1:
        env.append({"name": NODE_RANK_ENV, "valueFrom": {"fieldRef": {"fieldPath": INDEX_ANNOTATION}}})
    container = {
        "name": "trainer",
        "image": options.image,
        "command": command.argv[:1],
        "args": command.argv[1:],
        "workingDir": str(command.cwd or spec.run_dir),
        "env": env,
        "resources": {"limits": {"nvidia.com/gpu": t.num_gpus}} if t.num_gpus else {},
        "volumeMounts": [{"name": "workspace", "mountPath": root}, {"name": "shm", "mountPath": "/dev/shm"}],
    }
    if nodes > 1:
        container["ports"] = [{"name": "rendezvous", "containerPort": RENDEZVOUS_PORT}]
    pod_spec = {
        "restartPolicy": "Never",
        "securityContext": {"runAsUser": options.run_as_user, "fsGroup": options.run_as_user},
        "containers": [container],
        "volumes": [
            {"name": "workspace", "persistentVolumeClaim": {"claimName": options.pvc}},
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{options.shm_gib}Gi"}},
        ],
    }
    labels = {
        "app.kubernetes.io/name": "lorapilot",
        "app.kubernetes.io/component": "training",
        "lorapilot/job": str(job.id),
    }
    job_spec: dict = {"backoffLimit": 0, "template": {"metadata": {"labels": labels}, "spec": pod_spec}}
    if nodes > 1:
        pod_spec["subdomain"] = name  # <name>-<index>.<name> resolves through the headless Service
        job_spec.update(completionMode="Indexed", completions=nodes, parallelism=nodes)
    metadata = {"name": name, "labels": labels, **({"namespace": options.namespace} if options.namespace else {})}
    objects = [{"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job_spec}]
    if nodes > 1:
        objects.insert(0, {
            "apiVersion": "v1", "kind": "Service", "metadata": dict(metadata),
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                     "selector": {"batch.kubernetes.io/job-name": name},
                     "ports": [{"name": "rendezvous", "port": RENDEZVOUS_PORT, "targetPort": RENDEZVOUS_PORT}]},
        })  # fmt: skip
    return objects


def to_yaml(objects: list[dict]) -> str:
    """The objects as one multi-document YAML stream for ``kubectl apply -f``."""
    import yaml

    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


def check_exportable(job: Job) -> None:
    if job.state == "running":
        raise LorapilotError(f"job {job.id} is running here; cancel it before running it on a cluster")
