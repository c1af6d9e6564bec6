"""The HODOR network: three building blocks that training and inference compose (no ``forward``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hodor.errors import InputError
from hodor.model.decoder import Decoder, DecoderPrelude
from hodor.model.encoder import Encoder
from hodor.model.features import STRIDES, FeatureExtractor
from hodor.model.onednn import use_onednn_linears
from hodor.model.params import ModelParams

INPUT_MULTIPLE = 32
#: The feature strides the encoder (8) and decoder (4, 8) read.
USED_STRIDES = (4, 8)


class Hodor(nn.Module):
    """Feature extractor + encoder (frame, soft masks -> descriptors) + decoder (descriptors -> logits).

    Attributes: ``num_bg`` (Qb background descriptors), ``dim`` (C), ``max_objects``, ``params``.
    """

    def __init__(self, params: ModelParams) -> None:
        super().__init__()
        p = params.resolved()
        self.params = p
        self.dim: int = p.dim
        self.num_bg: int = p.num_bg
        self.max_objects: int = p.max_objects
        self.feature_extractor = FeatureExtractor(p.backbone, p.dim, p.drop_path)
        self.encoder = Encoder(
            p.dim,
            p.heads,
            p.encoder_layers,
            p.num_bg,
            p.encoder_ffn,
            p.dropout,
            p.mask_scale_init,
            p.pos_enc_encoder,
        )
        self.decoder = Decoder(p.dim, p.heads, p.decoder_layers, p.decoder_ffn, p.dropout, p.pos_enc_decoder)
        # Inference on the CPU runs the linear layers through oneDNN (hodor/model/onednn.py); training,
        # other devices and autocast keep F.linear. Parameters and state-dict keys are unchanged.
        use_onednn_linears(self)

    def extract_features(self, images: Tensor, strides: tuple[int, ...] = STRIDES) -> dict[int, Tensor]:
        """images ``[B, 3, H, W]`` normalised, H and W multiples of 32
        -> ``{4: [B, C, H/4, W/4], 8: [B, C, H/8, W/8], 16: ..., 32: ...}`` for the asked ``strides``
        (encoder and decoder need only :data:`USED_STRIDES`; asking for those alone saves work)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise InputError(f"images must be [B, 3, H, W], got shape {tuple(images.shape)}")
        h, w = images.shape[-2:]
        if h % INPUT_MULTIPLE or w % INPUT_MULTIPLE:
            raise InputError(
                f"image size {h}x{w} is not a multiple of {INPUT_MULTIPLE}; pad it (pad_to_multiple)"
            )
        return self.feature_extractor(images, strides)

    def encode_descriptors(
        self, feats8: Tensor, fg_masks: Tensor, bg_masks: Tensor, *, check_values: bool = True
    ) -> tuple[Tensor, Tensor]:
        """feats8 ``[B, C, h, w]``; fg_masks ``[B, I, h, w]``, bg_masks ``[B, Qb, h, w]`` in [0, 1]
        -> fg descriptors ``[B, I, C]``, bg descriptors ``[B, Qb, C]``.

        Initial descriptors are mask-pooled without gradient; the soft masks enter the attention with
        gradient (so gradients reach the masks through the soft-masked attention). ``check_values=False``
        skips the [0, 1] range check, which reads values back to the host (a device sync): for composers
        that build the masks themselves (segmenter, training cycles). Shapes are always checked."""
        b, _, h, w = feats8.shape
        self._check_objects(fg_masks.shape[1], "fg_masks")
        for name, m, n in (("fg_masks", fg_masks, fg_masks.shape[1]), ("bg_masks", bg_masks, self.num_bg)):
            if tuple(m.shape) != (b, n, h, w):
                raise InputError(
                    f"{name} must be [B, {n}, h, w] = {(b, n, h, w)} (stride-8 size of the image), "
                    f"got {tuple(m.shape)}; build them with hodor.model.masks"
                )
        if check_values:
            lo = min(fg_masks.min(), bg_masks.min()).item()
            hi = max(fg_masks.max(), bg_masks.max()).item()
            if lo < -1e-6 or hi > 1 + 1e-6:
                raise InputError(f"encoder masks must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]")
        return self.encoder(feats8, fg_masks, bg_masks)

    def decode_masks(
        self,
        feats: dict[int, Tensor],
        fg_hist: Tensor,
        bg_hist: Tensor,
        fg_invalid: Tensor | None = None,
        bg_invalid: Tensor | None = None,
        *,
        check_values: bool = True,
        prelude: DecoderPrelude | None = None,
    ) -> Tensor:
        """Mask logits of a target frame from descriptor histories.

        feats: ``{4: [B, C, H/4, W/4], 8: [B, C, H/8, W/8]}`` of the target frame; fg_hist ``[B, I, T, C]``,
        bg_hist ``[B, Qb, T, C]``; fg_invalid / bg_invalid bool ``[B, I, T]`` / ``[B, Qb, T]`` (True = missing,
        excluded from attention and logits). Every descriptor needs one valid time step (checked unless
        ``check_values=False``: the check is a device sync; composers that build the masks skip it).
        ``prelude``: :meth:`decoder_prelude` of ``feats``, for callers that decode one frame several times.
        Returns ``[B, 1 + Qb + I, H/4, W/4]``, channels ``[catch-all, bg_0 .. bg_{Qb-1}, fg_1 .. fg_I]``.
        """
        b, num_obj, t, c = fg_hist.shape
        self._check_objects(num_obj, "fg_hist")
        if tuple(bg_hist.shape) != (b, self.num_bg, t, c) or c != self.dim:
            raise InputError(
                f"fg_hist {tuple(fg_hist.shape)} / bg_hist {tuple(bg_hist.shape)} must be "
                f"[B, I, T, {self.dim}] / [B, {self.num_bg}, T, {self.dim}]"
            )
        fg_invalid = self._invalid(fg_invalid, fg_hist, "fg_invalid", check_values)
        bg_invalid = self._invalid(bg_invalid, bg_hist, "bg_invalid", check_values)
        return self.decoder(
            feats[4],
            feats[8],
            fg_hist,
            bg_hist,
            fg_invalid,
            bg_invalid,
            self.encoder.fg_query_embed,
            self.encoder.bg_query_embed,
            prelude,
        )

    def decoder_prelude(self, feats: dict[int, Tensor]) -> DecoderPrelude:
        """The part of :meth:`decode_masks` that depends on the target frame's ``feats`` alone (layer 0's
        deformable block, position terms, stride-4 reduction): compute once, pass to every decode of it."""
        return self.decoder.prelude(feats[4], feats[8])

    def _check_objects(self, num_obj: int, name: str) -> None:
        if num_obj < 1:
            raise InputError(f"{name} holds no objects; the model needs at least one foreground object")
        if num_obj > self.max_objects:
            raise InputError(
                f"{name} holds {num_obj} objects, more than model.max_objects = "
                f"{self.max_objects}; raise max_objects in params.yaml"
            )

    @staticmethod
    def _invalid(mask: Tensor | None, hist: Tensor, name: str, check_values: bool) -> Tensor:
        if mask is None:
            return torch.zeros(hist.shape[:3], dtype=torch.bool, device=hist.device)
        if tuple(mask.shape) != tuple(hist.shape[:3]) or mask.dtype != torch.bool:
            raise InputError(
                f"{name} must be bool {tuple(hist.shape[:3])}, got {mask.dtype} {tuple(mask.shape)}"
            )
        if check_values and bool(mask.all(dim=2).any()):
            raise InputError(f"{name}: some descriptor has no valid time step (all T entries are True)")
        return mask


def build_model(params: ModelParams) -> Hodor:
    """The one factory: ``ModelParams`` (or a ``MODEL_VARIANTS`` entry) -> :class:`Hodor` on the CPU."""
    return Hodor(params)
