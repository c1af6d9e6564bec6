"""The training forward: cycles of propagation through the other frames and back (hodor-training.md §2).

A sample is a reference frame 0 with its label map and ``K`` other frames. Cycle ``C1`` decodes the
reference descriptors in frame 0; cycle ``C(k+1)`` propagates forward 0 -> 1 -> ... -> k and back to 0.
On even iterations every step uses the descriptors of the previous frame only; on odd iterations a step
uses the descriptors of every frame visited so far in its direction (``[0,1] -> 2``, ``[1,2] -> 0``).
Forward steps are cached by their prefix trace across the cycles of one sample (so ``[0] -> 1`` runs once);
backward steps never are. The decoder's descriptor-independent work is done once per target frame. The model's three building blocks are chained here; nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hodor.model.decoder import DecoderPrelude
from hodor.model.hodor import USED_STRIDES
from hodor.model.masks import encoder_masks_from_masks, encoder_masks_from_probs
from hodor.train.losses import cross_entropy_loss, mask_iou, merge_background, multiclass_dice_loss


@dataclass(frozen=True)
class Step:
    """Decode the descriptors of ``sources`` in frame ``target``; forward steps may be cached."""

    sources: tuple[int, ...]
    target: int
    forward: bool

    def trace(self) -> str:
        return f"[{','.join(map(str, self.sources))}]->{self.target};"


def build_cycles(num_other_frames: int, iteration: int) -> list[list[Step]]:
    """The official cycles for ``num_other_frames`` other frames; the parity of ``iteration`` picks the
    single-frame (even) or multi-frame (odd) history."""
    multi = iteration % 2 == 1
    cycles = [[Step((0,), 0, forward=False)]]
    for k in range(1, num_other_frames + 1):
        steps = [Step(tuple(range(j)) if multi else (j - 1,), j, forward=True) for j in range(1, k + 1)]
        steps += [
            Step(tuple(range(j + 1, k + 1)) if multi else (j + 1,), j, forward=False)
            for j in range(k - 1, -1, -1)
        ]
        cycles.append(steps)
    return cycles


def drop_vanished_objects(labels: Tensor, presence: Tensor) -> tuple[Tensor, Tensor]:
    """Remove objects whose reference mask vanishes at stride 8 (nearest) in ANY sample; renumber the rest.

    ``labels`` [B, F, H, W] int64 ids (frame 0 = reference); ``presence`` [B, F, I] bool.
    Object id ``i`` means a different object in each sample, but ``I`` must be shared, so an id is kept
    only when it survives in every sample. If none survives, id 1 is kept (official behaviour).
    """
    num_obj = presence.shape[2]
    ref8 = F.interpolate(labels[:, :1].float(), scale_factor=0.125, mode="nearest")[:, 0]
    ids = torch.arange(1, num_obj + 1, device=labels.device)
    survives = (ref8.flatten(1)[:, :, None] == ids).any(dim=1).all(dim=0)  # [I]
    if bool(survives.all()):
        return labels, presence
    if not bool(survives.any()):
        survives = ids == 1
    lut = torch.zeros(num_obj + 1, dtype=labels.dtype, device=labels.device)
    lut[1:][survives] = torch.arange(1, int(survives.sum()) + 1, dtype=labels.dtype, device=labels.device)
    return lut[labels], presence[:, :, survives]


@dataclass
class CycleOutput:
    """Every prediction of one sample batch, in execution order.

    ``logits`` [B, 1+I, N, H, W] (background merged, full padded resolution) for the N predictions that
    have ground truth; ``gt`` [B, N, H, W] int64; ``frame_ids`` the target frame of every prediction
    (with or without GT), ``with_gt`` which of them entered ``logits``.
    """

    logits: Tensor
    gt: Tensor
    frame_ids: list[int]
    with_gt: list[bool]


def _one_hot(labels: Tensor, num_obj: int) -> Tensor:
    """[B, H, W] ids -> [B, I, H, W] float 0/1 for ids 1..I."""
    ids = torch.arange(1, num_obj + 1, device=labels.device)
    return (labels[:, None] == ids[None, :, None, None]).float()


def run_cycles(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    presence: Tensor,
    has_gt: list[bool],
    iteration: int,
    detach_masks: bool = True,
) -> CycleOutput:
    """Run all cycles of one batch.

    ``images`` [B, F, 3, H, W] normalised, H and W multiples of 32; ``labels`` [B, F, H, W] int64
    (frame 0 must be annotated); ``presence`` [B, F, I] bool (objects visible per frame);
    ``has_gt`` [F] whether frame f has ground truth (sparse: only frame 0).
    """
    b, nf = images.shape[:2]
    num_obj, num_bg = presence.shape[2], model.num_bg
    flat = model.extract_features(images.flatten(0, 1), USED_STRIDES)
    feats = [{s: flat[s].unflatten(0, (b, nf))[:, f] for s in (4, 8)} for f in range(nf)]
    fg8, bg8 = encoder_masks_from_masks(_one_hot(labels[:, 0], num_obj), num_bg, (labels[:, 0] == 0).float())
    ref_desc = model.encode_descriptors(feats[0][8], fg8, bg8, check_values=False)
    trackable0 = torch.ones(b, num_obj, dtype=torch.bool, device=images.device)
    cache: dict[str, tuple[tuple[Tensor, Tensor], Tensor]] = {}
    preludes: dict[int, DecoderPrelude] = {}  # per target frame: decoded up to 3 times per sample
    preds, gts, frame_ids, with_gt = [], [], [], []
    for cycle in build_cycles(nf - 1, iteration):
        descs, trackable, trace = {0: ref_desc}, trackable0, ""
        for step in cycle:
            trace += step.trace()
            trackable = trackable & presence[:, list(step.sources)].any(dim=1)
            if step.forward and trace in cache:
                descs[step.target], trackable = cache[trace]
                continue
            fg_hist = torch.stack([descs[s][0] for s in step.sources], dim=2)  # [B, I, T, C]
            bg_hist = torch.stack([descs[s][1] for s in step.sources], dim=2)  # [B, Qb, T, C]
            # [B, 1+Qb+I, H/4, W/4]; no value checks (device syncs): the histories are built here
            if step.target not in preludes:
                preludes[step.target] = model.decoder_prelude(feats[step.target])
            logits = model.decode_masks(
                feats[step.target], fg_hist, bg_hist, check_values=False, prelude=preludes[step.target]
            )
            frame_ids.append(step.target)
            with_gt.append(has_gt[step.target])
            if has_gt[step.target]:
                merged = merge_background(logits, num_bg)
                preds.append(F.interpolate(merged, scale_factor=4.0, mode="bilinear", align_corners=False))
                gt = labels[:, step.target]
                lut = torch.cat([torch.ones_like(trackable[:, :1]), trackable], dim=1).to(gt.dtype)
                gts.append(gt * torch.gather(lut, 1, gt.flatten(1)).view_as(gt))
            if step.target != 0:
                descs[step.target] = _reencode(model, logits, feats[step.target][8], num_bg, detach_masks)
                if step.forward:
                    cache[trace] = (descs[step.target], trackable)
    return CycleOutput(torch.stack(preds, dim=2), torch.stack(gts, dim=1), frame_ids, with_gt)


def _reencode(model: nn.Module, logits: Tensor, feats8: Tensor, num_bg: int, detach: bool) -> tuple:
    """Prediction -> soft masks at stride 8 (softmax at stride 4, bilinear 1/2) -> new descriptors."""
    probs = F.interpolate(
        logits.float().softmax(dim=1), scale_factor=0.5, mode="bilinear", align_corners=False
    )
    if detach:
        probs = probs.detach()
    fg8, bg8 = encoder_masks_from_probs(probs[:, 1 + num_bg :], num_bg)
    return model.encode_descriptors(feats8, fg8, bg8, check_values=False)


class TrainingModel(nn.Module):
    """Wraps a HODOR model for training: ``forward(batch, iteration)`` returns named losses.

    ``batch``: dict with ``images`` [B, F, 3, H, W], ``labels`` [B, F, H, W] int64, ``presence``
    [B, F, I] bool and ``has_gt`` list[bool] [F]. Returned: ``loss`` (= dice + ce, the one to backprop),
    ``dice``, ``ce`` and ``iou`` (detached, for logging). Wrapping the whole cycle in one ``forward`` is
    what lets DistributedDataParallel see every use of the parameters.
    """

    def __init__(self, model: nn.Module, detach_intermediate_masks: bool = True) -> None:
        super().__init__()
        self.model = model
        self.detach_intermediate_masks = detach_intermediate_masks

    def forward(self, batch: dict, iteration: int) -> dict[str, Tensor]:
        labels, presence = drop_vanished_objects(batch["labels"], batch["presence"])
        out = run_cycles(
            self.model, batch["images"], labels, presence, batch["has_gt"], iteration,
            self.detach_intermediate_masks,
        )  # fmt: skip
        dice = multiclass_dice_loss(out.logits, out.gt)
        ce = cross_entropy_loss(out.logits, out.gt)
        return {
            "loss": dice + ce,
            "dice": dice.detach(),
            "ce": ce.detach(),
            "iou": mask_iou(out.logits, out.gt),
        }
