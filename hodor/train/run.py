"""One training run end to end: check inputs, build data and model, resume or initialise, train, save.

All user-facing checks (datasets with no usable sample, an init checkpoint that does not fit, a rank that
cannot read the checkpoint rank 0 resumes from) happen before the first step. Where a run starts is
decided by rank 0 (:mod:`hodor.train.resume`) and broadcast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from hodor.config import to_dict
from hodor.data.standard_json import load_image_dataset, load_video_dataset
from hodor.data.train_samples import plan_samples
from hodor.data.train_samples_loader import BatchPlan, TrainBatches, fork_friendly, training_loader
from hodor.data.workspace import image_root, json_path
from hodor.errors import InputError
from hodor.model import ModelParams, build_model
from hodor.model.checkpoint import load_model_weights, load_pretrained_backbone, ours_to_official
from hodor.train import checkpoint as ckpt
from hodor.train import distributed
from hodor.train.cycles import TrainingModel
from hodor.train.definition import definition_id, run_definition
from hodor.train.distributed import DistContext
from hodor.train.hooks import CheckpointHook, LiveHook, ProgressHook, SpeedHook
from hodor.train.loop import Hook, Trainer, rank_batch_indices
from hodor.train.optim import build_optimizer
from hodor.train.params import REGIMES, TrainParams
from hodor.train.resume import Start, choose_start, cut_curves

# regime -> training datasets (video: YouTube-VOS first, DAVIS second; the order the shares refer to)
DATASETS = {"static": ["coco_2017_train"], "sparse": ["youtube_vos_2019_train", "davis_train"]}
DATASETS["dense"] = DATASETS["sparse"]


@dataclass(frozen=True)
class TrainSummary:
    regime: str
    steps: int
    seconds: float
    it_per_s: float
    first_loss: float
    last_loss: float
    final_checkpoint: Path

    def line(self) -> str:
        if self.steps == 0:
            return f"train {self.regime}: no step to train, final checkpoint {self.final_checkpoint}"
        return (
            f"train {self.regime}: {self.steps} steps in {self.seconds:.1f} s ({self.it_per_s:.2f} it/s), "
            f"loss {self.first_loss:.4f} -> {self.last_loss:.4f}, final checkpoint {self.final_checkpoint}"
        )


def build_batches(
    regime: str, workspace: Path, params: TrainParams, seed: int, world_size: int
) -> TrainBatches:
    """Load the regime's datasets and plan the samples and forward batches (all processes alike).

    Nothing per sample is precomputed: forward batch ``b`` is drawn by index (hodor.data.train_samples)."""
    if regime not in REGIMES:
        raise InputError(f"unknown regime {regime!r}; choose one of {', '.join(REGIMES)}")
    names = DATASETS[regime]
    n_batches = params.iterations * params.accumulation(world_size) * world_size
    if regime == "static":
        sources: list[Any] = [
            load_image_dataset(json_path(workspace, names[0]), image_root(workspace, names[0]))
        ]
        shares = [1.0]
    else:
        sources = [load_video_dataset(json_path(workspace, n), image_root(workspace, n)) for n in names]
        shares = [params.youtube_vos_fraction, 1.0 - params.youtube_vos_fraction]
    samples = plan_samples(regime, sources, shares, params)
    return TrainBatches(regime, BatchPlan(samples, params.samples_per_forward, n_batches), params, seed)


def _meta(
    regime: str,
    model_params: ModelParams,
    params: TrainParams,
    seed: int,
    definition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "format": ckpt.FORMAT,
        "regime": regime,
        "seed": seed,
        "global_batch": params.batch_size,
        "model_params": to_dict(model_params),
        "train_params": to_dict(params),
        "definition": definition,
        "definition_id": definition_id(definition) if definition is not None else None,
    }


def _payload(
    trainer: Trainer, meta: dict[str, Any], official_keys: bool, live: LiveHook | None = None
) -> dict[str, Any]:
    wrapper = trainer.model.module if isinstance(trainer.model, DistributedDataParallel) else trainer.model
    state = {k: v.detach().cpu() for k, v in wrapper.model.state_dict().items()}
    last = trainer.history[-1] if trainer.history else {}
    return {
        "model": ours_to_official(state) if official_keys else state,
        "optimizers_and_lr_schedulers": [(trainer.optimizer.state_dict(), [trainer.scheduler.state_dict()])],
        "iterations": trainer.step,
        "hodor": {
            **meta,
            "key_layout": "official" if official_keys else "ours",
            "data_position": trainer.step * meta["global_batch"],
            "scaler": trainer.scaler.state_dict(),
            "rng": ckpt.rng_state(),
            "metrics": {k: float(v) for k, v in last.items()},
            "live_window": [dict(m) for m in live.window] if live is not None else [],
        },
    }


def train(
    regime: str,
    *,
    model_params: ModelParams,
    params: TrainParams,
    seed: int,
    workspace: Path,
    out_dir: Path,
    live_dir: Path | None = None,
    init: Path | None = None,
    backbone: Path | None = None,
    resume: bool = True,
    ctx: DistContext | None = None,
    hooks: list[Hook] | None = None,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> TrainSummary:
    """Train ``regime`` into ``out_dir`` (``NNNNNN.pth`` + ``final.pth`` + ``run.json``); curves to ``live_dir``.

    ``init``: weights to start from (ours or official; finetuning). ``backbone``: an mmdetection Swin-T +
    FPN checkpoint for the paper variant's pretraining. ``resume`` (default): continue this run
    definition's newest checkpoint in ``out_dir`` (bit-exact on CPU), or restore a set-aside run of it;
    False starts fresh. Another definition's files are set aside, never deleted (:mod:`.resume`).
    ``say``: where the one-line decisions go (default: printed by rank 0).
    """
    ctx = ctx or DistContext()
    out_dir = Path(out_dir)
    say = say or (lambda line: print(f"train {regime}: {line}", flush=True))
    for path, what in ((init, "--init"), (backbone, "--backbone")):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{what} {path}: file not found")
    data = build_batches(regime, workspace, params, seed, ctx.world_size)  # InputError if no usable sample
    torch.manual_seed(seed)  # identical initial weights on every rank
    model = build_model(model_params)
    if init is not None:
        load_model_weights(model, init)
    elif backbone is not None:
        load_pretrained_backbone(model, backbone)
    definition = run_definition(
        regime, seed=seed, model_params=model_params, params=params,
        data_files=[json_path(workspace, name) for name in DATASETS[regime]],
        init_weights=model.state_dict() if init is not None else None, backbone=backbone,
    )  # fmt: skip
    distributed.setup(ctx)
    start, saved = _agree_on_start(ctx, out_dir, live_dir, definition, params, resume, say)
    if start.done:
        return _already_done(regime, ctx, out_dir, live_dir, start, saved)
    if saved is not None:
        load_model_weights(model, saved)
    trainer = _make_trainer(model, params, ctx, seed, saved)
    accumulation = params.accumulation(ctx.world_size)
    indices = rank_batch_indices(trainer.step, params.iterations, accumulation, ctx)
    loader = training_loader(data, indices, params.num_workers)
    speed = SpeedHook()
    all_hooks: list[Hook] = [speed, *(hooks or [])]
    if ctx.is_main:
        all_hooks += _main_hooks(regime, model_params, params, out_dir, live_dir, definition, saved, progress)
    with fork_friendly(params.num_workers > 0):  # safe fork; workers share the rank's memory
        trainer.fit(loader, params.iterations, all_hooks)
    distributed.barrier(ctx)
    distributed.teardown(ctx)
    losses = [m["loss"] for m in trainer.history] or [float("nan")]
    steps = trainer.step - start.step
    return TrainSummary(regime, steps, speed.elapsed(), steps / max(speed.elapsed(), 1e-9), losses[0], losses[-1],
                        out_dir / ckpt.FINAL)  # fmt: skip


def _main_hooks(
    regime: str, model_params: ModelParams, params: TrainParams, out_dir: Path, live_dir: Path | None,
    definition: dict[str, Any], saved: dict[str, Any] | None, progress: bool,
) -> list[Hook]:  # fmt: skip
    """Progress bar, curves and checkpoints: rank 0 only. The curves continue from the resumed step."""
    hooks: list[Hook] = [ProgressHook(params.iterations, f"train {regime}", enabled=progress)]
    live = None
    if live_dir is not None:
        if saved is not None:
            cut_curves(Path(live_dir), int(saved["iterations"]))
        window = saved["hodor"].get("live_window") if saved is not None else None
        live = LiveHook(Path(live_dir), params.log_interval, resume=saved is not None, window=window)
        hooks.append(live)
    meta = _meta(regime, model_params, params, definition["seed"], definition)
    official = model_params.variant == "paper"
    payload = lambda t: _payload(t, meta, official, live)  # noqa: E731
    hooks.append(CheckpointHook(out_dir, params.save_interval, params.keep_last, payload))
    return hooks


def _agree_on_start(
    ctx: DistContext, out_dir: Path, live_dir: Path | None, definition: dict[str, Any], params: TrainParams,
    resume: bool, say: Callable[[str], None],
) -> tuple[Start, dict[str, Any] | None]:  # fmt: skip
    """Rank 0 chooses the start and broadcasts it; every rank loads that checkpoint from its own output
    folder. Any rank that cannot (e.g. no shared file system) stops every rank with the path named."""
    def_id = definition_id(definition)
    start, saved = Start(), None
    if ctx.is_main:
        start, saved = choose_start(out_dir, live_dir, definition, def_id, iterations=params.iterations,
                                    keep_previous=params.keep_previous_runs, resume=resume, say=say)  # fmt: skip
    main_start, main_id = distributed.broadcast_from_main((start, def_id), ctx)
    problem = None
    if main_id != def_id:
        problem = (f"rank {ctx.rank}: run definition {def_id} differs from rank 0's {main_id}: params, data "
                   "JSON files or --init differ between the nodes")  # fmt: skip
    elif main_start.checkpoint is not None and not ctx.is_main:
        path = out_dir / main_start.checkpoint
        try:
            saved = ckpt.load(path)
        except InputError as err:
            problem = (f"rank {ctx.rank} cannot read the checkpoint that rank 0 resumes from: {path} ({err}); "
                       "every node must see the same output folder (a shared file system)")  # fmt: skip
    problems = [p for p in distributed.gather_objects(problem, ctx) if p]
    if problems:
        distributed.teardown(ctx)
        raise InputError("; ".join(problems))
    return main_start, saved


def _already_done(
    regime: str, ctx: DistContext, out_dir: Path, live_dir: Path | None, start: Start, saved: dict | None
) -> TrainSummary:
    """The chosen checkpoint is the last step: make it ``final.pth`` if it is not already, train nothing."""
    if ctx.is_main and saved is not None:
        if start.checkpoint != ckpt.FINAL:
            ckpt.save(out_dir / ckpt.FINAL, saved)
        if live_dir is not None:
            cut_curves(Path(live_dir), start.step)
    distributed.barrier(ctx)
    distributed.teardown(ctx)
    return TrainSummary(regime, 0, 0.0, 0.0, float("nan"), float("nan"), out_dir / ckpt.FINAL)


def _make_trainer(model, params: TrainParams, ctx: DistContext, seed: int, saved: dict | None) -> Trainer:
    model.to(ctx.device)
    wrapper: torch.nn.Module = TrainingModel(model, params.detach_intermediate_masks)
    if ctx.distributed:
        # unused parameters exist by design (fmap_proj_4x, norm_layers.4), as in the official DDP setup
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        wrapper = DistributedDataParallel(wrapper, device_ids=ids, find_unused_parameters=True)
    optimizer, scheduler = build_optimizer(model, params)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=params.amp == "fp16")
    trainer = Trainer(
        wrapper, optimizer, scheduler, scaler, ctx, seed, params.accumulation(ctx.world_size), params.amp
    )
    if saved is not None:
        (opt_state, (sched_state,)), = saved["optimizers_and_lr_schedulers"]  # fmt: skip
        optimizer.load_state_dict(opt_state)
        scheduler.load_state_dict(sched_state)
        scaler.load_state_dict(saved["hodor"]["scaler"])
        ckpt.set_rng_state(saved["hodor"]["rng"])
        trainer.step = int(saved["iterations"])
    return trainer
