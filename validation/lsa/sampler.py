"""Regression tasks for training the LSA of von Oswald et al. 2023, drawn in torch on the device.

The authors' ``create_reg_data``: w ~ N(0, I_d), x_i, x_q i.i.d. U(-1/2, 1/2)^d (input_range 1;
the paper writes U(-1, 1)), y = w.x, tokens (x_i, y_i) and (x_q, 0).  Any law of
:mod:`theory.laws` works.  The tokens are written in place (no concatenation), optionally with
zero padding channels and the context statistic C = sum_i e_i e_i^T for the fast training path.
The same conventions as ``numerics.lsa.sample_tasks`` (which the evaluation sets use); the
streams differ (torch.Generator here, numpy there).
"""
from __future__ import annotations

import math

import torch

from numerics.laws import law_scale
from theory.laws import as_law

__all__ = ["TaskSampler", "sample_task_tokens"]


def sample_task_tokens(n: int, d: int, N: int, law, *, generator: torch.Generator,
                       task_var: float = 1.0, noise_var: float = 0.0, dtype=torch.float32,
                       device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n regression tasks in torch, directly on ``device`` (the code's ``create_reg_data``).

    x_i, x_q i.i.d. from ``law`` (U(-1/2, 1/2)^d = "uniform(1/2)" in the paper's code),
    w ~ N(0, task_var I_d), y = w.x + eps with eps ~ N(0, noise_var) (context and query alike).
    ``generator`` must live on ``device``.  In a loop, build a :class:`TaskSampler` once
    instead (it resolves the law once).

    Returns
    -------
    E : (n, N+1, d+1) tokens, query y-slot 0.  y_q : (n,) query targets.
    """
    return TaskSampler(d, N, law, task_var=task_var, noise_var=noise_var, dtype=dtype,
                       device=device)(n, generator)


class TaskSampler:
    """Draws batches of tasks as tokens; see :func:`sample_task_tokens` (the law is resolved once).

    ``pad`` > 0 inserts that many zero channels between x and y (see :func:`validation.lsa.models.pad_weights`);
    ``stats`` also returns C = sum_i e_i e_i^T over the context, (n, D, D).
    """

    def __init__(self, d: int, N: int, law, *, task_var: float = 1.0, noise_var: float = 0.0,
                 dtype=torch.float32, device="cpu", pad: int = 0, stats: bool = False):
        self.pad, self.stats = int(pad), bool(stats)
        self.law = as_law(law)
        self.c = law_scale(self.law)
        self.kind = type(self.law).__name__
        self.d, self.N, self.task_var, self.noise_var = d, N, float(task_var), float(noise_var)
        self.dtype, self.device = dtype, device

    def __call__(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        d, N, c, dtype, device = self.d, self.N, self.c, self.dtype, self.device
        p = self.pad
        E = torch.empty(n, N + 1, d + p + 1, dtype=dtype, device=device)  # (n, N+1, d+p+1)
        if p:
            E[..., d:d + p] = 0.0
        x = E[..., :d]  # (n, N+1, d), filled in place: no extra pass, no concatenation
        kind = self.kind
        if kind == "Uniform":
            x.uniform_(-c, c, generator=generator)
        elif kind == "Gaussian":
            x.normal_(0.0, c, generator=generator)
        elif kind == "Rademacher":
            bits = torch.randint(0, 2, x.shape, generator=generator, device=device)
            x.copy_(bits).mul_(2 * c).sub_(c)
        elif kind == "SparseAxis":
            idx = torch.randint(0, d, (n, N + 1, 1), generator=generator, device=device)
            s = torch.randint(0, 2, (n, N + 1, 1), generator=generator, device=device).to(dtype)
            x.zero_().scatter_(-1, idx, s.mul_(2 * c).sub_(c))
        elif kind == "Sphere":
            x.normal_(generator=generator)
            x.div_(x.norm(dim=-1, keepdim=True)).mul_(c)
        elif kind == "FullOne":
            x.fill_(c)
        else:  # pragma: no cover - every law of theory.laws is handled
            raise TypeError(f"no torch sampler for law {self.law!r}")
        w = torch.randn(n, d, 1, generator=generator, dtype=dtype, device=device)  # (n, d, 1)
        if self.task_var != 1.0:
            w.mul_(math.sqrt(self.task_var))
        y = E[..., -1:]  # (n, N+1, 1)
        torch.bmm(x, w, out=y)
        if self.noise_var > 0:
            y.add_(torch.randn(y.shape, generator=generator, dtype=dtype, device=device),
                   alpha=math.sqrt(self.noise_var))
        y_q = y[:, -1, 0].clone()  # (n,)
        y[:, -1] = 0.0
        if self.stats:
            ctx = E[:, :N]
            return E, y_q, ctx.transpose(-1, -2) @ ctx  # C: (n, D, D)
        return E, y_q
