"""The overlay video of ``hodor segment``: H.264 (yuv420p, even size) decoded back frame for frame by an
independent decoder (OpenCV's FFmpeg build), and the mp4v fallback with its note when PyAV is missing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hodor.infer import video_writer
from hodor.infer.video_writer import OverlayVideo, even_size

H, W, T = 47, 65, 12  # odd on purpose: H.264 4:2:0 needs even sides


def frames(height: int = H, width: int = W) -> list[np.ndarray]:
    """Smooth gradients (what lossy coding keeps well) with a block moving 2 px per frame: [H, W, 3] BGR."""
    yy, xx = np.mgrid[0:height, 0:width]
    out = []
    for t in range(T):
        img = np.stack([xx * 3 + t * 4, yy * 4 + t * 2, (xx + yy) * 2], axis=-1).clip(0, 255).astype(np.uint8)
        img[10:30, 10 + 2 * t : 30 + 2 * t] = (40, 200, 90)
        out.append(img)
    return out


def write(path: Path, images: list[np.ndarray], **kwargs) -> OverlayVideo:
    video = OverlayVideo(path, 24.0, (images[0].shape[1], images[0].shape[0]), **kwargs)
    for img in images:
        video.write(img)
    video.close()
    return video


def decode_opencv(path: Path) -> tuple[list[np.ndarray], str]:
    """Every frame OpenCV decodes, and the codec's fourcc as text."""
    capture = cv2.VideoCapture(str(path))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("ascii", "replace")
    decoded = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        decoded.append(frame)
    capture.release()
    return decoded, fourcc


def test_h264_overlay_decodes_back_frame_for_frame(tmp_path: Path) -> None:
    av = pytest.importorskip("av", reason="the [video] extra (PyAV) is not installed")
    originals = frames()
    video = write(tmp_path / "overlay.mp4", originals)
    assert video.codec == "h264" and video.note is None
    with av.open(str(tmp_path / "overlay.mp4")) as container:  # the stream as browsers get it
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == even_size(W, H) == (66, 48)
    decoded, fourcc = decode_opencv(tmp_path / "overlay.mp4")
    assert fourcc.lower() in ("h264", "avc1") and len(decoded) == T
    errors = [np.abs(d[:H, :W].astype(int) - o.astype(int)) for d, o in zip(decoded, originals, strict=True)]
    mse = float(np.mean([(e.astype(float) ** 2).mean() for e in errors]))
    assert 10 * np.log10(255**2 / mse) > 32, "PSNR of the round trip"
    assert max(float(e.mean()) for e in errors) < 5
    for t, d in enumerate(decoded):  # in order: each decoded frame is nearest its own original
        distance = [np.abs(d[:H, :W].astype(int) - o.astype(int)).mean() for o in originals]
        assert int(np.argmin(distance)) == t
    # The padding repeats the last column / row of the frame.
    assert np.abs(decoded[0][:H, W].astype(int) - originals[0][:, W - 1].astype(int)).mean() < 5


def test_without_pyav_falls_back_to_mp4v_with_a_note(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(video_writer, "_pyav", lambda: None)
    originals = frames(48, 64)
    video = write(tmp_path / "overlay.mp4", originals)
    assert video.codec == "mp4v" and "browsers do not play" in video.note
    assert "pip install 'hodor-vos[video]'" in video.note
    decoded, fourcc = decode_opencv(tmp_path / "overlay.mp4")
    assert fourcc.lower() in ("mp4v", "fmp4") and len(decoded) == T  # FFmpeg calls MPEG-4 Part 2 FMP4
    assert (
        max(
            float(np.abs(d.astype(int) - o.astype(int)).mean())
            for d, o in zip(decoded, originals, strict=True)
        )
        < 8
    )


def test_a_frame_of_another_size_is_refused(tmp_path: Path) -> None:
    video = OverlayVideo(tmp_path / "overlay.mp4", 24.0, (W, H))
    with pytest.raises(ValueError, match="frame is 64x48, the video"):
        video.write(frames(48, 64)[0])
    video.write(frames()[0])
    video.close()
