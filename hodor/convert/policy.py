"""The one skip/report policy of every converter.

Real datasets have quirks confined to one item: a COCO polygon that rasterises to nothing, a YouTube-VOS
object that meta.json lists but no PNG holds, a corrupt frame. Stopping a 3,471-video conversion for one of
them loses everything; silently dropping them loses the user's trust. So:

* **Structural problems** (a missing or unreadable root, annotation file, ``meta.json`` or split list, a
  split with nothing usable) stop the conversion with their error, as always.
* **Item-level problems** are skipped or repaired, and each gets one :class:`Entry` (file, item, action,
  reason) in the report ``<name>.report.json`` written beside ``<name>.json``. A video with an unreadable
  frame is skipped whole, so frame indices and the temporal window stay right.
* **By-design filters** (crowd annotations, images left without objects) are only counted.
* The conversion fails when the quirk-dropped share of any item kind exceeds ``max_skipped_fraction``: a
  few odd items are a dataset's quirks, many are a broken download.
* ``strict`` restores the old behaviour: the first item-level problem stops the conversion with its error.

Workers build an :class:`ItemLog` per task; the parent merges them into one (plain data, picklable).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hodor.errors import InputError

# Item kinds whose dropped share is bounded by max_skipped_fraction.
KINDS = ("annotations", "images", "videos", "objects")
SKIPPED, REPAIRED = "skipped", "repaired"


@dataclass(frozen=True)
class Policy:
    """Params section ``convert``. ``strict``: stop at the first item-level problem.
    ``max_skipped_fraction``: the largest share of any item kind that quirks may drop before the
    conversion fails (0.01 = 1 %)."""

    strict: bool = False
    max_skipped_fraction: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_skipped_fraction <= 1.0:
            raise ValueError(f"max_skipped_fraction must be in [0, 1], got {self.max_skipped_fraction}")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Entry:
    """One skipped or repaired item. ``kind``: the item kind it removes from the output (one of
    :data:`KINDS`), or None for a repair that drops nothing."""

    file: str
    item: str
    action: str  # SKIPPED | REPAIRED
    reason: str
    kind: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "item": self.item, "action": self.action, "reason": self.reason}


@dataclass
class ItemLog:
    """What one task (or, merged, a whole split) skipped, repaired, filtered and saw."""

    entries: list[Entry] = field(default_factory=list)
    totals: Counter = field(default_factory=Counter)  # kind -> items seen (before any drop)
    filtered: Counter = field(default_factory=Counter)  # by-design filter -> count

    def skip(self, kind: str, file: Path | str, item: str, reason: str) -> None:
        self.entries.append(Entry(str(file), item, SKIPPED, reason, kind))

    def repair(self, file: Path | str, item: str, reason: str) -> None:
        self.entries.append(Entry(str(file), item, REPAIRED, reason))

    def merge(self, other: ItemLog) -> ItemLog:
        self.entries += other.entries
        self.totals.update(other.totals)
        self.filtered.update(other.filtered)
        return self

    def dropped(self) -> Counter:
        return Counter(e.kind for e in self.entries if e.action == SKIPPED and e.kind)

    def worst(self) -> tuple[str, int, int] | None:
        """(kind, dropped, total) of the kind with the largest dropped share, or None when nothing dropped."""
        dropped = self.dropped()
        if not dropped:
            return None
        kind = max(dropped, key=lambda k: dropped[k] / max(self.totals[k], 1))
        return kind, dropped[kind], max(self.totals[kind], dropped[kind])

    def summary(self) -> dict[str, Any]:
        dropped = self.dropped()
        return {
            "totals": {k: self.totals[k] for k in KINDS if k in self.totals},
            "skipped": {k: dropped[k] for k in KINDS if k in dropped},
            "repaired": sum(e.action == REPAIRED for e in self.entries),
            "filtered": dict(sorted(self.filtered.items())),
        }

    def line(self) -> str:
        """One terminal line: ``3 skipped (1 videos, 2 annotations), 1 repaired, filtered 5 crowd``."""
        s = self.summary()
        skipped = sum(s["skipped"].values())
        parts = [f"{skipped} skipped" + (f" ({_counts(s['skipped'])})" if skipped else "")]
        parts.append(f"{s['repaired']} repaired")
        if s["filtered"]:
            parts.append(f"filtered {_counts(s['filtered'])}")
        return ", ".join(parts)

    def document(self, name: str, policy: Policy) -> dict[str, Any]:
        return {
            "dataset": name,
            "strict": policy.strict,
            "max_skipped_fraction": policy.max_skipped_fraction,
            "summary": self.summary(),
            "items": [e.as_json() for e in self.entries],
        }

    def check(self, policy: Policy, report: Path | None) -> None:
        """Fail when quirks dropped more than ``policy.max_skipped_fraction`` of some item kind."""
        worst = self.worst()
        if worst is None:
            return
        kind, dropped, total = worst
        if dropped / total > policy.max_skipped_fraction:
            where = f"; every item is listed in {report}" if report else ""
            raise InputError(
                f"{dropped} of {total} {kind} ({dropped / total:.1%}) were skipped for item-level problems, "
                f"more than convert.max_skipped_fraction = {policy.max_skipped_fraction}{where}. "
                "So many usually means a broken or mixed-up download: fix the data, or raise the limit"
            )


def report_path(json_file: Path) -> Path:
    """``F.json`` -> ``F.report.json`` (the report lives beside the JSON it explains)."""
    json_file = Path(json_file)
    stem = json_file.name[:-5] if json_file.name.endswith(".json") else json_file.name
    return json_file.with_name(f"{stem}.report.json")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items())
