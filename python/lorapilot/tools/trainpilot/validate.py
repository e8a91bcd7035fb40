"""Validation before any GPU minute is spent: every problem, each naming the profile field to fix."""

from __future__ import annotations

from pathlib import Path

from lorapilot.kit.errors import LorapilotError, NotFoundError
from lorapilot.kit.safepath import PathEscapeError
from lorapilot.stack.context import Context

from .adapters import ADAPTERS, Issue, TrainerAdapter, get_adapter
from .clips import clip_issues
from .datasets import inspect_dataset
from .families import FAMILIES, VRAM_TIERS, Family, get_family
from .profiles import Profile
from .runspec import build_spec, missing_install
from .training_bases import COMPONENT_SLOTS, detect_family, resolve_model


class ProfileInvalid(LorapilotError):
    """A profile that would fail (or waste) a training run."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(f"{i.field}: {i.message}" for i in issues if i.level == "error"))


def _family_issues(adapter: TrainerAdapter, family: Family) -> list[Issue]:
    if family.id in adapter.families:
        return []
    others = [a.title for a in ADAPTERS.values() if family.id in a.families]
    return [
        Issue(
            "trainer",
            f"{adapter.title} does not train {family.title} LoRAs; use {' or '.join(others) or 'another family'}",
        )
    ]


def _tier_issue(family: Family, vram_gb: int) -> Issue:
    return Issue(
        "vram_gb", f"{family.title} does not fit the {vram_gb} GB tier; it needs at least {family.min_vram} GB"
    )


def trainer_choices(ctx: Context, family_id: str, base_rel: str | None = None) -> list[dict]:
    """For the new-training flow: per trainer, the problems with ``family_id`` and the base model
    ``base_rel`` (as validation words them) and, per VRAM tier, the problem with that tier ("" when it fits)."""
    family = get_family(family_id)
    base = None
    if base_rel:
        try:
            base = resolve_model(ctx, base_rel)
        except (NotFoundError, PathEscapeError):
            base = None  # validation names a missing base model; nothing to say per trainer
    out = []
    for adapter in ADAPTERS.values():
        issues = _family_issues(adapter, family) + adapter.fit_issues(family.id, base=base)
        tiers = {}
        for vram in VRAM_TIERS:
            tier_issues = (
                [_tier_issue(family, vram)]
                if vram not in family.max_resolution
                else adapter.fit_issues(family.id, vram_gb=vram)
            )
            tiers[str(vram)] = "; ".join(i.message for i in tier_issues)
        out.append(
            {"name": adapter.name, "title": adapter.title, "issues": [i.to_dict() for i in issues], "tiers": tiers}
        )
    return out


def _model_path(ctx: Context, rel: str, field: str, issues: list[Issue]) -> Path | None:
    try:
        return resolve_model(ctx, rel)
    except NotFoundError:
        issues.append(Issue(field, f"models/{rel} not found" if not rel.startswith("/") else f"{rel} not found"))
    except PathEscapeError as exc:
        issues.append(Issue(field, str(exc)))
    return None


def validate_profile(ctx: Context, profile: Profile, check_install: bool = True) -> list[Issue]:
    """All problems with ``profile`` in this workspace (errors and warnings)."""
    issues: list[Issue] = []
    family = FAMILIES[profile.family]
    adapter = get_adapter(profile.trainer)

    issues += _family_issues(adapter, family)
    if profile.vram_gb not in family.max_resolution:
        issues.append(_tier_issue(family, profile.vram_gb))
    else:
        issues += adapter.fit_issues(profile.family, vram_gb=profile.vram_gb)
        cap = family.max_resolution[profile.vram_gb]
        if profile.dataset.resolution > cap:
            issues.append(
                Issue(
                    "dataset.resolution",
                    f"{profile.dataset.resolution} px is too big for {family.title} on the {profile.vram_gb} GB tier (at most {cap} px)",
                )
            )
        if profile.dataset.max_bucket < profile.dataset.resolution and profile.dataset.buckets:
            issues.append(
                Issue(
                    "dataset.max_bucket",
                    f"max_bucket {profile.dataset.max_bucket} is below the resolution {profile.dataset.resolution}",
                )
            )

    base = _model_path(ctx, profile.model.base, "model.base", issues)
    if base is not None:
        detected = detect_family(base)
        if detected == "wan21" and profile.family == "wan22" and base.is_file():
            detected = None  # Wan 2.2 A14B's expert files have Wan 2.1 14B's layout: the keys cannot tell
        if detected and detected != profile.family:
            issues.append(
                Issue(
                    "model.base",
                    f"models/{profile.model.base} looks like {FAMILIES[detected].title}, not {family.title}",
                    "warning",
                )
            )
        issues += adapter.fit_issues(profile.family, base=base)
    for slot in COMPONENT_SLOTS:
        value = getattr(profile.model, slot)
        if value:
            _model_path(ctx, value, f"model.{slot}", issues)

    try:
        info = inspect_dataset(ctx.workspace, profile.dataset.name, profile.dataset.caption_extension)
    except (NotFoundError, PathEscapeError) as exc:
        issues.append(Issue("dataset.name", str(exc)))
    else:
        media = info.num_images + info.num_clips
        what = "images" if not info.num_clips else "images and clips"
        if media == 0:
            issues.append(Issue("dataset.name", f"dataset {info.name!r} is empty: no images in {info.image_dir}"))
        elif info.num_captioned == 0:
            issues.append(
                Issue(
                    "dataset.name",
                    f"dataset {info.name!r} is uncaptioned: none of its {media} {what} has a {info.caption_extension} caption",
                )
            )
        elif info.num_captioned < media:
            missing = media - info.num_captioned
            issues.append(
                Issue(
                    "dataset.name",
                    f"{missing} of {media} {what} have no caption (e.g. {', '.join(info.missing_captions[:3])})",
                    "warning",
                )
            )
        issues += clip_issues(adapter, family, info)
        if info.handoff_error:
            issues.append(Issue("dataset.name", info.handoff_error, "warning"))

    if profile.regularization is not None:
        issues += _regularization_issues(ctx, profile)

    if not profile.sample.prompts:
        issues.append(Issue("sample.prompts", "no sample prompts: the run shows no sample images", "warning"))
    if profile.save.every_n_steps > profile.training.steps:
        issues.append(
            Issue(
                "save.every_n_steps",
                "saves less often than the run is long: no intermediate checkpoint to resume from",
                "warning",
            )
        )

    spec = build_spec(ctx, profile, ctx.workspace.outputs / "trainpilot" / ".validate")
    issues += adapter.check(spec)
    if check_install:
        issues += install_issues(adapter, spec.location)
    return issues


def install_issues(adapter: TrainerAdapter, location) -> list[Issue]:
    """The trainer's installation: present, and (native) with the packages it imports."""
    command = f"lorapilot install {'native-trainer' if adapter.name == 'native' else adapter.component}"
    missing = missing_install(adapter, location)
    if missing:
        return [Issue("trainer", f"{adapter.title} is not installed ({missing} is missing): {command}")]
    if adapter.name == "native":
        from lorapilot.stack.install.native_trainer import missing_modules

        modules = missing_modules(location.python)
        if modules:
            return [
                Issue(
                    "trainer",
                    f"{adapter.title} cannot run: its environment ({location.python}) lacks "
                    f"{', '.join(modules)}; `{command}` installs them",
                )
            ]
    return []


def errors_of(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.level == "error"]


def ensure_valid(ctx: Context, profile: Profile, check_install: bool = True) -> list[Issue]:
    """Raise :class:`ProfileInvalid` listing every error; return the warnings."""
    issues = validate_profile(ctx, profile, check_install)
    if errors_of(issues):
        raise ProfileInvalid(errors_of(issues))
    return issues


def _regularization_issues(ctx: Context, profile: Profile) -> list[Issue]:
    """The regularization set exists, holds images and is not the training set itself."""
    reg = profile.regularization
    assert reg is not None
    if reg.name == profile.dataset.name:
        return [
            Issue(
                "regularization.name",
                f"the regularization set {reg.name!r} is the training dataset itself: choose a set of class images",
            )
        ]
    try:
        info = inspect_dataset(ctx.workspace, reg.name, profile.dataset.caption_extension)
    except (NotFoundError, PathEscapeError) as exc:
        return [Issue("regularization.name", str(exc))]
    if info.num_images == 0:
        return [
            Issue("regularization.name", f"regularization set {info.name!r} is empty: no images in {info.image_dir}")
        ]
    if info.num_captioned < info.num_images and not reg.class_tokens.strip():
        return [
            Issue(
                "regularization.class_tokens",
                f"{info.num_images - info.num_captioned} regularization image(s) have no caption and no class_tokens are set: they train on an empty caption",
                "warning",
            )
        ]
    return []
