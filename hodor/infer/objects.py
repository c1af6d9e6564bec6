"""Object-id bookkeeping for one video."""

from __future__ import annotations

import logging

from torch import Tensor

log = logging.getLogger(__name__)


class ObjectRegistry:
    """Which object ids a video has, where their reference masks are, and which are tracked.

    Invariants:
      * every id ever given a reference mask is either *tracked* (it has descriptors; once tracked it stays
        tracked to the end of the video, because it is re-encoded at every frame) or *dropped* (all its
        reference masks vanished at stride 8, as in the official code; it is never drawn);
      * ``tracked`` is kept sorted: the decoder's object channels follow the sorted id order, as the official
        code orders the union of ids found in the history window;
      * reference masks are kept only until their frame has been segmented (``pop_references``), in the order
        they were added (that order decides ties between reference masks, as in the official code).
    """

    def __init__(self) -> None:
        self._references: dict[int, dict[int, Tensor]] = {}
        self.tracked: list[int] = []
        self.dropped: dict[int, int] = {}  # id -> frame of the vanished reference mask

    def add_reference(self, frame: int, obj_id: int, mask: Tensor) -> None:
        """Register object ``obj_id``'s reference mask (bool [H, W], network input size) at ``frame``."""
        if not 1 <= obj_id <= 255:
            raise ValueError(f"object ids must lie in 1..255 (they become PNG label values), got {obj_id}")
        self._references.setdefault(frame, {})[obj_id] = mask

    def has_references(self, frame: int) -> bool:
        return frame in self._references

    def first_reference_frame(self) -> int | None:
        return min(self._references) if self._references else None

    def pop_references(self, frame: int) -> dict[int, Tensor]:
        return self._references.pop(frame, {})

    def mark_tracked(self, ids: list[int]) -> None:
        self.tracked = sorted(set(self.tracked) | set(ids))
        for obj_id in ids:
            self.dropped.pop(obj_id, None)

    def mark_dropped(self, obj_id: int, frame: int, video: str) -> None:
        if obj_id in self.tracked:
            log.warning(
                "%s: reference mask of object %d at frame %d is too small; keeping its track",
                video,
                obj_id,
                frame,
            )
            return
        self.dropped[obj_id] = frame
        log.warning(
            "%s: object %d DROPPED: its reference mask at frame %d has no pixel left at stride 8 "
            "(too small for the network input size); it will not be segmented (the official code does the same)",
            video,
            obj_id,
            frame,
        )
