"""Torch models for Nichani, Damian, Lee 2024 (all ``forward(tokens) -> probabilities (B, S)``).

- :class:`ReducedModel`: positional layer 1 (``A1``, T x T), token-matching layer 2 (``A2``, S x S),
  output = layer-2 average of the one-hot tokens (the reduced model of the theory).
- :class:`DisentangledTransformer`: one-hot token + position embedding, concatenated residual
  stream, one merged attention matrix per head, softmax readout (the authors' ``CatFormer``).
- :class:`StandardTransformer`: random additive embeddings, residual attention + value + MLP
  blocks, softmax readout (the authors' ``Transformer`` of Figure 8).

The reduced model is trained on :func:`smoothed_loss` (its output can put mass 0 on a possible
label), the transformers on the plain log loss of their ``log_probs``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "DisentangledTransformer",
    "ReducedModel",
    "StandardTransformer",
    "causal_softmax",
    "smoothed_loss",
]


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------

def causal_softmax(scores: torch.Tensor) -> torch.Tensor:
    """Row-wise softmax over l <= i (diagonal included) of scores (..., T, T)."""
    T = scores.shape[-1]
    mask = torch.ones(T, T, dtype=torch.bool, device=scores.device).tril()
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


class ReducedModel(nn.Module):
    """The reduced model of the theory (notes Section 2.2).

    v_i = sum_{j<=i} softmax_j(A1_ij) e_{s_j};  z_i = e_{s_T}^T A2 v_i;
    f(X) = sum_{i<=T} softmax_i(z) e_{s_i}  (a probability vector; the loss is -log(f_y + eps)).
    """

    def __init__(self, T: int, S: int, *, beta0: float = 0.0, dtype=torch.float64, device="cpu"):
        super().__init__()
        self.T, self.S = int(T), int(S)
        self.A1 = nn.Parameter(torch.zeros(self.T, self.T, dtype=dtype, device=device))
        self.A2 = nn.Parameter(float(beta0) * torch.eye(self.S, dtype=dtype, device=device))

    def forward(self, tokens: torch.Tensor, *, return_attention: bool = False):
        X = nn.functional.one_hot(tokens, self.S).to(self.A1.dtype)  # (B, T, S)
        sigma1 = causal_softmax(self.A1)  # (T, T)
        v = torch.einsum("ij,bjs->bis", sigma1, X)  # (B, T, S)
        q = self.A2[tokens[:, -1]]  # (B, S): e_{s_T}^T A2
        z = torch.einsum("bis,bs->bi", v, q)  # (B, T)
        sigma2 = torch.softmax(z, dim=-1)  # (B, T)
        f = torch.einsum("bi,bis->bs", sigma2, X)  # (B, S)
        if return_attention:
            return f, sigma1, sigma2
        return f


def smoothed_loss(f: torch.Tensor, y: torch.Tensor, epsilon: float) -> torch.Tensor:
    """The reduced model's epsilon-smoothed log loss, -mean_b sum_s' y(s') log(f(s') + epsilon).

    ``f`` (B, S) the model's output, ``y`` (B, S) the target laws pi(. | s_T); ``epsilon`` in (0, 1),
    checked by the caller (Algorithm 1 trains on it; the gradient lemma takes it tiny).
    """
    return -(y * torch.log(f + epsilon)).sum(-1).mean()


class DisentangledTransformer(nn.Module):
    """The disentangled transformer (the authors' ``CatFormer``).

    h^(0)_i = [e_{s_i}; e_i] in R^{S+T}; attn(h; A) = S(h A h^T) h with the causal softmax S;
    h^(l) = [h^(l-1), attn(h^(l-1); A^(l,1)), ..., attn(h^(l-1); A^(l,m_l))];
    f(X) = softmax(W^T h^(L)_T). Only the query row of the last layer is computed.
    """

    def __init__(self, S: int, T: int, heads=(1, 1), *, init_std: float = 0.0,
                 generator: torch.Generator | None = None, dtype=torch.float64, device="cpu"):
        super().__init__()
        self.S, self.T, self.heads = int(S), int(T), tuple(int(m) for m in heads)
        if not self.heads or any(m < 1 for m in self.heads):
            raise ValueError(f"heads must be a non-empty tuple of ints >= 1, got {heads!r}")
        d = self.S + self.T
        self.dims = [d]
        self.A = nn.ParameterList()
        for m in self.heads:
            A = torch.zeros(m, d, d, dtype=dtype)
            if init_std:
                A = init_std * torch.randn(m, d, d, generator=generator, dtype=dtype)
            self.A.append(nn.Parameter(A.to(device)))
            d *= 1 + m
            self.dims.append(d)
        self.W = nn.Parameter(torch.zeros(d, self.S, dtype=dtype, device=device))

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        B, T = tokens.shape
        wte = nn.functional.one_hot(tokens, self.S).to(self.W.dtype)  # (B, T, S)
        wpe = torch.eye(T, dtype=self.W.dtype, device=tokens.device).expand(B, T, T)
        return torch.cat([wte, wpe], dim=-1)  # (B, T, S+T)

    def _first_attention(self, tokens: torch.Tensor) -> torch.Tensor:
        """Layer-1 attention S(X~ A X~^T) per head, (m, B, T, T), using that X~ is one-hot.

        With h_i = [e_{s_i}; e_i], (h_i A h_l^T) = (h_i A)_{s_l} + (h_i A)_{S+l}: gathers, no matmuls.
        """
        S, (B, T) = self.S, tokens.shape
        A = self.A[0]  # (m, d0, d0)
        hA = A[:, tokens] + A[:, S:S + T].unsqueeze(1)  # (m, B, T, d0): rows s_i and S+i of A
        idx = tokens[None, :, None, :].expand(A.shape[0], B, T, T)
        return causal_softmax(torch.gather(hA[..., :S], 3, idx) + hA[..., S:S + T])

    def _hist(self, tokens: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """sum_j w[..., j] e_{s_j}: (m, B, T) weights over positions -> (m, B, S) token masses."""
        idx = tokens.expand(w.shape[0], *tokens.shape)
        return torch.zeros(*w.shape[:-1], self.S, dtype=w.dtype, device=w.device).scatter_add_(-1, idx, w)

    def _first_layer(self, tokens: torch.Tensor) -> torch.Tensor:
        """attn(X~; A^(1,h)) for every head at every position, (B, T, m*d0)."""
        att = self._first_attention(tokens)  # (m, B, T, T)
        m, B, T, _ = att.shape
        idx = tokens[None, :, None, :].expand(m, B, T, T)
        tok = torch.zeros(m, B, T, self.S, dtype=att.dtype, device=att.device).scatter_add_(3, idx, att)
        return torch.cat([tok, att], dim=-1).permute(1, 2, 0, 3).flatten(2)

    def _two_layer_query_state(self, tokens: torch.Tensor) -> torch.Tensor:
        """h^(2)_T of a two-layer model with O(B T^2) work (the paper's depth).

        h^(1)_l = [e_{s_l}, e_l, (hist(att1_h[l]), att1_h[l]) per head h], hist(a) = sum_j a_j e_{s_j}.
        With a = h^(1)_T A2 split the same way, the layer-2 score at l is
        a_tok[s_l] + a_pos[l] + sum_h att1_h[l] . (a_tok1_h[s] + a_att_h), and the layer-2 output is
        [hist(att2), att2, (hist(att2 att1_h), att2 att1_h) per head].
        """
        S, (B, T) = self.S, tokens.shape
        d0 = S + T
        att1 = self._first_attention(tokens)  # (m1, B, T, T)
        m1 = att1.shape[0]
        last = att1[:, :, -1, :]  # (m1, B, T): the query's layer-1 row
        hist_last = self._hist(tokens, last)  # (m1, B, S)
        parts = [nn.functional.one_hot(tokens[:, -1], S).to(att1.dtype),
                 nn.functional.one_hot(torch.full_like(tokens[:, -1], T - 1), T).to(att1.dtype)]
        for h in range(m1):
            parts += [hist_last[h], last[h]]
        q = torch.cat(parts, dim=-1)  # (B, d1): h^(1)_T
        a = torch.einsum("bd,mde->mbe", q, self.A[-1])  # (m2, B, d1)
        m2 = a.shape[0]
        idx = tokens.expand(m2, B, T)
        scores = torch.gather(a[..., :S], 2, idx) + a[..., S:d0]  # (m2, B, T)
        for h in range(m1):
            off = d0 * (1 + h)
            g = torch.gather(a[..., off:off + S], 2, idx) + a[..., off + S:off + d0]  # (m2, B, T)
            scores = scores + (att1[h].unsqueeze(0) * g.unsqueeze(2)).sum(-1)
        att2 = torch.softmax(scores, dim=-1)  # (m2, B, T)
        out = [self._hist(tokens, att2), att2]
        for h in range(m1):
            w = (att2.unsqueeze(-1) * att1[h].unsqueeze(0)).sum(2)  # (m2, B, T): att2 @ att1_h
            out += [self._hist(tokens, w), w]
        out = torch.cat(out, dim=-1).permute(1, 0, 2).flatten(1)  # (B, m2*d1)
        return torch.cat([q, out], dim=-1)  # (B, d2)

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """W^T h^(L)_T, (B, S)."""
        if tokens.shape[1] != self.T:
            raise ValueError(f"tokens must have T = {self.T} columns, got {tokens.shape[1]}")
        if len(self.A) == 2:
            return self._two_layer_query_state(tokens) @ self.W
        h = self.embed(tokens)  # (B, T, d0)
        if len(self.A) > 1:
            h = torch.cat([h, self._first_layer(tokens)], dim=-1)  # (B, T, (1+m) d0)
        for A in self.A[1:-1]:  # middle layers (deeper models only): dense inputs
            scores = torch.einsum("bid,mde,bje->bmij", h, A, h)  # (B, m, T, T)
            out = torch.einsum("bmij,bjd->bimd", causal_softmax(scores), h).flatten(2)
            h = torch.cat([h, out], dim=-1)
        q = h[:, -1]  # (B, d): the last layer is needed at the query only
        qA = torch.einsum("bd,mde->bme", q, self.A[-1])  # (B, m, d)
        scores = (h.unsqueeze(1) * qA.unsqueeze(2)).sum(-1)  # (B, m, T)
        att = torch.softmax(scores, dim=-1)
        out = (att.unsqueeze(-1) * h.unsqueeze(1)).sum(2).flatten(1)  # (B, m*d)
        return torch.cat([q, out], dim=-1) @ self.W

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """f(X) = softmax(W^T h^(L)_T), (B, S)."""
        return torch.softmax(self.logits(tokens), dim=-1)

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(tokens), dim=-1)

    def forward_reference(self, tokens: torch.Tensor) -> torch.Tensor:
        """Plain implementation (dense attention at every layer and position), for tests."""
        h = self.embed(tokens)
        for A in self.A:
            scores = torch.einsum("bid,mde,bje->bmij", h, A, h)
            out = torch.einsum("bmij,bjd->bimd", causal_softmax(scores), h).flatten(2)
            h = torch.cat([h, out], dim=-1)
        return torch.softmax(h[:, -1] @ self.W, dim=-1)

    def position_attention(self) -> torch.Tensor:
        """S(A^(1)_pos,pos) per layer-1 head: the causal softmax of the position block, (m, T, T)."""
        S = self.S
        return causal_softmax(self.A[0][:, S:, S:].detach())


class StandardTransformer(nn.Module):
    """A standard transformer with MLPs (the authors' ``Transformer``, Figure 8).

    Embedding x_i = wte[s_i] + wpe[i] (random N(0, 1/d), trained), d = S + T; each layer
    x <- x + MLP(attn(x; A) V) with A = 0 and V ~ N(0, 1/d) at start, MLP d -> d -> d with ReLU in
    the muP scaling of the authors' ``muLinear`` (last layer zero); readout softmax(x_T W), W = 0.
    """

    def __init__(self, S: int, T: int, heads=(1, 1), *, generator: torch.Generator,
                 dtype=torch.float64, device="cpu"):
        super().__init__()
        self.S, self.T, self.heads = int(S), int(T), tuple(int(m) for m in heads)
        d = self.S + self.T
        self.d = d

        def normal(*shape, scale):
            return nn.Parameter((scale * torch.randn(*shape, generator=generator, dtype=dtype)).to(device))

        self.A = nn.ParameterList()
        self.V = nn.ParameterList()
        self.M1 = nn.ParameterList()
        self.b1 = nn.ParameterList()
        self.M2 = nn.ParameterList()
        self.b2 = nn.ParameterList()
        for m in self.heads:
            self.A.append(nn.Parameter(torch.zeros(m, d, d, dtype=dtype, device=device)))
            self.V.append(normal(m * d, d, scale=1 / math.sqrt(d)))
            self.M1.append(normal(d, d, scale=1 / math.sqrt(d)))
            self.b1.append(nn.Parameter(torch.zeros(d, dtype=dtype, device=device)))
            self.M2.append(nn.Parameter(torch.zeros(d, d, dtype=dtype, device=device)))
            self.b2.append(nn.Parameter(torch.zeros(d, dtype=dtype, device=device)))
        self.W = nn.Parameter(torch.zeros(d, self.S, dtype=dtype, device=device))
        self.wte = normal(self.S, d, scale=1 / math.sqrt(d))
        self.wpe = normal(self.T, d, scale=1 / math.sqrt(d))

    def logits(self, tokens: torch.Tensor, *, return_attention: bool = False):
        x = self.wte[tokens] + self.wpe[: tokens.shape[1]]  # (B, T, d)
        first = None
        for layer, A in enumerate(self.A):
            att = causal_softmax(torch.einsum("bid,mde,bje->bmij", x, A, x))  # (B, m, T, T)
            if layer == 0:
                first = att
            out = torch.einsum("bmij,bjd->bimd", att, x).flatten(2)  # (B, T, m*d)
            delta = out @ self.V[layer]  # (B, T, d)
            # muLinear: x @ (M * sqrt(out/in)) + b * sqrt(out); square layers here, so the scale is 1
            hidden = torch.relu(delta @ self.M1[layer] + self.b1[layer] * math.sqrt(self.d))
            x = x + hidden @ self.M2[layer] + self.b2[layer] * math.sqrt(self.d)
        logits = x[:, -1] @ self.W  # (B, S)
        return (logits, first) if return_attention else logits

    def forward(self, tokens: torch.Tensor, *, return_attention: bool = False):
        """f(X) = softmax(x_T W), (B, S); with the layer-1 attention (B, m, T, T) on request."""
        if return_attention:
            logits, first = self.logits(tokens, return_attention=True)
            return torch.softmax(logits, dim=-1), first
        return torch.softmax(self.logits(tokens), dim=-1)

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(tokens), dim=-1)
