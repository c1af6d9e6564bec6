"""The streaming VideoSegmenter with the real quick model (random weights): windowing, batching, chunked
streaming, bounded history, and its input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hodor.errors import InputError
from hodor.infer.segmenter import VideoSegmenter
from hodor.model import ModelParams, build_model

H, W = 48, 80


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelParams(variant="quick")).eval()


def frames(n: int, size: tuple[int, int] = (H, W)) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    out = []
    for t in range(n):
        img = base.copy()
        img[8:30, 4 + 4 * t : 30 + 4 * t] = (30, 220, 250)
        out.append(img)
    return out


def first_mask(size: tuple[int, int] = (H, W)) -> np.ndarray:
    m = np.zeros(size, np.uint8)
    m[8:30, 4:30] = 1
    m[34:46, 50:78] = 2
    return m


def segment(model, n=6, *, late=True, chunks=None, **kw) -> list[np.ndarray]:
    kw = {"temporal_window": 2, "backbone_batch_size": 4, **kw}
    seg = VideoSegmenter(model, device="cpu", **kw)
    seg.reset("clip")
    seg.add_mask(0, first_mask())
    if late:
        late_mask = np.zeros((H, W), np.uint8)
        late_mask[2:14, 56:76] = 3
        seg.add_mask(3, late_mask)
    video = frames(n)
    if chunks is None:
        return [r.labels for r in seg.propagate(video)]
    out, start = [], 0
    for i, stop in enumerate(chunks):
        out += [r.labels for r in seg.propagate(video[start:stop], end_of_video=i == len(chunks) - 1)]
        start = stop
    return out


def test_window_covering_the_whole_clip_equals_any_larger_window(model) -> None:
    a = segment(model, n=6, temporal_window=5)
    b = segment(model, n=6, temporal_window=100)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_batching_and_chunked_streaming_do_not_change_results(model) -> None:
    ref = segment(model, n=7, backbone_batch_size=7)
    for other in (segment(model, n=7, backbone_batch_size=1), segment(model, n=7, chunks=[2, 5, 7])):
        assert all(np.array_equal(x, y) for x, y in zip(ref, other, strict=True))


def test_late_object_and_ids(model) -> None:
    out = segment(model, n=6)
    assert all(o.shape == (H, W) and o.dtype == np.uint8 for o in out)
    assert np.array_equal(out[0], first_mask())
    assert all(3 not in o for o in out[:3])
    assert np.array_equal(out[3] == 3, (np.arange(H)[:, None] >= 2) & (np.arange(H)[:, None] < 14)
                          & (np.arange(W) >= 56) & (np.arange(W) < 76))  # fmt: skip
    assert all(set(np.unique(o)) <= {0, 1, 2, 3} for o in out)


def test_history_is_bounded_by_the_window_and_early_frames_skip_the_network(model) -> None:
    seg = VideoSegmenter(model, temporal_window=2, device="cpu", backbone_batch_size=3)
    seg.reset("clip")
    seg.add_mask(4, first_mask())
    calls = []
    original = model.extract_features
    model.extract_features = lambda x, *strides: calls.append(x.shape[0]) or original(x, *strides)
    try:
        for r in seg.propagate(frames(9)):
            assert len(seg.state.fg_hist) <= 2 and len(seg.state.bg_hist) <= 2
            if r.index < 4:
                assert not r.labels.any() and r.labels.shape == (H, W)
    finally:
        del model.extract_features
    assert calls == [2, 3]  # frames 0-3 never reach the backbone; frame 3's batch extracts only 4 and 5


def test_resize_and_bf16_run(model) -> None:
    out = segment(model, n=3, late=False, min_image_dim=64, max_image_dim=128, amp_dtype=torch.bfloat16)
    assert [o.shape for o in out] == [(H, W)] * 3 and set(np.unique(out[0])) == {0, 1, 2}


def test_input_errors(model) -> None:
    seg = VideoSegmenter(model, temporal_window=2, device="cpu")
    seg.reset("clip")
    seg.add_mask(0, first_mask((H + 2, W)))
    with pytest.raises(
        InputError, match=rf"clip: mask of object 1 at frame 0 is {H + 2}x{W} but the frames are {H}x{W}"
    ):
        list(seg.propagate(frames(2)))
    seg.reset("clip")
    seg.add_mask(0, first_mask())
    video = frames(3)
    video[2] = np.zeros((H, W + 8, 3), np.uint8)
    with pytest.raises(
        InputError, match=rf"clip: frame 2 is {H}x{W + 8} but the video's first frame is {H}x{W}"
    ):
        list(seg.propagate(video))
    seg.reset("clip")
    seg.add_mask(0, first_mask())
    list(seg.propagate(frames(2)))
    with pytest.raises(InputError, match="frame 0 was already segmented"):
        seg.add_mask(0, first_mask())
    with pytest.raises(InputError, match="object id 300 outside 1..255"):
        seg.add_mask(5, np.full((H, W), 300))


@pytest.mark.parametrize("orig_hw", [(6, 9), (11, 13)])
def test_labels_pick_the_first_maximum_as_argmax_does(model, orig_hw: tuple[int, int]) -> None:
    """The label decision (crop, bilinear to the original size unless it is the same, first maximum) equals
    interpolate + argmax, ties included: probabilities on a coarse grid of values tie often."""
    seg = VideoSegmenter(model, temporal_window=1, device="cpu")
    seg.state.input_hw, seg.state.orig_hw = (6, 9), orig_hw
    probs = torch.randint(0, 3, (4, 8, 16)).float() / 2  # [K, Hp, Wp], padded beyond 6x9
    ids = [0, 3, 5, 7]
    ref = torch.nn.functional.interpolate(probs[None, :, :6, :9], size=orig_hw, mode="bilinear")[0]
    expected = torch.tensor(ids, dtype=torch.uint8)[ref.argmax(dim=0)].numpy()
    assert np.array_equal(seg._labels_from_probs(probs, ids), expected)
