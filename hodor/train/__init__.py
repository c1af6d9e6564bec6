"""Training: static-image pretraining and sparse (cyclic) / dense video finetuning (see README.md here).

``TrainParams`` / ``FinetuneParams`` are light imports; ``train`` and ``TrainSummary`` (which pull in the
model and the data pipeline) are loaded on first use, so ``hodor.data.train_samples`` can import the params
without a cycle.
"""

from hodor.train.params import (
    PAPER_DENSE,
    PAPER_SPARSE,
    PAPER_STATIC,
    QUICK_DENSE,
    QUICK_SPARSE,
    QUICK_STATIC,
    REGIME_DIRS,
    REGIMES,
    FinetuneParams,
    TrainParams,
)

__all__ = [
    "PAPER_DENSE", "PAPER_SPARSE", "PAPER_STATIC", "QUICK_DENSE", "QUICK_SPARSE", "QUICK_STATIC",
    "REGIME_DIRS", "REGIMES", "FinetuneParams", "TrainParams", "TrainSummary", "train",
]  # fmt: skip


def __getattr__(name: str):
    if name in ("train", "TrainSummary"):
        from hodor.train import run

        return getattr(run, name)
    raise AttributeError(f"module 'hodor.train' has no attribute {name!r}")
