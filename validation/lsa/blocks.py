"""General transformer blocks on von Oswald et al.'s regression tokens: attention, LayerNorm, MLP.

The authors' ``Transformer.trans_block`` (``transformers_learn_icl_by_gd/src/transformer.py``,
lines 156-220 at HEAD 3d5547c) with the options the attention-only :class:`validation.lsa.LSA`
leaves out.  Tokens e_i = (x_i, y_i), i = 1..N, and the query (x_q, 0), D = d + 1 channels; per
layer l (weights shared over layers when ``recurrent``, the code's ``deq``):

    h   = LN1(E)                   if layernorm (a non-recurrent model skips it before layer 0:
                                   transformer.py line 170, ``if nl == 0: h_norm = h``), else E
    E  <- clip(E + lambda * sum_h W_O,h A_h(h) W_V,h h_ctx)    keys and values from the N context rows
    E  <- clip(E + lambda * W_2 gelu(W_1 LN2(E)))              if mlp (LN2 only with layernorm;
                                   applied at every layer, line 209), widening 4, no biases

with A_h the linear logits (W_Q,h h_j) . (W_K,h h_i) or their softmax over the context (logits over
sqrt(key_size)), GELU the tanh approximation (``jax.nn.gelu``'s default), LayerNorm with learned scale
and offset (Haiku's ``LayerNorm``, eps 1e-5), and the prediction minus the query's last channel.  With
layernorm and mlp off this is exactly :func:`validation.lsa.lsa_forward` on the merged weights
W_KQ,h = W_K,h^T W_Q,h and W_PV,h = W_O,h W_V,h (tested).  Init: Haiku's ``VarianceScaling``
(truncated normal, variance init_scale / fan_in) for every matrix, drawn in the order of
:class:`validation.lsa.LSA` first (so the same generator gives the same attention weights), LN
scales 1 and offsets 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theory.args import integer, positive
from validation.lsa.models import make_tokens

__all__ = ["BlockSpec", "BlockTransformer", "block_forward", "block_predict", "block_pred_and_grad", "init_theta",
           "unpack"]

#: std of the standard normal truncated to [-2, 2] (Haiku's VarianceScaling divides by it)
_TRUNC_STD = 0.87962566103423978
_LN_EPS = 1e-5  # Haiku LayerNorm's default


@dataclass(frozen=True)
class BlockSpec:
    """The architecture of a :class:`BlockTransformer` (checked once by :meth:`of`)."""

    d: int
    layers: int
    recurrent: bool
    heads: int
    key_size: int
    softmax: bool
    layernorm: bool
    mlp: bool
    widening: int
    dampening: float
    clip: float | None

    @classmethod
    def of(cls, *, d, layers=1, recurrent=True, heads=1, key_size=None, softmax=False, layernorm=False, mlp=False,
           widening=4, dampening=1.0, clip=None) -> "BlockSpec":
        d = integer(d, "d", minimum=1)
        layers = integer(layers, "layers", minimum=1)
        heads = integer(heads, "heads", minimum=1)
        key_size = d + 1 if key_size is None else integer(key_size, "key_size", minimum=1)
        widening = integer(widening, "widening", minimum=1)
        clip = None if clip is None else positive(clip, "clip")
        return cls(d, layers, bool(recurrent), heads, key_size, bool(softmax), bool(layernorm), bool(mlp), widening,
                   positive(dampening, "dampening"), clip)

    @property
    def D(self) -> int:
        return self.d + 1

    @property
    def L(self) -> int:
        """Distinct layers (1 if recurrent)."""
        return 1 if self.recurrent else self.layers

    def shapes(self) -> list[tuple[str, tuple, int | None]]:
        """(name, shape, fan_in) of every parameter block in ``theta``; fan_in None: a LayerNorm scale (1) or
        offset (0).  Attention first, in :class:`validation.lsa.LSA`'s order."""
        L, H, k, D = self.L, self.heads, self.key_size, self.D
        out = [("W_Q", (L, H, k, D), D), ("W_K", (L, H, k, D), D), ("W_V", (L, H, k, D), D),
               ("W_O", (L, D, H * k), H * k)]
        if self.mlp:
            W = self.widening * D
            out += [("W_1", (L, W, D), D), ("W_2", (L, D, W), W)]
        if self.layernorm:
            out += [("ln1_scale", (L, D), None), ("ln1_offset", (L, D), None)]
            if self.mlp:
                out += [("ln2_scale", (L, D), None), ("ln2_offset", (L, D), None)]
        return out

    def as_dict(self) -> dict:
        return dict(d=self.d, layers=self.layers, recurrent=self.recurrent, heads=self.heads, key_size=self.key_size,
                    softmax=self.softmax, layernorm=self.layernorm, mlp=self.mlp, widening=self.widening,
                    dampening=self.dampening, clip=self.clip)


def init_theta(spec: BlockSpec, init_scale: float, generator: torch.Generator | None) -> torch.Tensor:
    """Flat float64 parameter vector: truncated normal (2 std) with variance init_scale / fan_in per matrix."""
    parts = []
    for name, shape, fan_in in spec.shapes():
        if fan_in is None:
            parts.append(torch.full((math.prod(shape),), 1.0 if name.endswith("scale") else 0.0, dtype=torch.float64))
            continue
        std = math.sqrt(init_scale / fan_in) / _TRUNC_STD
        w = torch.empty(shape, dtype=torch.float64)
        torch.nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std, generator=generator)
        parts.append(w.reshape(-1))
    return torch.cat(parts)


def unpack(spec: BlockSpec, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Views of ``theta`` by name (see :meth:`BlockSpec.shapes`)."""
    out, i = {}, 0
    for name, shape, _ in spec.shapes():
        n = math.prod(shape)
        out[name] = theta[i:i + n].view(shape)
        i += n
    if i != theta.numel():
        raise ValueError(f"theta must hold {i} numbers for this architecture, got {theta.numel()}")
    return out


def _layer_norm(h, scale, offset):
    return torch.nn.functional.layer_norm(h, (h.shape[-1],), scale, offset, eps=_LN_EPS)


def _attention(h, W_Q, W_K, W_V, W_O, N: int, softmax: bool):
    """sum_h W_O,h sum_i a_h(h_j, h_i) W_V,h h_i over the context rows i < N; h (B, T, D) -> (B, T, D)."""
    H, k = W_Q.shape[0], W_Q.shape[1]
    ctx = h[:, :N]
    q = torch.einsum("btD,hkD->bhtk", h, W_Q)  # (B, H, T, k)
    kk = torch.einsum("bnD,hkD->bhnk", ctx, W_K)  # (B, H, N, k)
    v = torch.einsum("bnD,hkD->bhnk", ctx, W_V)  # (B, H, N, k)
    logits = q @ kk.transpose(-1, -2)  # (B, H, T, N)
    if softmax:
        logits = torch.softmax(logits / math.sqrt(k), dim=-1)
    z = logits @ v  # (B, H, T, k)
    B, _, T, _ = z.shape
    return z.permute(0, 2, 1, 3).reshape(B, T, H * k) @ W_O.T  # (B, T, D)


def block_forward(E: torch.Tensor, spec: BlockSpec, theta: torch.Tensor, *, layers: int | None = None,
                  return_tokens: bool = False) -> torch.Tensor:
    """The prediction -E[:, -1, -1] after ``layers`` (default ``spec.layers``) blocks; E (B, N+1, D)."""
    P = unpack(spec, theta)
    K = spec.layers if layers is None else layers
    N = E.shape[1] - 1
    lam = spec.dampening
    for layer in range(K):
        li = 0 if spec.recurrent else layer
        h = E
        if spec.layernorm and (spec.recurrent or layer > 0):
            h = _layer_norm(E, P["ln1_scale"][li], P["ln1_offset"][li])
        upd = _attention(h, P["W_Q"][li], P["W_K"][li], P["W_V"][li], P["W_O"][li], N, spec.softmax)
        E = E + (upd if lam == 1.0 else lam * upd)
        if spec.clip is not None:
            E = E.clamp(-spec.clip, spec.clip)
        if spec.mlp:
            h = _layer_norm(E, P["ln2_scale"][li], P["ln2_offset"][li]) if spec.layernorm else E
            upd = torch.nn.functional.gelu(h @ P["W_1"][li].T, approximate="tanh") @ P["W_2"][li].T
            E = E + (upd if lam == 1.0 else lam * upd)
            if spec.clip is not None:
                E = E.clamp(-spec.clip, spec.clip)
    return E if return_tokens else -E[:, -1, -1]


class BlockTransformer(torch.nn.Module):
    """Trainable :func:`block_forward`: one flat parameter ``theta`` (optimiser and clip touch one tensor).

    Examples
    --------
    >>> m = BlockTransformer(BlockSpec.of(d=2, layers=2, recurrent=False, heads=4, mlp=True),
    ...                      init_scale=0.01, generator=torch.Generator().manual_seed(0))
    >>> m(torch.zeros(5, 4, 3, dtype=torch.float64)).shape
    torch.Size([5])
    """

    def __init__(self, spec: BlockSpec, *, init_scale: float, generator: torch.Generator | None = None,
                 dtype=torch.float64, device="cpu"):
        super().__init__()
        self.spec = spec
        theta = init_theta(spec, positive(init_scale, "init_scale"), generator)
        self.theta = torch.nn.Parameter(theta.to(dtype=dtype, device=device))

    def params(self) -> dict[str, torch.Tensor]:
        return unpack(self.spec, self.theta)

    def forward(self, E: torch.Tensor) -> torch.Tensor:
        return block_forward(E, self.spec, self.theta)


def _tokens(X, y, x_q, dtype=torch.float64):
    return make_tokens(*(torch.as_tensor(np.asarray(a, dtype=float)).to(dtype) for a in (X, y, x_q)))


def block_predict(spec: BlockSpec, theta, X, y, x_q, *, chunk: int = 20000) -> np.ndarray:
    """Predictions (n,) of the model (float64, CPU) on numpy tasks X (n, N, d), y (n, N), x_q (n, d)."""
    theta = torch.as_tensor(np.asarray(theta, dtype=float))
    out = []
    with torch.no_grad():
        for s in range(0, len(X), chunk):
            out.append(block_forward(_tokens(X[s:s + chunk], y[s:s + chunk], x_q[s:s + chunk]), spec, theta).numpy())
    return np.concatenate(out)


def block_pred_and_grad(spec: BlockSpec, theta: torch.Tensor, X, y, x_q) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions (n,) and implicit models g = d y_hat / d x_q (n, d) (the code's ``analyse``), float64.

    Each task's prediction depends only on its own x_q, so one backward pass of the sum gives every g_t.
    X, y, x_q are float64 tensors.
    """
    theta = theta.detach().to(torch.float64)

    def total(xq):
        pred = block_forward(make_tokens(X, y, xq), spec, theta)
        return pred.sum(), pred

    grad, pred = torch.func.grad(total, has_aux=True)(x_q)
    return pred.detach(), grad.detach()
