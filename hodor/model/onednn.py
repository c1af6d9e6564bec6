"""Linear layers through oneDNN on the CPU when no gradient is needed (inference).

Why: PyTorch runs an fp32 ``nn.Linear`` on the CPU as MKL ``addmm`` (after copying the bias into the
output), while the same product through oneDNN's matmul (``torch.ops.mkldnn._linear_pointwise``, an op of
torch's inductor CPU backend) measured 1.0-1.6x faster on this project's shapes (Swin's
qkv / MLP, decoder and encoder projections; AMD EPYC, AVX2, 2 threads, benchmarks/README.md) and adds the bias and an optional GELU in the same pass. The op has no autograd
formula, so anything that needs a gradient, any other device or dtype, and autocast take ``F.linear``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_AVAILABLE: list[bool] = []  # filled on first use: the op exists and runs on this build


def onednn_applies(x: Tensor, weight: Tensor) -> bool:
    """True where ``linear`` takes the oneDNN path: CPU, float32, no autocast, no gradient wanted."""
    if x.device.type != "cpu" or x.dtype != torch.float32 or weight.dtype != torch.float32:
        return False
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        return False
    if torch.is_autocast_enabled("cpu"):
        return False
    if not _AVAILABLE:
        _AVAILABLE.append(_probe())
    return _AVAILABLE[0]


def _probe() -> bool:
    """Whether this torch build has the oneDNN linear op and it gives F.linear's values."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        with torch.no_grad():
            x, w, b = torch.ones(2, 3), torch.ones(4, 3), torch.ones(4)
            return bool(
                torch.equal(torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], ""), F.linear(x, w, b))
            )
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, gelu: bool = False) -> Tensor:
    """``F.linear(x, weight, bias)`` (then exact, erf GELU if ``gelu``): x ``[..., K]``, weight ``[N, K]``
    -> ``[..., N]``; through oneDNN with the bias and GELU fused where :func:`onednn_applies`."""
    if onednn_applies(x, weight):
        if gelu:
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "gelu", [], "none")
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
    out = F.linear(x, weight, bias)
    return F.gelu(out) if gelu else out


class OneDNNLinear(nn.Linear):
    """``nn.Linear`` whose forward is :func:`linear` (same parameters, names and state dict)."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)


class OneDNNLinearGELU(nn.Linear):
    """``nn.Linear`` followed by the exact (erf) GELU, fused on the oneDNN path (see :func:`fuse_mlp_gelu`)."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias, gelu=True)


def fuse_mlp_gelu(mlp: nn.Module) -> bool:
    """For a timm ``Mlp`` (fc1 -> act -> drop -> norm -> fc2) whose act is the exact GELU: compute the GELU
    inside fc1 (one pass over the [tokens, 4 C] hidden map less) and make ``act`` the identity. Parameters
    and state-dict keys are unchanged. Returns whether it fused."""
    act = getattr(mlp, "act", None)
    fc1 = getattr(mlp, "fc1", None)
    if type(act) is not nn.GELU or act.approximate != "none" or type(fc1) not in (nn.Linear, OneDNNLinear):
        return False
    fc1.__class__ = OneDNNLinearGELU
    mlp.act = nn.Identity()
    return True


def use_onednn_linears(module: nn.Module) -> int:
    """Turn every plain ``nn.Linear`` inside ``module`` into :class:`OneDNNLinear` in place (the class only:
    parameters, hooks and state-dict keys stay as they are). Returns how many were changed.

    Subclasses of ``nn.Linear`` are left alone (e.g. ``nn.MultiheadAttention``'s output projection, whose
    weight is read directly rather than called)."""
    changed = 0
    for sub in module.modules():
        if type(sub) is nn.Linear:
            sub.__class__ = OneDNNLinear
            changed += 1
    return changed
