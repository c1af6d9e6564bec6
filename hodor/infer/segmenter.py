"""Streaming semi-supervised video segmentation: the official HODOR propagation (hodor-inference.md §3).

Usage::

    seg = VideoSegmenter(model, temporal_window=7, device="cpu", min_image_dim=512, max_image_dim=987)
    seg.reset("bear")
    seg.add_mask(0, first_frame_labels)          # [H, W] uint8 object ids at the original size
    for result in seg.propagate(frames_bgr):     # iterable of [H, W, 3] uint8 BGR frames
        result.labels                            # [H, W] uint8 ids at the original size

Memory stays bounded by the window: features are extracted ``backbone_batch_size`` frames ahead and
dropped once their frame is segmented, and descriptors older than the window are discarded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hodor.data.image_ops import pad_to_multiple, preprocess_frames, resize_mask, resized_dims
from hodor.errors import InputError
from hodor.infer.objects import ObjectRegistry
from hodor.infer.params import InferParams
from hodor.model.hodor import USED_STRIDES
from hodor.model.masks import encoder_masks_from_masks, encoder_masks_from_probs

log = logging.getLogger(__name__)

AMP_DTYPES: dict[str, torch.dtype | None] = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}
MASK_STRIDE = 8  # the encoder's soft masks live at stride 8 (hodor-model.md §3)
LOGIT_STRIDE = 4  # the decoder's logits live at stride 4


@dataclass(frozen=True)
class FrameResult:
    """One segmented frame: ``labels`` [H, W] uint8 object ids at the original size (0 = background)."""

    index: int
    labels: np.ndarray
    object_ids: tuple[int, ...]


@dataclass
class VideoState:
    """Everything the segmenter knows about the current video (cleared by ``reset``).

    fg_hist: frame -> {object id -> descriptor [C]}; bg_hist: frame -> background descriptors [Qb, C].
    Only frames inside the temporal window of the next frame are kept.
    """

    name: str
    objects: ObjectRegistry = field(default_factory=ObjectRegistry)
    orig_hw: tuple[int, int] | None = None
    input_hw: tuple[int, int] | None = None  # resized size before padding
    fg_hist: dict[int, dict[int, Tensor]] = field(default_factory=dict)
    bg_hist: dict[int, Tensor] = field(default_factory=dict)
    # (frame, id, mask, at_input_size) given before the frame size was known
    pending_masks: list[tuple[int, int, Tensor, bool]] = field(default_factory=list)
    next_frame: int = 0


class VideoSegmenter:
    """Segment a video frame by frame from reference masks, with the official temporal-window rule.

    ``min_image_dim``/``max_image_dim`` give the network input size (official resize rule); ``None`` keeps
    the original size (padded to x32). ``amp_dtype`` (e.g. ``torch.bfloat16``) runs the network under
    autocast (the decoder falls back to float32 where an op lacks a kernel for it); probabilities, stored
    descriptors and label decisions stay in float32.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        temporal_window: int,
        device: torch.device | str = "cpu",
        amp_dtype: torch.dtype | None = None,
        min_image_dim: int | None = None,
        max_image_dim: int | None = None,
        backbone_batch_size: int = 16,
    ) -> None:
        if temporal_window < 1:
            raise ValueError(f"temporal_window must be >= 1, got {temporal_window}")
        if (min_image_dim is None) != (max_image_dim is None):
            raise ValueError("give both min_image_dim and max_image_dim, or neither")
        self.model = model.eval()
        self.temporal_window = temporal_window
        self.device = torch.device(device)
        self.amp_dtype = amp_dtype
        self.min_image_dim, self.max_image_dim = min_image_dim, max_image_dim
        self.backbone_batch_size = backbone_batch_size
        self._decoder_fp32 = False  # set when the decoder cannot run under autocast on this device
        self.num_bg = int(model.num_bg)
        self.state = VideoState(name="video")

    @classmethod
    def from_params(
        cls, model: torch.nn.Module, params: InferParams, device: torch.device | str
    ) -> VideoSegmenter:
        """A segmenter with the settings of :class:`InferParams` (window, input size, amp, batch)."""
        return cls(
            model,
            temporal_window=params.temporal_window,
            device=device,
            amp_dtype=AMP_DTYPES[params.amp],
            min_image_dim=params.min_image_dim,
            max_image_dim=params.max_image_dim,
            backbone_batch_size=params.backbone_batch_size,
        )

    # ----------------------------------------------------------------------------------------- public API
    def reset(self, name: str = "video") -> None:
        """Start a new video; ``name`` appears in error and warning messages."""
        self.state = VideoState(name=name)

    def add_mask(self, frame: int, labels: np.ndarray, ids: Iterable[int] | None = None) -> None:
        """Give reference masks for ``frame`` (not yet segmented): ``labels`` [H, W] integer ids at the
        original size; ``ids`` selects which ids to take (default: every non-zero id, ascending)."""
        labels = np.asarray(labels)
        if labels.ndim != 2:
            raise InputError(
                f"{self.state.name}: mask for frame {frame} must be [H, W] ids, got {labels.shape}"
            )
        chosen = sorted(int(i) for i in np.unique(labels) if i != 0) if ids is None else [int(i) for i in ids]
        for obj_id in chosen:
            self.add_object_mask(frame, obj_id, labels == obj_id)

    def add_object_mask(
        self, frame: int, obj_id: int, mask: np.ndarray | Tensor, *, at_input_size: bool = False
    ) -> None:
        """Give one object's reference mask [H, W] (0/1) for ``frame``, at the original size (or, with
        ``at_input_size``, already at the resized network input size before padding)."""
        st = self.state
        if frame < st.next_frame:
            raise InputError(
                f"{st.name}: frame {frame} was already segmented; add masks before propagating it"
            )
        if not 1 <= int(obj_id) <= 255:
            raise InputError(
                f"{st.name}: frame {frame}: object id {obj_id} outside 1..255 (PNG label values)"
            )
        st.pending_masks.append((frame, int(obj_id), torch.as_tensor(np.asarray(mask)), at_input_size))
        if st.orig_hw is not None:
            self._register_pending()

    def propagate(self, frames: Iterable[np.ndarray], *, end_of_video: bool = True) -> Iterator[FrameResult]:
        """Segment ``frames`` ([H, W, 3] uint8 BGR at the original size), continuing at ``state.next_frame``.

        A generator: frames are read and pre-processed ``backbone_batch_size`` at a time. With
        ``end_of_video`` the last frame is not re-encoded (nothing follows it), as in the official code.
        """

        def prepared() -> Iterator[tuple[Tensor, list[bool]]]:
            for batch in _batches(_with_last_flag(frames), self.backbone_batch_size):
                for k, (frame, _) in enumerate(batch):
                    self._set_sizes(frame.shape[:2], self.state.next_frame + k)
                yield (
                    preprocess_frames([f for f, _ in batch], self.state.input_hw),
                    [last for _, last in batch],
                )

        yield from self._run(prepared(), end_of_video)

    def propagate_preprocessed(
        self,
        images: Tensor,
        *,
        input_hw: tuple[int, int],
        orig_hw: tuple[int, int],
        end_of_video: bool = True,
    ) -> Iterator[FrameResult]:
        """Like :meth:`propagate` for frames already pre-processed: ``images`` [T, 3, Hp, Wp] normalised and
        padded, ``input_hw`` their size before padding, ``orig_hw`` the size the labels are resized to."""
        st = self.state
        if st.orig_hw is None:
            st.orig_hw, st.input_hw = tuple(orig_hw), tuple(input_hw)
            self._register_pending()
        bs = self.backbone_batch_size
        n = images.shape[0]
        batches = (
            (images[i : i + bs], [j == n - 1 for j in range(i, min(i + bs, n))]) for i in range(0, n, bs)
        )
        yield from self._run(batches, end_of_video)

    def _run(self, batches: Iterable[tuple[Tensor, list[bool]]], end_of_video: bool) -> Iterator[FrameResult]:
        with torch.inference_mode():
            for images, last_flags in batches:
                first = self.state.next_frame
                feats = self._batch_features(images, first)
                for k, is_last in enumerate(last_flags):
                    t = first + k
                    frame_feats = feats.pop(k, None)
                    if frame_feats is None and self._needs_features(t):  # a mask arrived after batching
                        frame_feats = self._extract(images[k : k + 1])
                    labels = self._step(t, frame_feats, skip_encode=is_last and end_of_video)
                    self.state.next_frame = t + 1
                    self._prune_history(t + 1)
                    yield FrameResult(t, labels, tuple(self.state.objects.tracked))

    # ------------------------------------------------------------------------------------- frame handling
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _decode(self, feats: dict[int, Tensor], *history: Tensor) -> Tensor:
        """decode_masks under autocast; in fp32 where an op has no kernel for the autocast dtype
        (e.g. fp16 on some CPUs), noted once in the log."""
        if self.amp_dtype is not None and not self._decoder_fp32:
            try:
                with self._autocast():
                    return self.model.decode_masks(feats, *history, check_values=False)
            except RuntimeError as err:
                if "not implemented for" not in str(err):
                    raise
                self._decoder_fp32 = True
                log.warning(
                    "decoder runs in float32: %s has no %s kernel here (%s)", self.device, self.amp_dtype, err
                )
        feats32 = {s: f.float() for s, f in feats.items()}
        return self.model.decode_masks(feats32, *history, check_values=False)

    def _extract(self, images: Tensor) -> dict[int, Tensor]:
        with self._autocast():
            return self.model.extract_features(images.to(self.device), USED_STRIDES)

    def _set_sizes(self, hw: tuple[int, int], t: int) -> None:
        st = self.state
        h, w = int(hw[0]), int(hw[1])
        if st.orig_hw is None:
            st.orig_hw = (h, w)
            # As in the official code, the first frame decides the network input size.
            fixed = self.min_image_dim is None
            st.input_hw = (h, w) if fixed else resized_dims(h, w, self.min_image_dim, self.max_image_dim)
            self._register_pending()
        elif (h, w) != st.orig_hw:
            raise InputError(
                f"{st.name}: frame {t} is {h}x{w} but the video's first frame is {st.orig_hw[0]}x{st.orig_hw[1]}"
            )

    def _register_pending(self) -> None:
        """Resize pending reference masks to the network input (bilinear, > 0.5, padded) and register them."""
        st = self.state
        for frame, obj_id, mask, at_input_size in st.pending_masks:
            expected = st.input_hw if at_input_size else st.orig_hw
            if tuple(mask.shape) != expected:
                raise InputError(
                    f"{st.name}: mask of object {obj_id} at frame {frame} is {mask.shape[0]}x{mask.shape[1]} "
                    f"but the frames are {expected[0]}x{expected[1]}; give masks at the frame size"
                )
            resized = mask.bool() if at_input_size else resize_mask(mask, st.input_hw)
            st.objects.add_reference(frame, obj_id, pad_to_multiple(resized).to(self.device))
        st.pending_masks.clear()

    def _needs_features(self, t: int) -> bool:
        return bool(self.state.objects.tracked) or self.state.objects.has_references(t)

    def _batch_features(self, images: Tensor, first: int) -> dict[int, dict[int, Tensor]]:
        """Backbone features of a batch [B, 3, Hp, Wp], for the frames that will need them
        -> {index in batch: {stride: [1, C, Hp/stride, Wp/stride]}}."""
        objects = self.state.objects
        start = objects.first_reference_frame()
        if objects.tracked:
            keep = list(range(images.shape[0]))
        else:  # frames before the first reference mask are never looked at by the network
            keep = [k for k in range(images.shape[0]) if start is not None and first + k >= start]
        if not keep:
            return {}
        feats = self._extract(images[keep])
        return {k: {s: f[j : j + 1] for s, f in feats.items()} for j, k in enumerate(keep)}

    def _step(self, t: int, feats: dict[int, Tensor] | None, *, skip_encode: bool) -> np.ndarray:
        """Segment frame t (hodor-inference.md §3, steps 1-5) -> [H, W] uint8 labels at the original size."""
        st = self.state
        had_objects = bool(st.objects.tracked)
        refs = st.objects.pop_references(t)
        if not had_objects and not refs:
            return np.zeros(st.orig_hw, dtype=np.uint8)  # at the ORIGINAL size (the official code pads it)
        gt = self._encode_references(t, feats, refs, store_bg=not had_objects) if refs else {}
        if not had_objects:
            return self._labels_from_references(gt)
        ids, fg, bg, fg_invalid, bg_invalid = self._history(t)
        logits = self._decode(feats, fg, bg, fg_invalid, bg_invalid).float()
        nb = 1 + self.num_bg
        out_probs = torch.softmax(_rescale(logits, LOGIT_STRIDE), dim=1)  # official: resize logits, softmax
        labels = self._labels_from_probs(_override_with_gt(out_probs, ids, gt, nb)[0], [0] * nb + ids)
        if not skip_encode:
            # Official: softmax, resize, paste GT, keep the object channels. Resizing is per channel, so
            # only the I object channels are brought to full size (the 1 + Qb others are never read).
            internal = _rescale(torch.softmax(logits, dim=1)[:, nb:], LOGIT_STRIDE)
            internal = _override_with_gt(internal, ids, gt, 0)
            fg8, bg8 = encoder_masks_from_probs(_rescale(internal, 1.0 / MASK_STRIDE), num_bg=self.num_bg)
            with self._autocast():
                fg_desc, bg_desc = self.model.encode_descriptors(feats[8], fg8, bg8, check_values=False)
            st.fg_hist[t] = {obj_id: d.float() for obj_id, d in zip(ids, fg_desc[0], strict=True)}
            st.bg_hist[t] = bg_desc[0].float()
        return labels

    def _encode_references(
        self, t: int, feats: dict[int, Tensor], refs: dict[int, Tensor], *, store_bg: bool
    ) -> dict[int, Tensor]:
        """Descriptors from the reference masks of frame t; returns the kept masks {id: bool [Hp, Wp]}."""
        st = self.state
        ids = list(refs)
        masks = torch.stack([refs[i] for i in ids]).float()[None]  # [1, I, Hp, Wp]
        # Background = pixels where no new object's mask is on, computed BEFORE dropping vanished objects.
        fg8, bg8 = encoder_masks_from_masks(masks, num_bg=self.num_bg)
        valid = (fg8[0].flatten(1) > 0.5).any(dim=1).tolist()
        for obj_id, ok in zip(ids, valid, strict=True):
            if not ok:
                st.objects.mark_dropped(obj_id, t, st.name)
        kept = [i for i, ok in zip(ids, valid, strict=True) if ok]
        if not kept:
            return {}
        with self._autocast():
            fg_desc, bg_desc = self.model.encode_descriptors(
                feats[8], fg8[:, torch.tensor(valid)], bg8, check_values=False
            )
        st.fg_hist.setdefault(t, {}).update({i: d.float() for i, d in zip(kept, fg_desc[0], strict=True)})
        if store_bg:
            st.bg_hist[t] = bg_desc[0].float()
        st.objects.mark_tracked(kept)
        return {i: refs[i] for i in kept}

    def _history(self, t: int) -> tuple[list[int], Tensor, Tensor, Tensor, Tensor]:
        """Descriptors over frames max(0, t-W) .. t: ids, fg [1,I,T,C], bg [1,Qb,T,C], invalid masks."""
        st = self.state
        t_range = range(max(0, t - self.temporal_window), t + 1)
        ids = sorted({i for s in t_range for i in st.fg_hist.get(s, {})})
        dim = int(self.model.dim)
        zero_fg = torch.zeros(dim, device=self.device)
        zero_bg = torch.zeros(self.num_bg, dim, device=self.device)
        fg = torch.stack([torch.stack([st.fg_hist.get(s, {}).get(i, zero_fg) for s in t_range]) for i in ids])
        bg = torch.stack([st.bg_hist.get(s, zero_bg) for s in t_range], dim=1)  # [Qb, T, C]
        fg_invalid = torch.tensor(
            [[i not in st.fg_hist.get(s, {}) for s in t_range] for i in ids], device=self.device
        )
        bg_invalid = torch.tensor([s not in st.bg_hist for s in t_range], device=self.device)
        bg_invalid = bg_invalid[None].expand(self.num_bg, -1)
        return ids, fg[None], bg[None], fg_invalid[None], bg_invalid[None]

    def _prune_history(self, next_t: int) -> None:
        """Forget descriptors that no later frame's window can reach (frames < next_t - W)."""
        oldest = next_t - self.temporal_window
        for hist in (self.state.fg_hist, self.state.bg_hist):
            for s in [s for s in hist if s < oldest]:
                del hist[s]

    def _labels_from_probs(self, probs: Tensor, channel_ids: list[int]) -> np.ndarray:
        """[K, Hp, Wp] probabilities -> crop padding, bilinear to the original size, arg-max -> ids."""
        st = self.state
        h, w = st.input_hw
        resized = probs[:, :h, :w]
        if (h, w) != tuple(st.orig_hw):  # a same-size bilinear resize is the identity: skipped
            resized = F.interpolate(resized[None], size=st.orig_hw, mode="bilinear", align_corners=False)[0]
        # First maximum on ties, as argmax and the official code; max(dim) is ~5x faster than argmax over
        # the channel dim of a [K, H, W] map on the CPU (measured at 480p, 13 channels).
        winner = resized.max(dim=0).indices
        lut = torch.tensor(channel_ids, dtype=torch.uint8, device=winner.device)
        return lut[winner].cpu().numpy()

    def _labels_from_references(self, gt: dict[int, Tensor]) -> np.ndarray:
        """Output of a frame where the first objects start: their masks vs a zero background channel
        (ties between overlapping masks go to the object given first)."""
        if not gt:
            return np.zeros(self.state.orig_hw, dtype=np.uint8)
        masks = torch.stack(list(gt.values())).float()
        masks = torch.cat([torch.zeros_like(masks[:1]), masks])
        return self._labels_from_probs(masks, [0, *gt])


def _rescale(x: Tensor, factor: float) -> Tensor:
    """Bilinear rescale by a factor, exactly as the official SegmentationMask.resize does it."""
    return F.interpolate(
        x, scale_factor=factor, mode="bilinear", align_corners=False, recompute_scale_factor=False
    )


def _override_with_gt(probs: Tensor, ids: list[int], gt: dict[int, Tensor], num_bg: int) -> Tensor:
    """Paste reference masks of objects introduced at this frame into [1, K, Hp, Wp] probabilities whose
    object channels start at ``num_bg`` (0 when only object channels are given): where a mask is on,
    every other channel becomes 0; the object's channel becomes the mask."""
    if not gt:
        return probs
    probs = probs.clone()
    for obj_id, mask in gt.items():  # in reference order: a later mask wins where masks overlap
        probs[0] = torch.where(mask[None], torch.zeros_like(probs[0]), probs[0])
        probs[0, num_bg + ids.index(obj_id)] = mask.to(probs.dtype)
    return probs


def _with_last_flag(frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, bool]]:
    """Yield (frame, is_last) with a one-frame look-ahead."""
    it = iter(frames)
    try:
        current = next(it)
    except StopIteration:
        return
    for nxt in it:
        yield current, False
        current = nxt
    yield current, True


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
