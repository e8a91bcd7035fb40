"""The native LoRA trainer (diffusers + peft + accelerate), run in the lorapilot-train environment.

Contract with the TrainPilot queue (see config.py for the settings):

- run: ``python -m lorapilot.tools.trainpilot.native --config run.toml [--resume auto|PATH]``, or under
  ``accelerate launch [--num_processes N] -m lorapilot.tools.trainpilot.native --config run.toml`` for DDP;
- progress: one line per logged step on stdout,
  ``[trainpilot] step=120 total=1000 loss=0.087100 lr=1.000e-04 its=1.92``
  (``step`` counts from 0 of the whole run, so a resumed run continues the count);
  sample and checkpoint events: ``[trainpilot] sample step=120 path=...``,
  ``[trainpilot] checkpoint step=120 path=...``, ``[trainpilot] done path=...``;
- outputs in ``output_dir``: ``{name}-step{step:08d}.safetensors`` checkpoints, ``{name}.safetensors``
  final, ``state-step{step:08d}/`` resumable state, ``samples/{step:06d}_{index}.png``;
- stop and save: SIGTERM/SIGINT, or a file named ``save_quit`` in ``output_dir``, saves a checkpoint and
  the state, then exits 0.

Additions (compatible: a reader that ignores unknown ``[trainpilot]`` lines loses nothing):

- ``[trainpilot] state step=120 path=.../state-step00000120`` when a resumable state is complete, and
  ``[trainpilot] stopped step=120`` after a stop-and-save (a finished run ends with ``done``);
- exit code 2 with ``error: <file or field>: <what is wrong>`` on stderr for bad settings;
- relative paths in run.toml are relative to the TOML file's folder;
- ``save_quit`` is removed once honoured, so ``--resume auto`` does not stop again at once;
- ``cache/latents/`` in ``output_dir`` holds the VAE latents, reused by a resumed run;
- multi-process: ``accelerate launch`` with torchrun (``--multi_gpu``, or a config file) starts the
  processes; without a GPU they form a gloo CPU group. ``accelerate launch --cpu --num_processes N``
  starts its processes through MPI (``--mpirun_hostfile FILE``; without it, a single process). Under torchrun a
  SIGTERM to the process group still saves, but torchrun itself then exits 1; ``save_quit`` gives 0.
"""

# The base families the queue may send to this trainer (read by the native adapter; keep this module
# free of heavy imports). FLUX.1 loads from a diffusers folder only, in bf16 without quantisation:
# the queue's validation (adapters/native.py) refuses single files and tiers below 48 GB for it.
SUPPORTED_FAMILIES = ("sd1", "sd2", "sdxl", "flux1")
