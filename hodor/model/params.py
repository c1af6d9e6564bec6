"""``ModelParams``: the typed ``model`` section of ``params.yaml``, and the named variants.

``variant`` picks a row of :data:`MODEL_VARIANTS`; every other field either overrides that row or is
``None`` (= take the variant's value). ``ModelParams(variant="quick")`` and ``MODEL_VARIANTS["quick"]``
therefore build the same model. :meth:`ModelParams.resolved` fills the ``None`` fields in.

* ``paper``: the official model (Swin-T + FPN, C = 256, 5 + 5 layers, 8 heads); loads official checkpoints.
* ``quick``: the same structure with a small timm CNN backbone and small widths, for CPU smoke runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

#: Background patch counts the official code supports, with their (rows, cols) grid.
BG_GRIDS: dict[int, tuple[int, int]] = {1: (1, 1), 2: (1, 2), 4: (2, 2), 9: (3, 3), 12: (3, 4), 16: (4, 4)}

#: The official per-head soft-mask scale init (heads 0..7) of the encoder's cross-attention.
OFFICIAL_MASK_SCALES: tuple[float, ...] = (32.0, 32.0, 16.0, 16.0, 8.0, 8.0, 4.0, 4.0)


@dataclass(frozen=True)
class ModelParams:
    """Architecture of :class:`hodor.model.Hodor` (section ``model``).

    ``variant``: name in :data:`MODEL_VARIANTS`. ``backbone``: ``"swin_tiny"`` (paper: the official
    mmdetection-flavoured Swin-T built from timm modules) or a timm ``features_only`` model name with
    strides 4/8/16/32 (quick, e.g. ``"resnet18"``). ``dim``: descriptor/feature width C. ``heads``: attention
    heads (C divisible by it). ``num_bg``: background patch descriptors (one of :data:`BG_GRIDS`).
    ``encoder_ffn`` / ``decoder_ffn``: FFN hidden widths. ``dropout``: every dropout of encoder/decoder.
    ``drop_path``: backbone stochastic depth (max rate). ``pos_enc_encoder`` / ``pos_enc_decoder``: sine position
    encoding on the encoder keys / decoder queries. ``mask_scale_init``: per-head init of the soft-mask
    scales (length ``heads``). ``max_objects``: most foreground objects per clip the model accepts.
    """

    variant: str = "paper"
    backbone: str | None = None
    dim: int | None = None
    encoder_layers: int | None = None
    decoder_layers: int | None = None
    heads: int | None = None
    num_bg: int | None = None
    encoder_ffn: int | None = None
    decoder_ffn: int | None = None
    dropout: float | None = None
    drop_path: float | None = None
    pos_enc_encoder: bool | None = None
    pos_enc_decoder: bool | None = None
    mask_scale_init: tuple[float, ...] | None = None
    max_objects: int | None = None

    def __post_init__(self) -> None:
        if self.variant not in _VARIANT_DEFAULTS:
            raise ValueError(f"model variant {self.variant!r} is unknown; valid: {sorted(_VARIANT_DEFAULTS)}")
        if self.mask_scale_init is not None:
            object.__setattr__(self, "mask_scale_init", tuple(float(v) for v in self.mask_scale_init))
        _check_ranges(self)
        full = self.resolved_values()
        if full["dim"] % full["heads"]:
            raise ValueError(f"dim {full['dim']} is not divisible by heads {full['heads']}")
        if len(full["mask_scale_init"]) != full["heads"]:
            raise ValueError(
                f"mask_scale_init has {len(full['mask_scale_init'])} values but heads is {full['heads']}"
            )
        if full["dim"] % 32:
            # GroupNorm(16, C), GroupNorm(8, C // 4) and the sine encoding (C / 2 per axis) need it.
            raise ValueError(f"dim {full['dim']} must be a multiple of 32")
        if (self.variant == "paper") != (full["backbone"] == "swin_tiny"):
            raise ValueError(
                f"backbone {full['backbone']!r} does not fit variant {self.variant!r}: "
                "'paper' uses 'swin_tiny', 'quick' a timm CNN name such as 'resnet18'"
            )

    def resolved_values(self) -> dict:
        """All fields with ``None`` replaced by the variant's values."""
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        base = _VARIANT_DEFAULTS[self.variant]
        return {k: (base[k] if v is None and k in base else v) for k, v in own.items()}

    def resolved(self) -> ModelParams:
        """This params object with every field set (no ``None``)."""
        return ModelParams(**self.resolved_values())


def _check_ranges(p: ModelParams) -> None:
    positive = (
        "dim",
        "encoder_layers",
        "decoder_layers",
        "heads",
        "encoder_ffn",
        "decoder_ffn",
        "max_objects",
    )
    for name in positive:
        value = getattr(p, name)
        if value is not None and value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    for name in ("dropout", "drop_path"):
        value = getattr(p, name)
        if value is not None and not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if p.num_bg is not None and p.num_bg not in BG_GRIDS:
        raise ValueError(f"num_bg must be one of {sorted(BG_GRIDS)}, got {p.num_bg}")


_VARIANT_DEFAULTS: dict[str, dict] = {
    "paper": dict(
        backbone="swin_tiny",
        dim=256,
        encoder_layers=5,
        decoder_layers=5,
        heads=8,
        num_bg=9,
        encoder_ffn=1024,
        decoder_ffn=256,
        dropout=0.1,
        drop_path=0.2,
        pos_enc_encoder=False,  # False in every official training config (static/sparse/dense)
        pos_enc_decoder=True,
        mask_scale_init=OFFICIAL_MASK_SCALES,
        max_objects=32,
    ),
    "quick": dict(
        backbone="resnet18",
        dim=64,
        encoder_layers=2,
        decoder_layers=2,
        heads=8,
        num_bg=9,
        encoder_ffn=256,
        decoder_ffn=64,
        dropout=0.1,
        drop_path=0.0,
        pos_enc_encoder=False,
        pos_enc_decoder=True,
        mask_scale_init=OFFICIAL_MASK_SCALES,
        max_objects=16,
    ),
}

#: Named, fully resolved variants: ``build_model(MODEL_VARIANTS["quick"])``.
MODEL_VARIANTS: dict[str, ModelParams] = {
    name: ModelParams(variant=name).resolved() for name in _VARIANT_DEFAULTS
}
