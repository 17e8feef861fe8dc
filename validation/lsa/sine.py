"""Sine regression with an MLP and one LSA layer (von Oswald et al. 2023, Fig 4, Proposition 2) in torch.

Tasks (the authors' ``create_reg_data_sin``, notes §2.4): x_i, x_q ~ U(-5, 5) (``input_range`` 10), N = 10,
y = a sin(x + rho) with a = 0.1 + 0.4 u and rho = pi u for ONE u ~ U(0, 1) per task [code: ``data.py``
draws amplitude and phase with the same PRNG key]; the paper writes a ~ U(0.1, 5), rho ~ U(0, pi)
[paper, A.7].  Tokens e_i = (x_i, y_i), query (x_q, 0).

Model (the sine notebook ``non_linear_regression.ipynb``, notes §3.2): a linear embedding 2 -> 40 without
bias, a residual input MLP 40 -> 160 -> 40 (GELU in jax's default tanh form, biases), h = emb(e) + MLP(emb(e)), then one linear
self-attention layer on h (keys and values from the context, key size 40) and the prediction minus the
query's last channel.  ``gd=True`` is the notebook's "GD" baseline (``Transformer_gd``): the attention is
frozen at the Proposition 1 construction with lr 0.1 on the 39 "x" channels and the last "y" channel
(W_KQ = diag(I_39, 0), W_PV = diag(0_39, -0.1/N)); only the embedding and the MLP learn, by backprop
through one GD step on the output layer.

Proposition 2 on the trained layer [derived]: with features phi(e) = h, merged W_KQ = W_K^T W_Q and
W_PV = W_O W_V, the prediction is exactly

    y_hat(x_q) = b(x_q) + sum_i v(e_i) kappa(e_i, x_q),
    b(x_q) = -phi(x_q, 0)_last,  v(e) = -(W_PV phi(e))_last,  kappa(e, x_q) = phi(e)^T W_KQ phi(x_q, 0),

a kernel smoother with kernel kappa on the layer's own features and "labels" v(e_i).  Proposition 2's
form sum_i y_i k(x_i, x_q) is the special case phi(x, y) = (m(x), y), W_PV's last row (0, -eta/N):
then b = 0 and v(e_i) = (eta/N) y_i.  :func:`kernel_decomposition` returns these terms and the parts
of the prediction that break the special case: the label-free part y_hat(labels = 0) and the part
nonlinear in the labels (what is left after y_hat(0) + sum_i y_i dy_hat/dy_i(0)).
"""
from __future__ import annotations

import math

import torch

from validation.lsa.models import lsa_forward

__all__ = ["SineLSA", "sample_sine_tasks", "kernel_decomposition", "SINE_FEATURES", "SINE_HIDDEN",
           "SINE_INPUT_RANGE", "SINE_GD_LR"]

#: the notebook's sizes: embedding 40 (39 "x" channels + the readout channel), MLP hidden 4 * 40
SINE_FEATURES, SINE_HIDDEN = 40, 160
#: x ~ U(-5, 5): the code's input_range = 10 is the full width
SINE_INPUT_RANGE = 10.0
#: the GD baseline's fixed step size (``create_weights(..., lr=0.1, ...)`` in the notebook)
SINE_GD_LR = 0.1
_TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2] (Haiku's VarianceScaling)


def sample_sine_tasks(n: int, N: int, generator: torch.Generator, *, dtype=torch.float64,
                      one_u: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n sine tasks as tokens (the code's ``create_reg_data_sin``): E (n, N+1, 2), y_q (n,), (a, rho) (n, 2).

    x ~ U(-5, 5); y = a sin(x + rho); ``one_u``: a = 0.1 + 0.4 u, rho = pi u from one u (the code);
    otherwise a and rho independent (a ~ U(0.1, 0.5), rho ~ U(0, pi)).  Query y-slot 0.
    """
    u = torch.rand(n, 1, generator=generator, dtype=dtype)
    v = u if one_u else torch.rand(n, 1, generator=generator, dtype=dtype)
    a, rho = 0.1 + 0.4 * u, math.pi * v
    x = (torch.rand(n, N + 1, generator=generator, dtype=dtype) - 0.5) * SINE_INPUT_RANGE  # (n, N+1)
    y = a * torch.sin(x + rho)
    y_q = y[:, -1].clone()
    y[:, -1] = 0.0
    return torch.stack([x, y], dim=-1), y_q, torch.cat([a, rho], dim=1)


def _trunc(shape, fan_in, scale, generator, dtype):
    std = math.sqrt(scale / fan_in) / _TRUNC_STD
    w = torch.empty(shape, dtype=torch.float64)
    torch.nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std, generator=generator)
    return w.to(dtype)


class SineLSA(torch.nn.Module):
    """Embedding + residual MLP + one LSA layer (the sine notebook); ``gd=True``: the frozen Prop-1 layer.

    Weights in the column-vector convention (``x @ W.T``).  Init: the trained model as Haiku's
    ``VarianceScaling(0.002)`` (truncated normal, variance 0.002 / fan_in, zero biases); the GD
    baseline as the code's ``create_weights`` (normal, variance 0.002/2 for the embedding and the
    MLP's first layer, 0.002/40 for its second, zero biases).
    """

    def __init__(self, *, N: int = 10, gd: bool = False, init_scale: float = 0.002, gd_lr: float = SINE_GD_LR,
                 generator: torch.Generator | None = None, dtype=torch.float64):
        super().__init__()
        F, H = SINE_FEATURES, SINE_HIDDEN
        self.N, self.gd = N, bool(gd)
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        if gd:
            normal = lambda shape, var: (torch.randn(shape, generator=g, dtype=torch.float64)  # noqa: E731
                                         * math.sqrt(var)).to(dtype)
            emb, w1, w2 = normal((F, 2), 0.002 / 2), normal((H, F), 0.002 / 2), normal((F, H), 0.002 / F)
        else:
            emb, w1, w2 = (_trunc((F, 2), 2, init_scale, g, dtype), _trunc((H, F), F, init_scale, g, dtype),
                           _trunc((F, H), H, init_scale, g, dtype))
        self.emb = torch.nn.Parameter(emb)                       # (40, 2), no bias
        self.w1 = torch.nn.Parameter(w1)                         # (160, 40)
        self.b1 = torch.nn.Parameter(torch.zeros(H, dtype=dtype))
        self.w2 = torch.nn.Parameter(w2)                         # (40, 160)
        self.b2 = torch.nn.Parameter(torch.zeros(F, dtype=dtype))
        if gd:
            KQ = torch.diag(torch.tensor([1.0] * (F - 1) + [0.0], dtype=dtype))
            PV = torch.zeros(F, F, dtype=dtype)
            PV[-1, -1] = -gd_lr / N
            self.register_buffer("KQ_fixed", KQ)
            self.register_buffer("PV_fixed", PV)
        else:  # W_Q, W_K, W_V: (key 40, 40); W_O: (40, 40)
            self.attn = torch.nn.Parameter(torch.stack([_trunc((F, F), F, init_scale, g, dtype) for _ in range(4)]))

    def features(self, E: torch.Tensor) -> torch.Tensor:
        """phi(e) = emb(e) + MLP(emb(e)) for every token: (B, T, 2) -> (B, T, 40)."""
        h = E @ self.emb.T
        hidden = torch.nn.functional.gelu(h @ self.w1.T + self.b1, approximate="tanh")  # jax.nn.gelu's default
        return h + hidden @ self.w2.T + self.b2

    def merged(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(W_KQ, W_PV), each (40, 40): W_K^T W_Q and W_O W_V (the Prop-1 construction for ``gd``)."""
        if self.gd:
            return self.KQ_fixed, self.PV_fixed
        W_Q, W_K, W_V, W_O = self.attn
        return W_K.T @ W_Q, W_O @ W_V

    def forward(self, E: torch.Tensor) -> torch.Tensor:
        """Prediction -[phi(e_q) + sum_i (phi_i^T W_KQ phi_q) W_PV phi_i]_last for tokens E (B, N+1, 2): (B,)."""
        KQ, PV = self.merged()
        return lsa_forward(self.features(E), KQ, PV)


def kernel_decomposition(model: SineLSA, E: torch.Tensor) -> dict:
    """The trained layer as a kernel smoother on its own features (Proposition 2 [paper]; the terms [derived]).

    For tokens E (B, N+1, 2) returns float tensors: ``prediction`` (the module's forward pass),
    ``offset`` b(x_q) (B,), ``values`` v(e_i) (B, N), ``kernel`` kappa(e_i, x_q) (B, N) and
    ``smoother`` = b + sum_i v_i kappa_i (equal to the prediction up to round-off: the identity),
    ``label_free`` = y_hat with every context label set to 0 (B,), ``label_linear`` = sum_i y_i k_i
    with k_i = d y_hat / d y_i at labels 0 (Prop 2's sum_i y_i k(x_i, x_q), k from the layer's own
    features and weights), and ``label_nonlinear`` = prediction - label_free - label_linear.
    """
    KQ, PV = model.merged()
    N = E.shape[1] - 1
    phi = model.features(E)                                   # (B, N+1, 40)
    q = phi[:, N]                                             # (B, 40)
    kappa = phi[:, :N] @ (KQ @ q.unsqueeze(-1))               # (B, N, 1)
    values = -(phi[:, :N] @ PV[-1])                           # (B, N)
    offset = -q[:, -1]
    smoother = offset + (values * kappa[..., 0]).sum(-1)
    y = E[:, :N, 1]

    def f(labels):                                            # labels (B, N) -> (B,)
        Ey = torch.cat([torch.stack([E[:, :N, 0], labels], -1), E[:, N:]], dim=1)
        return model(Ey)

    zeros = torch.zeros_like(y, requires_grad=True)
    out0 = f(zeros)
    k = torch.autograd.grad(out0.sum(), zeros)[0]             # (B, N): d y_hat / d y_i at labels 0 (tasks independent)
    prediction = model(E)
    label_free = out0.detach()
    label_linear = (y * k).sum(-1)
    return dict(prediction=prediction.detach(), offset=offset.detach(), values=values.detach(),
                kernel=kappa[..., 0].detach(), smoother=smoother.detach(), label_free=label_free,
                label_linear=label_linear.detach(), label_k=k.detach(),
                label_nonlinear=(prediction - label_free - label_linear).detach())
