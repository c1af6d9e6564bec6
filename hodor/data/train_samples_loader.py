"""Pixels for the training samples: augmentation, batching by object count and aspect ratio, padding.

A *forward batch* is ``samples_per_forward`` samples with the same number of objects and aspect ratios
within 0.1 of each other (official batch sampler), formed within a bounded window of consecutive samples
(:class:`BatchPlan`). Forward batch ``i`` is a pure function of ``(seed, i)``: its samples come from the
plan, and every random draw of its augmentation comes from ``numpy.random.default_rng([seed, i, j])`` for
its ``j``-th sample, so results do not depend on worker count, rank, resumption or the run's length.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from hodor.data import augment as aug
from hodor.data.image_ops import normalize_bgr, pad_to_multiple, read_frame_bgr, resized_dims
from hodor.data.train_samples import SamplePlan, SampleSpec
from hodor.errors import InputError
from hodor.train.params import TrainParams

MAX_ASPECT_SPREAD = 0.1
WINDOW_BATCHES = 64  # forward batches formed together from one window of consecutive samples
_WINDOWS_CACHED = 4


def group_window(
    specs: list[SampleSpec], first: int, per_batch: int, count: int, seed: int
) -> list[list[int]]:
    """``count`` batches of sample indices from ``specs`` (samples ``first``, ``first + 1``, ...).

    Within an object count, samples sorted by aspect ratio are cut into consecutive batches; batches
    whose aspect spread exceeds 0.1 (and leftovers) are dropped and replaced by random repeats of the
    kept ones; then the batches are shuffled (official batch sampler, applied to one window).
    """
    rng = np.random.default_rng([seed, 2, first])
    batches = []
    for k in sorted({len(s.objects) for s in specs}):
        order = sorted(
            (n for n, s in enumerate(specs) if len(s.objects) == k), key=lambda n: (specs[n].aspect, n)
        )
        for start in range(0, len(order) - per_batch + 1, per_batch):
            chunk = order[start : start + per_batch]
            if specs[chunk[-1]].aspect - specs[chunk[0]].aspect <= MAX_ASPECT_SPREAD:
                batches.append([first + n for n in chunk])
    if not batches:
        raise InputError(
            f"no batch of {per_batch} samples with equal object count and aspect ratios within "
            f"{MAX_ASPECT_SPREAD} can be formed among {len(specs)} consecutive samples; lower "
            "samples_per_forward or add data"
        )
    batches += [batches[int(k)] for k in rng.integers(0, len(batches), count - len(batches))]
    return [batches[int(k)] for k in rng.permutation(count)]


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, musl): the remedies below are glibc's
        return None


@contextlib.contextmanager
def fork_friendly(enabled: bool = True) -> Iterator[None]:
    """Wrap the iteration of a DataLoader with forked workers, so that forking is safe and cheap.

    Safe: OpenCV's thread pool is shut down (1 thread) while the workers are forked. A parent that had
    used it (any multi-threaded ``cv2`` call) holds pool threads parked on a condition variable; a forked
    child inherits the variable with its waiters but not the threads, and its ``cv2.setNumThreads``
    (:func:`worker_init`) then blocks forever in ``pthread_cond_destroy`` (py-spy, issue 16). The rank
    does no OpenCV work while workers load. (torch's own pool is handled by the DataLoader's workers.)

    Cheap: before the workers fork, freed heap (the parsed JSON) goes back to the OS and every object moves
    to the GC's permanent generation, so that collections in the workers do not write to (and so copy)
    the pages of the rank's objects. Both are undone on exit.
    """
    if not enabled:
        yield
        return
    import cv2

    cv2_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # joins the pool's threads here, in the parent, before any fork
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        cv2.setNumThreads(cv2_threads)


def training_loader(
    data: Dataset, sampler: Sequence[int], num_workers: int, timeout: float = 0.0
) -> DataLoader:
    """The rank's DataLoader over forward batches ``sampler``; iterate it inside :func:`fork_friendly`.

    Workers are forked (``multiprocessing_context="fork"`` on Linux, whatever Python's default): they
    share the rank's dataset pages instead of unpickling a copy each, which is what keeps memory flat
    (README, paper profile). ``timeout``: seconds to wait for one batch before raising (0 = forever).
    """
    context = "fork" if num_workers > 0 and sys.platform.startswith("linux") else None
    return DataLoader(data, batch_size=None, sampler=sampler, num_workers=num_workers,
                      worker_init_fn=worker_init if num_workers > 0 else None,
                      multiprocessing_context=context, timeout=timeout)  # fmt: skip


def worker_init(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: one OpenCV thread, and a fixed 128 KiB mmap threshold.

    Measured (benchmarks/paper_scale.py): with glibc's dynamic threshold, every freed multi-megabyte image
    buffer raised the threshold and later buffers stayed on the fragmented heap; a worker grew to
    ~480 MB PSS after 60 batches, ~180 MB with the fixed threshold (big buffers go back to the OS on free).
    """
    import cv2

    cv2.setNumThreads(1)
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, 1 << 17)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 17)  # M_TRIM_THRESHOLD


class BatchPlan:
    """Forward batch ``b`` -> its sample specs; a pure function of ``(sample_seed, b)``.

    Batches ``w * WINDOW_BATCHES ...`` are formed from the ``WINDOW_BATCHES * per_batch`` samples of
    window ``w``, so no list over the whole run is ever built (a few windows are cached per process).
    """

    def __init__(self, samples: SamplePlan, per_batch: int, count: int) -> None:
        self.samples, self.per_batch, self.count = samples, per_batch, count
        self._windows: OrderedDict[int, tuple[list[list[int]], dict[int, SampleSpec]]] = OrderedDict()

    def __len__(self) -> int:
        return self.count

    def sample_indices(self, index: int) -> list[int]:
        return self._window(index // WINDOW_BATCHES)[0][index % WINDOW_BATCHES]

    def specs(self, index: int) -> list[SampleSpec]:
        batches, specs = self._window(index // WINDOW_BATCHES)
        return [specs[i] for i in batches[index % WINDOW_BATCHES]]

    def _window(self, w: int) -> tuple[list[list[int]], dict[int, SampleSpec]]:
        if w not in self._windows:
            first = w * WINDOW_BATCHES * self.per_batch
            specs = [self.samples.spec(first + n) for n in range(WINDOW_BATCHES * self.per_batch)]
            seed = self.samples.params.sample_seed
            batches = group_window(specs, first, self.per_batch, WINDOW_BATCHES, seed)
            self._windows[w] = (batches, {first + n: s for n, s in enumerate(specs)})
            if len(self._windows) > _WINDOWS_CACHED:
                self._windows.popitem(last=False)
        return self._windows[w]


class TrainBatches(Dataset):
    """Forward batch ``i`` -> dict(images [B, F, 3, H, W] float, labels [B, F, H, W] int64,
    presence [B, F, I] bool, has_gt list[bool] of length F); H, W padded to multiples of 32."""

    def __init__(self, regime: str, plan: BatchPlan, params: TrainParams, seed: int) -> None:
        self.regime, self.plan, self.sources = regime, plan, plan.samples.sources
        self.params, self.seed = params, seed

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, index: int) -> dict:
        samples = [
            self.sample(spec, np.random.default_rng([self.seed, index, j]))
            for j, spec in enumerate(self.plan.specs(index))
        ]
        return collate(samples, self.has_gt())

    def has_gt(self) -> list[bool]:
        nf = 1 + self.params.num_other_frames
        return [True] + [self.regime != "sparse"] * (nf - 1)

    def sample(self, spec: SampleSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """One sample -> (images [F, 3, h, w] normalised, invalid pixels 0; labels [F, h, w]; presence [F, I])."""
        frames = self._static(spec, rng) if self.regime == "static" else self._video(spec, rng)
        num_obj = len(spec.objects)
        if self.regime == "sparse":
            presence = torch.ones(len(frames), num_obj, dtype=torch.bool)
        else:
            presence = torch.stack(
                [torch.from_numpy(aug.object_areas(f.labels, num_obj) > 0) for f in frames]
            )
        images = normalize_bgr(np.stack([f.image for f in frames]))
        images = images * torch.from_numpy(np.stack([f.valid for f in frames]))[:, None]
        labels = torch.from_numpy(np.stack([f.labels for f in frames])).long()
        return images, labels, presence

    def _static(self, spec: SampleSpec, rng: np.random.Generator) -> list[aug.Frame]:
        dataset = self.sources[spec.source]
        record = dataset.images[spec.item]
        image = read_frame_bgr(dataset.image_path(record))
        _check_size(image, record.height, record.width, dataset.image_path(record))
        labels = np.zeros((record.height, record.width), dtype=np.uint8)
        for new_id, obj in enumerate(spec.objects, start=1):  # annotation order: later ones paint over
            labels[record.decode(obj) > 0] = new_id
        image = aug.color_jitter(image, aug.color_jitter_params(rng, brightness=25))
        frames = aug.static_pseudo_video(rng, image, labels, self.params.num_other_frames, self._min_area())
        if rng.random() < 0.5:
            frames = aug.hflip(frames)
        return aug.resize_frames(frames, *aug.pixel_budget_dims(*labels.shape, self.params.max_image_area))

    def _video(self, spec: SampleSpec, rng: np.random.Generator) -> list[aug.Frame]:
        dataset = self.sources[spec.source]
        seq = dataset.sequences[spec.item]
        lut = np.zeros(256, dtype=np.uint8)
        lut[list(spec.objects)] = np.arange(1, len(spec.objects) + 1)
        frames = []
        for i, t in enumerate(spec.frames):
            image = read_frame_bgr(dataset.image_path(seq, t))
            _check_size(image, seq.height, seq.width, dataset.image_path(seq, t))
            label_map = seq.label_map(t) if (i == 0 or self.regime == "dense") else None
            labels = np.zeros((seq.height, seq.width), np.uint8) if label_map is None else lut[label_map]
            frames.append(aug.Frame(image, labels, np.ones(labels.shape, dtype=bool)))
        if rng.random() < 0.5:
            frames = aug.hflip(frames)
        if self.params.color_augmentation:  # sparse: per frame; dense: one draw for the clip
            shared = aug.color_jitter_params(rng, brightness=20)
            for f in frames:
                jitter = shared if self.regime == "dense" else aug.color_jitter_params(rng, brightness=20)
                f.image = aug.color_jitter(f.image, jitter)
        frames = aug.video_geometric(rng, frames, self._min_area())
        return aug.resize_frames(
            frames, *resized_dims(seq.height, seq.width, self.params.min_dim, self.params.max_dim)
        )

    def _min_area(self) -> int:
        return self.params.min_ref_mask_area


def _check_size(image: np.ndarray, h: int, w: int, path) -> None:
    if image.shape[:2] != (h, w):
        raise InputError(f"{path}: image is {image.shape[0]}x{image.shape[1]} but the JSON says {h}x{w}")


def collate(samples: list[tuple[Tensor, Tensor, Tensor]], has_gt: list[bool]) -> dict:
    """Zero-pad every sample to the batch's largest size, then to a multiple of 32 (right/bottom)."""
    h = max(s[0].shape[-2] for s in samples)
    w = max(s[0].shape[-1] for s in samples)

    def pad(x: Tensor) -> Tensor:
        return pad_to_multiple(torch.nn.functional.pad(x, (0, w - x.shape[-1], 0, h - x.shape[-2])))

    return {
        "images": torch.stack([pad(s[0]) for s in samples]),
        "labels": torch.stack([pad(s[1]) for s in samples]),
        "presence": torch.stack([s[2] for s in samples]),
        "has_gt": has_gt,
    }
