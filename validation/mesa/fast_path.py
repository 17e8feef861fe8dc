"""The fast exact path of the Zheng et al. (2024) model for AR data (torch): loss, gradients, predictions.

For AR data x_t = W^{t-1} x_1, W = diag(lambda), |lambda_j| = 1, x_1 real (the model and the
reference implementations are :mod:`validation.mesa.model`), with phi_t = lambda^{t-1},
M = [diag(x_1); diag(x_1 conj(lambda))] (2d x d) and f = M phi_1, e_t = M phi_t for t >= 2 and
C_t = M G_t M^H - Delta with G_t = sum_{s<t} (lambda lambda^H)^{o s} (entrywise powers) and
Delta = f f^H - e_1 e_1^H.  Since G_t[j,k] = t (j = k) and h_jk (1 - (lambda_j conj lambda_k)^t)
with h_jk = 1/(1 - lambda_j conj lambda_k) (j != k),

    (t - 1) y_hat_t = P~ (t u_t + Hn u_t - L_t Hn conj(L_t) u_t) - K phi_t,
    u_t = Q~ phi_t,  P~ = P M,  Q~ = M^H Q M,  K = P Delta Q M,  L_t = diag(lambda^t),

with per-sequence d x d matrices: O(m T d^2) per evaluation, no (m, T, 2d, 2d) tensor, and a
hand-written backward pass (exact).  Sequences with two phases closer than ``_DEGENERATE``
(where h_jk loses digits) go through :func:`prefix_predictions` instead.

The per-dataset constants (everything that does not depend on P, Q) are an :class:`ARConstants`,
built once by :func:`prepare` and passed to every evaluation; a plain :class:`ARData` is prepared on
each call.  The fast path runs in the parameters' precision: complex128 (float64 parameters, the
default) or complex64 (single-precision parameters, the authors' ``torch.cfloat``; about twice as
fast), with the constants computed in float64 and rounded once.

``ar_loss_and_grad(..., workers=k)`` splits the chunks of sequences over k threads of a persistent
pool per k (:func:`_pool`, torch single-threaded in each): a compute kernel's chunk parallelism,
bit-identical for every k (the tests compare), not a cache of results.
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import torch

from validation.mesa.model import DTYPE, ARData, prefix_predictions

__all__ = ["ARConstants", "prepare", "working_dtype", "ar_predictions", "ar_loss_and_grad", "CHUNK_ELEMENTS"]

_DEGENERATE = 1e-5  # |lambda_j - lambda_k| below this: use the prefix-sum path for the sequence
#: complex entries per (n, d, T-2) chunk of the fast path: keeps every chunk in cache
CHUNK_ELEMENTS = 1 << 16


class ARConstants:
    """Per-dataset constants of the fast path (data only, no parameters), in one precision.

    Built by :func:`prepare`; ``dtype`` is complex128 or complex64, ``data`` the :class:`ARData`
    they were computed from.  Read-only once built: runs that share a training set share them.
    """

    def __init__(self, data: ARData, dtype=DTYPE):
        """Constants computed in float64 and rounded once to ``dtype`` (complex128 or complex64)."""
        self.data = data
        x1, th, T = data.x1, data.theta, data.T
        m, d = x1.shape
        dev = x1.device
        delta = th[:, :, None] - th[:, None, :]  # (m, d, d)
        s = 2.0 * torch.sin(delta / 2)  # |1 - lambda_j conj(lambda_k)| up to sign
        eye = torch.eye(d, dtype=torch.bool, device=dev)
        gap = torch.where(eye, torch.full_like(s, math.inf), s.abs()).amin(dim=(1, 2)) if d > 1 else \
            torch.full((m,), math.inf, dtype=torch.float64, device=dev)
        self.regular = torch.nonzero(gap >= _DEGENERATE)[:, 0]
        self.degenerate = torch.nonzero(gap < _DEGENERATE)[:, 0]
        r = self.regular
        x1r, thr = x1[r], th[r]
        n = x1r.shape[0]
        x1c = x1r.to(DTYPE)  # (n, d)
        lam = torch.polar(torch.ones_like(thr), thr)  # (n, d)
        dr, sr = delta[r], s[r]
        # h_jk = 1/(1 - e^{i delta}) = i e^{-i delta/2} / (2 sin(delta/2)); zero on the diagonal
        safe = torch.where(eye, torch.ones_like(sr), sr)
        Hn = torch.where(eye, torch.zeros((), dtype=DTYPE, device=dev),
                         1j * torch.polar(torch.ones_like(dr), -dr / 2) / safe)  # (n, d, d)
        t = torch.arange(2, T, dtype=torch.float64, device=dev)  # positions t = 2..T-1
        inv_c = (1.0 / (t - 1)).to(DTYPE)
        phi = torch.polar(torch.ones(n, d, T - 2, dtype=torch.float64, device=dev),
                          (t - 1)[None, None, :] * thr[:, :, None])  # (n, d, T-2): lambda^{t-1}
        L = phi * lam[:, :, None]  # lambda^t
        w = data.weights[r]
        self.dtype = dtype
        self.x1, self.lam, self.Hn, self.phi, self.L = (v.to(dtype) for v in (x1c, lam, Hn, phi, L))
        self.t_c = t.to(dtype)  # (T-2,), complex so that in-place products stay complex
        self.inv_c = inv_c.to(dtype)
        self.Lc = L.conj().resolve_conj().to(dtype)
        self.phiH = phi.mH.resolve_conj().contiguous().to(dtype)  # (n, T-2, d)
        self.neg_target = (-(L * x1c[:, :, None])).to(dtype)  # -x_{t+1} = -lambda^t x_1
        self.w = w.to(self.t_c.real.dtype)
        self.w_c = w.to(dtype)
        self.w_inv = (w[:, None, None] * inv_c).to(dtype)  # (n, 1, T-2)
        self.x_degenerate = data.sequences(self.degenerate).to(dtype) if len(self.degenerate) else None
        self.w_degenerate = data.weights[self.degenerate].to(self.w.dtype)
        self.chunk = max(1, CHUNK_ELEMENTS // (d * (T - 2)))
        self.n = n
        self.d = d

    def small(self, P, Q, sl):
        """P~ = P M, Q~ = M^H Q M (n, d, d) and K = P Delta Q M = Ka Kb, rank 2, for the sequences in ``sl``.

        Delta = f f^H - e_1 e_1^H, so K = (P f)(f^H Q M) - (P e_1)(e_1^H Q M): Ka = [P f, P e_1]
        (n, d, 2) and Kb = [f^H Q M; -e_1^H Q M] (n, 2, d); K phi_t then costs O(d), not O(d^2).
        """
        d = self.d
        x1, lam = self.x1[sl], self.lam[sl]
        lb = lam.conj()
        P1, P2 = P[:, :d], P[:, d:]
        Q11, Q12, Q21, Q22 = Q[:d, :d], Q[:d, d:], Q[d:, :d], Q[d:, d:]
        xx = x1[:, :, None] * x1[:, None, :]  # (n, d, d): x_l x_p
        Pt = (P1[None] + P2[None] * lb[:, None, :]) * x1[:, None, :]
        Qt = xx * (Q11[None] + lb[:, None, :] * Q12[None] + lam[:, :, None] * Q21[None]
                   + (lam[:, :, None] * lb[:, None, :]) * Q22[None])
        f = torch.cat([x1, x1 * lb], dim=-1)  # (n, 2d) = M phi_1
        e1 = torch.cat([x1, torch.zeros_like(x1)], dim=-1)  # (n, 2d) = e_1

        def row_QM(v):  # v^H Q M, (n, d)
            vq = v.conj() @ Q  # (n, 2d)
            return vq[:, :d] * x1 + vq[:, d:] * x1 * lb

        Ka = torch.stack([f @ P.T, e1 @ P.T], dim=-1)  # (n, d, 2)
        Kb = torch.stack([row_QM(f), -row_QM(e1)], dim=1)  # (n, 2, d)
        return Pt, Qt, Ka, Kb

    def small_adjoint(self, gPt, gQt, gKa, gKb):
        """Gradients wrt P, Q (torch's convention) from those wrt the outputs of :meth:`small` (all sequences).

        Each output is linear in (P, Q) with per-sequence coefficients c, so the gradient is the sum
        over sequences of conj(c) times the output's gradient; the tests compare it with autograd.
        """
        d = self.d
        x1, lam = self.x1, self.lam
        lb = lam.conj()
        xl = x1 * lam  # (n, d)
        gP1 = torch.einsum("nak,nk->ak", gPt, x1)
        gP2 = torch.einsum("nak,nk->ak", gPt, xl)
        xx = x1[:, :, None] * x1[:, None, :] * gQt  # (n, d, d)
        gQ11 = xx.sum(0)
        gQ12 = torch.einsum("njk,nk->jk", xx, lam)
        gQ21 = torch.einsum("njk,nj->jk", xx, lb)
        gQ22 = torch.einsum("njk,nj,nk->jk", xx, lb, lam)
        f = torch.cat([x1, x1 * lb], dim=-1)  # (n, 2d)
        e1 = torch.cat([x1, torch.zeros_like(x1)], dim=-1)
        gP = torch.cat([gP1, gP2], dim=1) + gKa[:, :, 0].T @ f.conj() + gKa[:, :, 1].T @ e1.conj()
        H0, H1 = gKb[:, 0] * x1, gKb[:, 1] * x1  # (n, d)
        gQ = torch.cat([torch.cat([gQ11, gQ12], dim=1), torch.cat([gQ21, gQ22], dim=1)], dim=0)
        gQ[:, :d] += f.T @ H0 - e1.T @ H1
        gQ[:, d:] += f.T @ (H0 * lam) - e1.T @ (H1 * lam)
        return gP, gQ


def _chunk_forward(prep: ARConstants, Pt, Qt, Ka, Kb, sl):
    """Unnormalised predictions (t - 1) y_hat_t = P~ g_t - Ka Kb phi_t, (n, d, T-2), g_t = G_t u_t, Kb phi_t.

    Two half-size products Hn u and Hn (Lc u) instead of one on a concatenation, and P~ g - K phi
    as two products instead of one on [g; phi]: no (n, 2d, T-2) copies, the same arithmetic.
    """
    phi, Hn, L, Lc = prep.phi[sl], prep.Hn[sl], prep.L[sl], prep.Lc[sl]
    u = Qt @ phi  # (n, d, T-2): u_t = Q~ phi_t
    Z2 = Hn @ (Lc * u)
    g = (Hn @ u).addcmul_(u, prep.t_c).addcmul_(L, Z2, value=-1)  # G_t u_t = t u + Hn u - L Hn (Lc u)
    kphi = Kb @ phi  # (n, 2, T-2)
    y = (Pt @ g).baddbmm_(Ka, kphi, alpha=-1)  # (n, d, T-2)
    return y, g, kphi


def prepare(data: ARData, dtype=DTYPE) -> ARConstants:
    """The fast path's constants of ``data`` in ``dtype`` (complex128 or complex64).

    Examples
    --------
    >>> import numpy as np
    >>> data = ARData.from_numpy(np.ones((3, 2)), np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]), T=5)
    >>> fast = prepare(data, torch.complex64)
    >>> fast.dtype, fast.n, fast.d
    (torch.complex64, 3, 2)
    """
    if dtype not in (DTYPE, torch.complex64):
        raise ValueError(f"dtype must be torch.complex128 or torch.complex64, got {dtype!r}")
    return ARConstants(data, dtype)


def working_dtype(P: torch.Tensor) -> torch.dtype:
    """complex64 for single-precision parameters (the authors' torch.cfloat), complex128 otherwise."""
    return torch.complex64 if P.dtype in (torch.complex64, torch.float32) else DTYPE


def _constants(data, dtype) -> ARConstants:
    """``data`` itself if it is an ARConstants in ``dtype``; an ARData is prepared now."""
    if isinstance(data, ARConstants):
        if data.dtype != dtype:
            raise ValueError(f"data holds {data.dtype} constants, the parameters need {dtype}: prepare it in {dtype}")
        return data
    return ARConstants(data, dtype)


def ar_predictions(P: torch.Tensor, Q: torch.Tensor, data: ARData | ARConstants) -> torch.Tensor:
    """Fast-path predictions for every position, (m, T-2, d), in the order of ``data``."""
    dtype = working_dtype(P)
    prep = _constants(data, dtype)
    data = prep.data
    P, Q = P.to(dtype), Q.to(dtype)
    out = torch.empty(data.m, data.T - 2, data.d, dtype=dtype, device=P.device)
    with torch.no_grad():
        for start in range(0, prep.n, prep.chunk):
            sl = slice(start, min(prep.n, start + prep.chunk))
            y = _chunk_forward(prep, *prep.small(P, Q, sl), sl)[0] * prep.inv_c
            out[prep.regular[sl]] = y.transpose(1, 2)
        if prep.x_degenerate is not None:
            out[prep.degenerate] = prefix_predictions(P, Q, prep.x_degenerate)
    return out


def _chunks_loss_grad(prep: ARConstants, starts, Pt_all, Qt_all, Ka_all, Kb_all, grads):
    """Per-chunk sum_n w_n |r_n|^2 (complex; the real part is the loss) of the chunks at ``starts``; fills the grads."""
    gPt_all, gQt_all, gKa_all, gKb_all = grads
    losses = []
    with torch.no_grad():
        for start in starts:
            sl = slice(start, min(prep.n, start + prep.chunk))
            Pt, Qt = Pt_all[sl], Qt_all[sl]
            Ka = Ka_all[sl]
            y, g, kphi = _chunk_forward(prep, Pt, Qt, Ka, Kb_all[sl], sl)
            n = y.shape[0]
            r = torch.addcmul(prep.neg_target[sl], y, prep.inv_c)  # (n, d, T-2): y_hat_t - x_{t+1}
            r2 = r.view(n, -1)
            losses.append(torch.dot(prep.w_c[sl], torch.linalg.vecdot(r2, r2)))  # sum_n w_n |r_n|^2
            if gPt_all is None:
                continue
            rp = r * prep.w_inv[sl]  # w_n r_t/(t - 1): gradient wrt the unnormalised prediction
            torch.matmul(rp, g.mH, out=gPt_all[sl])  # (n, d, d): gradient wrt P~
            torch.matmul(rp, kphi.mH, out=gKa_all[sl])  # minus the gradient wrt Ka: (n, d, 2)
            torch.matmul(Ka.mH @ rp, prep.phiH[sl], out=gKb_all[sl])  # minus the gradient wrt Kb: (n, 2, d)
            gg = Pt.mH @ rp  # (n, d, T-2): gradient wrt g_t
            Zb2 = prep.Hn[sl] @ (prep.Lc[sl] * gg)  # Hn is Hermitian
            gu = (prep.Hn[sl] @ gg).addcmul_(gg, prep.t_c).addcmul_(prep.L[sl], Zb2, value=-1)  # G_t gg
            torch.matmul(gu, prep.phiH[sl], out=gQt_all[sl])  # (n, d, d)
    return losses


_POOLS: dict = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A persistent pool of ``workers`` threads, each running torch single-threaded (OpenMP setting included)."""
    with _POOLS_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="mesa",
                                                 initializer=torch.set_num_threads, initargs=(1,))
        return _POOLS[workers]


def ar_loss_and_grad(P: torch.Tensor, Q: torch.Tensor, data: ARData | ARConstants, *, need_grad: bool = True,
                     workers: int = 1):
    """Weighted loss sum_n w_n sum_t 1/2 |y_hat_t - x_{t+1}|^2 and its gradients (fast exact path).

    Gradients follow torch's convention for complex parameters, G = dL/dRe + i dL/dIm (what
    ``loss.backward()`` and the authors' SGD use).  The O(m T d^2) part has a hand-written
    backward pass, run chunk by chunk (9 batched d x d by d x (T-2) products per chunk, K of rank 2,
    the elementwise work fused in place), and so has the map (P, Q) -> (P~, Q~, K), O(m d^2)
    (:meth:`ARConstants.small_adjoint`).  ``workers`` > 1 splits the chunks into that many contiguous
    groups run on as many threads (torch single-threaded in each; the gradient slices are disjoint
    and the per-chunk losses are added in chunk order: the same bits for any ``workers``).

    Returns
    -------
    loss : float
    G_P : (d, 2d) complex tensor or None
    G_Q : (2d, 2d) complex tensor or None
    """
    dtype = working_dtype(P)
    prep = _constants(data, dtype)
    P0, Q0 = P.detach().to(dtype), Q.detach().to(dtype)
    Pl, Ql = P0.clone().requires_grad_(need_grad), Q0.clone().requires_grad_(need_grad)
    with torch.no_grad():
        Pt_all, Qt_all, Ka_all, Kb_all = prep.small(P0, Q0, slice(0, prep.n))  # (n, d, d) x 2, (n, d, 2), (n, 2, d)
        if need_grad:
            gPt_all, gQt_all = torch.empty_like(Pt_all), torch.empty_like(Qt_all)
            gKa_all, gKb_all = torch.empty_like(Ka_all), torch.empty_like(Kb_all)
        else:
            gPt_all = gQt_all = gKa_all = gKb_all = None
        grads = (gPt_all, gQt_all, gKa_all, gKb_all)
        starts = list(range(0, prep.n, prep.chunk))
        workers = max(1, min(int(workers), len(starts)))
        if workers == 1:
            losses = _chunks_loss_grad(prep, starts, Pt_all, Qt_all, Ka_all, Kb_all, grads)
        else:
            groups = [starts[len(starts) * i // workers: len(starts) * (i + 1) // workers] for i in range(workers)]
            parts = _pool(workers).map(
                lambda grp: _chunks_loss_grad(prep, grp, Pt_all, Qt_all, Ka_all, Kb_all, grads), groups)
            losses = [v for part in parts for v in part]
        loss = 0.5 * torch.stack(losses).sum().real if losses else torch.zeros((), dtype=prep.w.dtype)
        gP, gQ = prep.small_adjoint(gPt_all, gQt_all, -gKa_all, -gKb_all) if need_grad else (None, None)
    if prep.x_degenerate is not None:
        y = prefix_predictions(Pl, Ql, prep.x_degenerate)
        r = y - prep.x_degenerate[:, 2:]
        part = 0.5 * (prep.w_degenerate[:, None, None] * (r.real.square() + r.imag.square())).sum()
        if need_grad:
            part.backward()
        loss = loss + part.detach()
    if not need_grad:
        return float(loss), None, None
    if Pl.grad is not None:  # the degenerate sequences' part
        gP, gQ = gP + Pl.grad, gQ + Ql.grad
    return float(loss), gP, gQ
