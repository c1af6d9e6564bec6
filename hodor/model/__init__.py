"""The HODOR network (nn.Modules only; no file I/O except :mod:`hodor.model.checkpoint`).

``build_model(ModelParams(variant="quick"))`` -> :class:`Hodor` with ``extract_features``,
``encode_descriptors`` and ``decode_masks``; encoder mask helpers live in :mod:`hodor.model.masks`.
"""

from hodor.model.hodor import Hodor, build_model
from hodor.model.params import MODEL_VARIANTS, ModelParams

__all__ = ["Hodor", "ModelParams", "MODEL_VARIANTS", "build_model"]
