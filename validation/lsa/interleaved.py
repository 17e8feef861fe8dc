"""Interleaved tokens with a softmax copy layer (von Oswald et al. 2023, Fig 5, Proposition 3) in torch.

Tasks (the authors' ``create_reg_data_classic_token``, notes §2.3 [code]): d = N = 10, x ~ U(-1/2, 1/2)^d,
w ~ N(0, I_d), y = w.x; the 2N + 1 = 21 tokens are x_1, (0, ..., 0, y_1), x_2, ..., (0, ..., 0, y_N), x_q,
each of size d.  Sinusoidal positional encodings of size 10 are concatenated (the paper says 20 [paper]);
the code's ``create_pos_encoding``: pe[t, 2j] = sin(t / 10000^(2j/10)), pe[t, 2j+1] = cos(...).

Model (``normal_token_construct.ipynb`` [code]): two attention-only layers, not tied, one head, key size 20,
no biases, Haiku ``VarianceScaling(0.02/2)`` init; layer 1 softmax (logits / sqrt(20)), layer 2 linear;
keys and values from every token but the last (the query); h <- h + attention(h).  The prediction is
minus the LAST channel of the query token, which is a positional-encoding channel, not a y slot
(notes §2.3: it starts at cos(20 / 10000^(8/10)) ~ 0.9999 and the model must learn to write there).

:func:`copy_sensitivity` is the code's ``analyse_copy`` (notes §4.5): for each token k < 2N - 1, the
gradient of the SUM of the first layer's output at token k with respect to every input token (the
d content channels), averaged over tasks, and its norm per input token; averaged over k: "own"
(token k), "next" (token k + 1) and the code's "other" (the sum over every token but k, next included,
divided by 2N - 1).  We also return "rest", the mean over the tokens other than k and k + 1.
"""
from __future__ import annotations

import math

import torch

__all__ = ["InterleavedTransformer", "interleaved_tokens", "sample_interleaved_tasks", "positional_encoding",
           "copy_sensitivity", "PE_SIZE", "KEY_SIZE"]

#: the notebook's positional-encoding size (concatenated) and key size
PE_SIZE, KEY_SIZE = 10, 20
_TRUNC_STD = 0.87962566103423978


def positional_encoding(T: int, size: int = PE_SIZE, dtype=torch.float64) -> torch.Tensor:
    """The code's ``create_pos_encoding(T, size)``: (T, size), sin on even and cos on odd channels."""
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, size, 2, dtype=torch.float64) * (-math.log(10000.0) / size))
    pe = torch.zeros(T, size, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe.to(dtype)


def interleaved_tokens(X: torch.Tensor, y: torch.Tensor, x_q: torch.Tensor) -> torch.Tensor:
    """Tokens x_1, (0, .., 0, y_1), ..., x_N, (0, .., 0, y_N), x_q from X (B, N, d), y (B, N), x_q (B, d).

    Returns (B, 2N+1, d).
    """
    B, N, d = X.shape
    Yt = torch.zeros_like(X)
    Yt[..., -1] = y
    return torch.cat([torch.stack([X, Yt], dim=2).reshape(B, 2 * N, d), x_q[:, None]], dim=1)


def sample_interleaved_tasks(n: int, d: int, N: int, generator: torch.Generator, *, dtype=torch.float64):
    """n tasks of the code's ``create_reg_data_classic_token``: tokens (n, 2N+1, d) and y_q (n,)."""
    x = torch.rand(n, N + 1, d, generator=generator, dtype=dtype) - 0.5
    w = torch.randn(n, d, generator=generator, dtype=dtype)
    y = torch.einsum("ntd,nd->nt", x, w)
    return interleaved_tokens(x[:, :N], y[:, :N], x[:, N]), y[:, N]


def _trunc(shape, fan_in, scale, generator):
    std = math.sqrt(scale / fan_in) / _TRUNC_STD
    w = torch.empty(shape, dtype=torch.float64)
    torch.nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std, generator=generator)
    return w


class InterleavedTransformer(torch.nn.Module):
    """Two attention layers on concatenated (token, positional encoding): softmax first, linear second.

    ``theta`` (L = 2, 4, k, D): per layer W_Q, W_K, W_V (k x D) and W_O (D x k), D = d + PE_SIZE, k = 20.
    """

    def __init__(self, *, d: int = 10, N: int = 10, layers: int = 2, softmax_first: bool = True,
                 key_size: int = KEY_SIZE, init_scale: float | None = None, generator: torch.Generator | None = None,
                 dtype=torch.float64):
        super().__init__()
        D = d + PE_SIZE
        self.d, self.N, self.D, self.k, self.layers, self.softmax_first = d, N, D, key_size, layers, softmax_first
        scale = 0.02 / layers if init_scale is None else init_scale
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        ws = []
        for _ in range(layers):
            ws += [_trunc((key_size, D), D, scale, g) for _ in range(3)] + [_trunc((D, key_size), key_size, scale, g).T]
        self.theta = torch.nn.Parameter(torch.stack(ws).reshape(layers, 4, key_size, D).to(dtype))
        self.register_buffer("pe", positional_encoding(2 * N + 1, PE_SIZE, dtype))

    def layer(self, h: torch.Tensor, l: int) -> torch.Tensor:
        """One residual attention layer on h (B, T, D); keys and values from h[:, :-1]."""
        W_Q, W_K, W_V, W_Ot = self.theta[l]           # W_Ot = W_O^T (k, D)
        ctx = h[:, :-1]
        scores = (h @ W_Q.T) @ (ctx @ W_K.T).transpose(-1, -2)   # (B, T, T-1)
        if l == 0 and self.softmax_first:
            scores = torch.softmax(scores / math.sqrt(self.k), dim=-1)
        return h + (scores @ (ctx @ W_V.T)) @ W_Ot    # (B, T, D)

    def hidden(self, tokens: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """h after ``upto`` layers (all by default) for content tokens (B, 2N+1, d): (B, 2N+1, D)."""
        h = torch.cat([tokens, self.pe.expand(tokens.shape[0], -1, -1)], dim=-1)
        for l in range(self.layers if upto is None else upto):
            h = self.layer(h, l)
        return h

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prediction: minus the query token's last channel after both layers, (B,)."""
        return -self.hidden(tokens)[:, -1, -1]


def copy_sensitivity(model: InterleavedTransformer, tokens: torch.Tensor) -> dict:
    """The code's ``analyse_copy`` on tokens (B, 2N+1, d); returns floats own, next, other (code), rest, and SEs.

    For k = 0..2N-2: G_k = mean over tasks of d(sum_c h1[k, c]) / d tokens (2N+1, d), h1 the first layer's
    output; n_k[j] = |G_k[j]|.  own = mean_k n_k[k], next = mean_k n_k[k+1], other = mean_k
    (sum_{j != k} n_k[j]) / (2N - 1) (the code's, next included), rest = mean_k mean_{j not in {k, k+1}} n_k[j].
    Each SE: the delta-method standard error of the norm from the per-task gradients' spread.
    """
    T = tokens.shape[1]
    B = tokens.shape[0]
    K = T - 2
    own, nxt, other, rest, se_next, se_own, se_rest = [], [], [], [], [], [], []
    for k in range(K):
        x = tokens.detach().clone().requires_grad_(True)
        h1 = model.hidden(x, upto=1)
        g = torch.autograd.grad(h1[:, k].sum(), x)[0]          # (B, T, d): per-task gradients (tasks independent)
        mean = g.mean(0)                                      # (T, d)
        norms = mean.norm(dim=-1)                             # (T,)
        se_c = g.std(0) / math.sqrt(B)                        # (T, d)
        se_norm = torch.sqrt(((mean / norms.clamp_min(1e-300)[:, None]) ** 2 * se_c ** 2).sum(-1))
        others = [j for j in range(T) if j not in (k, k + 1)]
        own.append(norms[k])
        nxt.append(norms[k + 1])
        other.append((norms.sum() - norms[k]) / K)
        rest.append(norms[others].mean())
        se_next.append(se_norm[k + 1])
        se_own.append(se_norm[k])
        se_rest.append(torch.sqrt((se_norm[others] ** 2).sum()) / len(others))
    f = lambda v: float(torch.stack(v).mean())                              # noqa: E731
    se = lambda v: float(torch.stack(v).mean())  # noqa: E731 (the k share tasks: the mean SE bounds the SE of the mean)
    return dict(own=f(own), next=f(nxt), other=f(other), rest=f(rest), own_se=se(se_own), next_se=se(se_next),
                rest_se=se(se_rest))
