"""Torch sampler for Nichani, Damian, Lee 2024, drawn on the device inside the training loop.

Every row of pi is Dir(alpha 1_S), drawn by the Gamma trick in log space
(``log Gamma(alpha) = log Gamma(alpha + 1) + log(U) / alpha``, Gamma(alpha + 1) by Marsaglia-Tsang),
so that Dir(0.1) and smaller shapes neither underflow nor lose accuracy; roots start at the
stationary law mu_pi (batched GTH elimination); the query is uniform; the target is the row
pi(. | s_T). The draws are made in float32 (the randomness needs no more: rounding moves a
probability by 1e-7 relative); target rows are returned in the model's dtype. The numpy sampler of
:mod:`numerics.causal` is the reference the tests compare against.

The three ``lru_cache``s below hold the level plans of a graph (which nodes are drawn together,
level by level): pure functions of a tuple of ints, cheap to key, looked up at every training
step; they hold no trained state and no randomness.
"""
from __future__ import annotations

import functools
import math

import torch

from numerics.causal import check_alpha, check_S, validate_parent_lists, validate_parents
from theory.args import integer, real

__all__ = ["dirichlet_rows", "log_gamma", "sample_dag_task", "sample_tree_task", "stationary_gth"]


# ---------------------------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _levels(parent_lists: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    """Nodes grouped by depth (length of the longest parent path), so one level is drawn at once."""
    depth = []
    for ps in parent_lists:
        depth.append(1 + max((depth[p] for p in ps), default=-1))
    levels = {}
    for i, d in enumerate(depth):
        levels.setdefault(d, []).append(i)
    return tuple(tuple(levels[d]) for d in sorted(levels))


# ---------------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _child_levels(parents: tuple[int, ...]) -> tuple:
    """(children, their parents) per depth level >= 1: ints for a single node, else tuples."""
    out = []
    for level in _levels(tuple((p,) if p >= 0 else () for p in parents))[1:]:
        kids = tuple(i for i in level if parents[i] >= 0)
        pars = tuple(parents[i] for i in kids)
        out.append((kids[0], pars[0]) if len(kids) == 1 else (kids, pars))
    return tuple(out)


def log_gamma(n: int, shape: float, *, generator: torch.Generator, dtype=torch.float32,
              device="cpu") -> torch.Tensor:
    """log of n i.i.d. Gamma(shape) draws, shape >= 1 (Marsaglia and Tsang 2000), flat (n,).

    x ~ N(0, 1), u ~ U(0, 1), d = shape - 1/3, c = 1/sqrt(9 d), w = 1 + c x; accept d w^3 when
    w > 0 and u < 1 - 0.0331 x^4 (squeeze, no logarithm) or log u < x^2/2 + d (1 - w^3 + log w^3);
    rejected slots are redrawn. Returns log(d) + 3 log(w), so nothing underflows.
    """
    shape = real(shape, "shape", low=1.0)
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    x = torch.randn(n, generator=generator, dtype=dtype, device=device)
    u = torch.rand(n, generator=generator, dtype=dtype, device=device)
    w = 1.0 + c * x
    x2 = x * x
    out = torch.log(w.clamp_min(1e-30))
    bad = ((w <= 0) | (u >= 1.0 - 0.0331 * x2 * x2)).nonzero().squeeze(1)  # about 2 % of the slots
    while bad.numel():
        xb, ub, lw = x[bad], u[bad], out[bad]
        wb = w[bad]
        ok = (wb > 0) & (torch.log(ub) < 0.5 * xb * xb + d * (1.0 - wb ** 3 + 3.0 * lw))
        bad = bad[~ok]
        if bad.numel():  # redraw the rejected slots
            k = bad.numel()
            x[bad] = torch.randn(k, generator=generator, dtype=dtype, device=device)
            u[bad] = torch.rand(k, generator=generator, dtype=dtype, device=device)
            w[bad] = 1.0 + c * x[bad]
            out[bad] = torch.log(w[bad].clamp_min(1e-30))
    return math.log(d) + 3.0 * out


def dirichlet_rows(shape, S: int, alpha: float, *, generator: torch.Generator,
                   dtype=torch.float64, device="cpu") -> torch.Tensor:
    """Rows p ~ Dir(alpha 1_S), shape ``(*shape, S)``, by the Gamma trick in log space.

    ``G_s = Gamma(alpha + 1) * U_s^(1/alpha)`` is Gamma(alpha); normalising in log space,
    ``p = softmax(log Gamma(alpha + 1) - E / alpha)`` with E = -log U ~ Exp(1), keeps small shapes
    (alpha = 0.1, 0.01) exact where the direct draw underflows. The draws are made in float32
    (the randomness needs no more) and the rows returned in ``dtype``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> p = dirichlet_rows((4,), 3, 0.1, generator=g)
    >>> tuple(p.shape), bool(torch.allclose(p.sum(-1), torch.ones(4, dtype=torch.float64)))
    ((4, 3), True)
    """
    alpha = check_alpha(alpha)
    size = (*tuple(int(k) for k in shape), int(S))
    n = math.prod(size)
    log_g = log_gamma(n, 1.0 + alpha, generator=generator, device=device).view(size)
    u = torch.rand(size, dtype=torch.float32, device=device, generator=generator)  # [0, 1)
    e = -torch.log1p(-u)  # Exp(1), finite
    return torch.softmax((log_g - e / alpha).to(dtype), dim=-1)


def stationary_gth(P: torch.Tensor) -> torch.Tensor:
    """Stationary laws mu (mu P = mu) of a batch of stochastic matrices ``P`` (..., S, S), by GTH.

    Grassmann-Taksar-Heyman elimination uses only additions of non-negative numbers, so it stays
    accurate (to the working precision, relative) for nearly reducible chains drawn from Dir(0.1)
    rows. Computed in the dtype of ``P`` (pass float64 for comparisons).
    """
    A = P.clone()
    S = A.shape[-1]
    for n in range(S - 1, 0, -1):
        s = A[..., n, :n].sum(-1).clamp_min(torch.finfo(A.dtype).tiny)  # (...,)
        A[..., :n, n] = A[..., :n, n] / s[..., None]
        A[..., :n, :n] = A[..., :n, :n] + A[..., :n, n:n + 1] * A[..., n:n + 1, :n]
    mu = torch.zeros(A.shape[:-1], dtype=A.dtype, device=A.device)  # (..., S)
    mu[..., 0] = 1.0
    for n in range(1, S):
        mu[..., n] = (mu[..., :n] * A[..., :n, n]).sum(-1)
    return mu / mu.sum(-1, keepdim=True)


def _categorical(probs_cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw: index of the first cdf entry above u (clamped for rounding at the top)."""
    S = probs_cdf.shape[-1]
    return (u.unsqueeze(-1) > probs_cdf).sum(-1).clamp_max(S - 1)


def sample_tree_task(parents, S: int, alpha: float, batch: int, *, generator: torch.Generator,
                     device="cpu", dtype=torch.float64, pi: torch.Tensor | None = None,
                     mu: torch.Tensor | None = None, return_pi: bool = False):
    """Sequences of the single-parent task (Nichani et al. 2024, Task 1), drawn on ``device``.

    For each sequence: pi with rows i.i.d. Dir(alpha 1_S) (or the given ``pi``, (S, S) or (B, S, S));
    s_i ~ mu_pi at a root (or the given ``mu``), s_i ~ pi(. | s_parent(i)) otherwise; the query
    s_T ~ Unif[S]; the target is the row pi(. | s_T).

    Returns
    -------
    tokens : LongTensor (batch, T) with T = len(parents) + 1 (the query last)
    target : Tensor (batch, S), the law of s_{T+1}
    pi : Tensor (batch, S, S), only with ``return_pi=True``
    """
    parents = validate_parents(parents)
    S, batch = check_S(S), integer(batch, "batch", minimum=1)
    n = len(parents)
    if pi is None:
        pi = dirichlet_rows((batch, S), S, alpha, generator=generator, dtype=torch.float32, device=device)
    else:
        pi = torch.as_tensor(pi, dtype=torch.float32, device=device)
        if pi.shape[-2:] != (S, S):
            raise ValueError(f"pi must have shape (S, S) or (batch, S, S) with S = {S}, got {tuple(pi.shape)}")
        pi = pi.expand(batch, S, S)
    if mu is None:
        mu = stationary_gth(pi)  # (B, S)
    else:
        mu = torch.as_tensor(mu, dtype=torch.float32, device=device).expand(batch, S)
    cdf_pi = pi.cumsum(-1)  # (B, S, S)
    cdf_mu = mu.cumsum(-1)  # (B, S)
    u = torch.rand((batch, n), generator=generator, dtype=torch.float32, device=device)
    tokens = torch.empty((batch, n + 1), dtype=torch.long, device=device)
    tokens[:, :n] = _categorical(cdf_mu.unsqueeze(1), u)  # (B, n): every node drawn as a root
    for kids, pars in _child_levels(parents):  # children, level by level (parents drawn first)
        if isinstance(kids, int):
            rows = cdf_pi.gather(1, tokens[:, pars, None, None].expand(batch, 1, S)).squeeze(1)  # (B, S)
            tokens[:, kids] = _categorical(rows, u[:, kids])
        else:
            kids, pars = torch.tensor(kids, device=device), torch.tensor(pars, device=device)
            idx = tokens[:, pars, None].expand(batch, len(pars), S)
            tokens[:, kids] = _categorical(cdf_pi.gather(1, idx), u[:, kids])  # (B, k, S) rows
    tokens[:, n] = torch.randint(0, S, (batch,), generator=generator, device=device)
    target = pi[torch.arange(batch, device=device), tokens[:, n]].to(dtype)  # (B, S)
    if return_pi:
        return tokens, target, pi
    return tokens, target


def sample_dag_task(parent_lists, S: int, alpha: float, batch: int, *, generator: torch.Generator,
                    device="cpu", dtype=torch.float64):
    """Sequences of the multi-parent task (the authors' ``InContextDAG``), drawn on ``device``.

    ``parent_lists`` has one list per node; the last node is the target. Roots are uniform; a node
    with k parents draws from pi_k(. | s_parents) where pi_k has S^k rows i.i.d. Dir(alpha 1_S),
    one independent pi_k per parent count, fresh for every sequence.

    Returns tokens (batch, T) with T = len(parent_lists) - 1, and the target law (batch, S).
    """
    parent_lists = validate_parent_lists(parent_lists)
    S, batch = check_S(S), integer(batch, "batch", minimum=1)
    ks = sorted({len(ps) for ps in parent_lists if ps})
    cdfs, pis = {}, {}
    for k in ks:
        pis[k] = dirichlet_rows((batch, S ** k), S, alpha, generator=generator, dtype=torch.float32,
                                device=device)  # (B, S^k, S)
        cdfs[k] = pis[k].cumsum(-1)
    T = len(parent_lists) - 1
    u = torch.rand((batch, T), generator=generator, dtype=torch.float32, device=device)
    tokens = torch.floor(u * S).long().clamp_max(S - 1)  # (B, T): every node drawn as a uniform root
    for k, kids, pars in _dag_plan(parent_lists):  # non-roots, level by level, grouped by parent count
        if isinstance(kids, int):
            code = tokens[:, pars[0]]
            for p in pars[1:]:
                code = code * S + tokens[:, p]
            rows = cdfs[k].gather(1, code[:, None, None].expand(batch, 1, S)).squeeze(1)  # (B, S)
            tokens[:, kids] = _categorical(rows, u[:, kids])
        else:
            kids = torch.tensor(kids, device=device)
            par = torch.tensor(pars, device=device)  # (k_nodes, k)
            code = tokens[:, par[:, 0]]
            for j in range(1, k):
                code = code * S + tokens[:, par[:, j]]
            rows = cdfs[k].gather(1, code[:, :, None].expand(batch, len(kids), S))  # (B, k_nodes, S)
            tokens[:, kids] = _categorical(rows, u[:, kids])
    code = torch.zeros(batch, dtype=torch.long, device=device)
    for p in parent_lists[-1]:
        code = code * S + tokens[:, p]
    target = pis[len(parent_lists[-1])][torch.arange(batch, device=device), code].to(dtype)
    return tokens, target


@functools.lru_cache(maxsize=64)
def _dag_plan(parent_lists: tuple[tuple[int, ...], ...]) -> tuple:
    """(k, children, their parent tuples) per depth level and parent count k >= 1, target excluded;
    a single child is given as an int (with one parent tuple)."""
    T = len(parent_lists) - 1
    out = []
    for level in _levels(parent_lists):
        by_k = {}
        for i in level:
            if i < T and parent_lists[i]:
                by_k.setdefault(len(parent_lists[i]), []).append(i)
        for k, nodes in sorted(by_k.items()):
            pars = tuple(parent_lists[i] for i in nodes)
            out.append((k, nodes[0], pars[0]) if len(nodes) == 1 else (k, tuple(nodes), pars))
    return tuple(out)
