"""The bounds of every training setting, defined once.

A profile (:mod:`lorapilot.tools.trainpilot.profiles`, trainer-neutral) and the native trainer's run file
(:mod:`lorapilot.tools.trainpilot.native.config`) both hold these settings; each model keeps its own
defaults (a profile starts from a preset, a run file from the trainer's own), but a value one accepts the
other accepts too. ``tests/test_trainpilot_setting_bounds.py`` checks that no field drifts apart again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

# dataset
ImageSide = Annotated[int, Field(ge=16, le=4096)]  # 16: the tiny models the tests build train at 32-64 px
Resolution = Annotated[int, Field(ge=16, le=4096, multiple_of=8)]
Repeats = Annotated[int, Field(ge=1, le=1000)]
BucketSide = Annotated[int, Field(ge=16)]
BucketStep = Annotated[int, Field(ge=8)]
Fraction = Annotated[float, Field(ge=0, le=1)]
KeepTokens = Annotated[int, Field(ge=0)]
CaptionExtension = Annotated[str, Field(pattern=r"^\.[A-Za-z0-9_.-]{1,16}$")]
# network
Rank = Annotated[int, Field(ge=1, le=1024)]
Alpha = Annotated[float, Field(gt=0)]
NetworkDropout = Annotated[float, Field(ge=0, lt=1)]
# optimiser
LearningRate = Annotated[float, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegative = Annotated[float, Field(ge=0)]
MinSnrGamma = Annotated[float, Field(gt=0)]
LrScheduler = Literal["constant", "cosine", "linear", "constant_with_warmup"]
# training
Steps = Annotated[int, Field(ge=1, le=1_000_000)]
BatchSize = Annotated[int, Field(ge=1, le=256)]
Accumulation = Annotated[int, Field(ge=1)]
MixedPrecision = Literal["no", "fp16", "bf16"]
# saving and sampling
EveryNSteps = Annotated[int, Field(ge=1)]
KeepLast = Annotated[int, Field(ge=1)]
SampleSteps = Annotated[int, Field(ge=1, le=200)]
Guidance = Annotated[float, Field(ge=0)]
# names: a profile's name is its run's name, and both become file names
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
RunName = Annotated[str, Field(pattern=NAME_PATTERN)]
