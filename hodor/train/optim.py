"""AdamW and the official learning-rate schedules (hodor-training.md §4)."""

from __future__ import annotations

from torch import nn
from torch.optim import AdamW, Optimizer
from torch.optim.lr_scheduler import LambdaLR

from hodor.train.params import TrainParams


def lr_at(it: int, params: TrainParams) -> float:
    """Learning rate after ``it`` optimizer steps.

    Both schedules warm up linearly from ``warmup_lr_init`` to ``base_lr`` over ``warmup_iters`` steps
    (reaching ``base_lr`` at ``it == warmup_iters``); ``step`` then multiplies by each decay rate from its
    milestone on, ``warmup`` stays constant.
    """
    if params.warmup_iters and it <= params.warmup_iters:
        lr = params.warmup_lr_init + (it / params.warmup_iters) * (params.base_lr - params.warmup_lr_init)
    else:
        lr = params.base_lr
    if params.lr_schedule == "step":
        for milestone, rate in zip(params.lr_steps, params.lr_decay_rates, strict=True):
            if it >= milestone:
                lr *= rate
    return lr


#: Devices with torch's fused AdamW kernel (one multi-tensor kernel instead of a loop over parameters).
FUSED_DEVICES = ("cpu", "cuda")


def build_optimizer(model: nn.Module, params: TrainParams) -> tuple[Optimizer, LambdaLR]:
    """AdamW over all parameters (one group, default betas/eps, no clipping) and its schedule.

    The fused implementation where every parameter lives on a device that has it (the same update up
    to float rounding, ~1e-7 relative; it saves the per-parameter Python loop of the default on the CPU
    and the many small kernel launches on a GPU); else the default. Build it after moving the model to
    its device. The scheduler's lambda is a factor of ``base_lr``; it is stepped once per optimizer step.
    """
    parameters = list(model.parameters())
    fused = all(p.device.type in FUSED_DEVICES and p.is_floating_point() for p in parameters)
    optimizer = AdamW(
        parameters, lr=params.base_lr, weight_decay=params.weight_decay, fused=True if fused else None
    )
    scheduler = LambdaLR(optimizer, lambda it: lr_at(it, params) / params.base_lr)
    return optimizer, scheduler
