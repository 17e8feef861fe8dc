"""The linear causal attention of Zheng et al. (2024) in torch: reference loop and fast exact path.

Model (the authors' code, ML-GSAI/MesaOpt-AR-Transformer, ``models/lsa.py``): tokens
e_t = (x_t, x_{t-1}) in C^{2d} with x_0 = 0, complex parameters P = W^PV (d x 2d) and
Q = W^KQ (2d x 2d), prediction

    y_hat_t = P E_t E_t^H Q e_t / (t - 1) = P C_t Q e_t / (t - 1),   C_t = sum_{i<=t} e_i e_i^H,

for t = 2..T-1, and the loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2 averaged over sequences.
Red blocks (Assumption 3.1): B = W^PV_12 = P[:, :d] and A = W^KQ_32 = Q[d:, :d].

Three implementations of the same map, compared by the tests:

* :func:`loop_predictions`, the reference: a Python loop over t, E_t E_t^H formed per t, as
  the authors' ``forward_train`` does;
* :func:`prefix_predictions`: prefix sums C_t = C_{t-1} + e_t e_t^H for any sequences;
* :func:`ar_loss_and_grad` / :func:`ar_predictions`, the fast path for AR data
  x_t = W^{t-1} x_1, W = diag(lambda), |lambda_j| = 1, x_1 real.  With phi_t = lambda^{t-1},
  M = [diag(x_1); diag(x_1 conj(lambda))] (2d x d) and f = M phi_1, e_t = M phi_t for t >= 2 and
  C_t = M G_t M^H - Delta with G_t = sum_{s<t} (lambda lambda^H)^{o s} (entrywise powers) and
  Delta = f f^H - e_1 e_1^H.  Since G_t[j,k] = t (j = k) and h_jk (1 - (lambda_j conj lambda_k)^t)
  with h_jk = 1/(1 - lambda_j conj lambda_k) (j != k),

      (t - 1) y_hat_t = P~ (t u_t + Hn u_t - L_t Hn conj(L_t) u_t) - K phi_t,
      u_t = Q~ phi_t,  P~ = P M,  Q~ = M^H Q M,  K = P Delta Q M,  L_t = diag(lambda^t),

  with per-sequence d x d matrices: O(m T d^2) per evaluation, no (m, T, 2d, 2d) tensor, and a
  hand-written backward pass (exact).  Sequences with two phases closer than ``_DEGENERATE``
  (where h_jk loses digits) go through :func:`prefix_predictions` instead.

The fast path runs in the parameters' precision: complex128 (float64 parameters, the default) or
complex64 (single-precision parameters, the authors' ``torch.cfloat``; about twice as fast), with
the per-dataset constants computed in float64 and rounded once.
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "ARData",
    "embed",
    "loop_predictions",
    "prefix_predictions",
    "ar_predictions",
    "ar_loss_and_grad",
    "red_blocks",
    "paper_layout",
]

DTYPE = torch.complex128
_DEGENERATE = 1e-5  # |lambda_j - lambda_k| below this: use the prefix-sum path for the sequence
_CHUNK_ELEMENTS = 1 << 16  # complex entries per (n, d, T-2) chunk: keeps every chunk in cache


def embed(x: torch.Tensor) -> torch.Tensor:
    """Tokens e_t = (x_t, x_{t-1}) with x_0 = 0 (the code's 2d embedding): (m, T, d) -> (m, T, 2d)."""
    prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
    return torch.cat([x, prev], dim=-1)


def loop_predictions(P: torch.Tensor, Q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reference: y_hat_t = P E_t E_t^H Q e_t/(t-1) for t = 2..T-1, one position at a time.

    Parameters
    ----------
    P : (d, 2d) complex tensor, Q : (2d, 2d) complex tensor
    x : (m, T, d) complex tensor, x[:, t-1] = x_t

    Returns
    -------
    (m, T-2, d) complex tensor; row t-2 predicts x_{t+1} = x[:, t].
    """
    e = embed(x)  # (m, T, 2d)
    out = []
    for t in range(2, x.shape[1]):
        E = e[:, :t]  # (m, t, 2d): columns e_1..e_t
        C = E.transpose(1, 2) @ E.conj()  # (m, 2d, 2d) = E_t E_t^H
        out.append((P @ C @ Q @ e[:, t - 1, :, None])[..., 0] / (t - 1))
    return torch.stack(out, dim=1)


def prefix_predictions(P: torch.Tensor, Q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """All positions at once with prefix sums C_t = C_{t-1} + e_t e_t^H (any sequences).

    Same output as :func:`loop_predictions`; memory (m, T, 2d, 2d), so use it on small batches.
    """
    T = x.shape[1]
    e = embed(x)[:, : T - 1]  # (m, T-1, 2d): e_1..e_{T-1}
    C = torch.cumsum(e[..., :, None] * e.conj()[..., None, :], dim=1)[:, 1:]  # (m, T-2, 2d, 2d)
    v = e[:, 1:] @ Q.transpose(0, 1)  # (m, T-2, 2d): Q e_t
    w = (C @ v[..., None])[..., 0]  # C_t Q e_t
    inv = 1.0 / torch.arange(1, T - 1, dtype=x.real.dtype, device=x.device)
    return (w @ P.transpose(0, 1)) * inv[None, :, None]


@dataclass(frozen=True)
class ARData:
    """A training set of AR sequences x_t = diag(lambda)^{t-1} x_1 in the form the fast path uses.

    Attributes
    ----------
    x1 : (m, d) float64 tensor, the real start points
    theta : (m, d) float64 tensor, lambda = exp(i theta)
    weights : (m,) float64 tensor, summing to 1 (1/m for a sample; quadrature weights for the
        exact phase grid)
    T : int, sequence length
    """

    x1: torch.Tensor
    theta: torch.Tensor
    weights: torch.Tensor
    T: int

    @classmethod
    def from_numpy(cls, x1, theta, T: int, weights=None, device="cpu") -> "ARData":
        x1 = torch.as_tensor(np.array(x1, np.float64), device=device)  # copies: writable
        theta = torch.as_tensor(np.array(theta, np.float64), device=device)
        m = x1.shape[0]
        w = torch.full((m,), 1.0 / m, dtype=torch.float64, device=device) if weights is None else \
            torch.as_tensor(np.array(weights, np.float64), device=device)
        return cls(x1, theta, w, int(T))

    @property
    def m(self) -> int:
        return int(self.x1.shape[0])

    @property
    def d(self) -> int:
        return int(self.x1.shape[1])

    def sequences(self, index=slice(None)) -> torch.Tensor:
        """The sequences themselves, (n, T, d) complex: x[:, t-1] = exp(i (t-1) theta) x_1."""
        th, x1 = self.theta[index], self.x1[index]
        powers = torch.arange(self.T, dtype=torch.float64, device=th.device)[None, :, None]
        return torch.polar(torch.ones_like(powers * th[:, None, :]), powers * th[:, None, :]) * x1[:, None, :]


class _Prepared:
    """Per-dataset constants of the fast path (computed once; data only, no parameters)."""

    def __init__(self, data: ARData, dtype=DTYPE):
        """Constants computed in float64 and rounded once to ``dtype`` (complex128 or complex64)."""
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
        self.chunk = max(1, _CHUNK_ELEMENTS // (d * (T - 2)))
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


def _chunk_forward(prep: _Prepared, Pt, Qt, Ka, Kb, sl):
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


def _prepared(data: ARData, dtype=DTYPE) -> _Prepared:
    """The fast path's constants of ``data`` in ``dtype`` (complex128 or complex64), built once per pair."""
    cache = getattr(data, "_prepared_cache", None)
    if cache is None:
        cache = {}
        object.__setattr__(data, "_prepared_cache", cache)
    if dtype not in cache:
        cache[dtype] = _Prepared(data, dtype)
    return cache[dtype]


def _working_dtype(P: torch.Tensor) -> torch.dtype:
    """complex64 for single-precision parameters (the authors' torch.cfloat), complex128 otherwise."""
    return torch.complex64 if P.dtype in (torch.complex64, torch.float32) else DTYPE


def ar_predictions(P: torch.Tensor, Q: torch.Tensor, data: ARData) -> torch.Tensor:
    """Fast-path predictions for every position, (m, T-2, d), in the order of ``data``."""
    dtype = _working_dtype(P)
    prep = _prepared(data, dtype)
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


def _chunks_loss_grad(prep: _Prepared, starts, Pt_all, Qt_all, Ka_all, Kb_all, grads):
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


def ar_loss_and_grad(P: torch.Tensor, Q: torch.Tensor, data: ARData, *, need_grad: bool = True,
                     workers: int = 1):
    """Weighted loss sum_n w_n sum_t 1/2 |y_hat_t - x_{t+1}|^2 and its gradients (fast exact path).

    Gradients follow torch's convention for complex parameters, G = dL/dRe + i dL/dIm (what
    ``loss.backward()`` and the authors' SGD use).  The O(m T d^2) part has a hand-written
    backward pass, run chunk by chunk (9 batched d x d by d x (T-2) products per chunk, K of rank 2,
    the elementwise work fused in place), and so has the map (P, Q) -> (P~, Q~, K), O(m d^2)
    (:meth:`_Prepared.small_adjoint`).  ``workers`` > 1 splits the chunks into that many contiguous
    groups run on as many threads (torch single-threaded in each; the gradient slices are disjoint
    and the per-chunk losses are added in chunk order: the same bits for any ``workers``).

    Returns
    -------
    loss : float
    G_P : (d, 2d) complex tensor or None
    G_Q : (2d, 2d) complex tensor or None
    """
    dtype = _working_dtype(P)
    prep = _prepared(data, dtype)
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


def red_blocks(P: torch.Tensor, Q: torch.Tensor):
    """(A, B) = (W^KQ_32, W^PV_12) = (Q[d:, :d], P[:, :d]), the red blocks of Assumption 3.1."""
    d = P.shape[0]
    return Q[d:, :d], P[:, :d]


def paper_layout(P, Q):
    """The paper's 3d x 3d W^KQ and W^PV (tokens (0, x_t, x_{t-1})) from the code's P, Q.

    W^KQ[d:, d:] = Q (key/query blocks 2, 3) and W^PV[:d, d:] = P (output slot = block 1);
    every other block is zero (it never reaches the prediction).  So W^KQ_32 = Q[d:, :d] = A
    and W^PV_12 = P[:, :d] = B.

    Returns
    -------
    W_KQ, W_PV : (3d, 3d) numpy complex arrays
    """
    P = np.asarray(P.detach().cpu() if isinstance(P, torch.Tensor) else P, np.complex128)
    Q = np.asarray(Q.detach().cpu() if isinstance(Q, torch.Tensor) else Q, np.complex128)
    d = P.shape[0]
    W_KQ = np.zeros((3 * d, 3 * d), np.complex128)
    W_PV = np.zeros((3 * d, 3 * d), np.complex128)
    W_KQ[d:, d:] = Q
    W_PV[:d, d:] = P
    return W_KQ, W_PV
