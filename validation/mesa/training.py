"""Training the linear causal attention of Zheng et al. (2024) by full-batch GD, as the authors' code does.

``train_mesa`` draws m AR sequences x_{t+1} = W x_t (W = diag(e^{i theta}), real x_1 from ``law``),
starts from the diagonal initialisation of Assumption 3.1 (W^KQ_32 = a0 I, W^PV_12 = b0 I, other
blocks 0) or from i.i.d. Gaussian entries (the robustness run of Figure 5), and runs plain GD
(``torch.optim.SGD`` without momentum in the code; here written out) on

    L(P, Q) = mean_n sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2,   y_hat_t = P C_t Q e_t / (t - 1),

with the exact fast path of :mod:`validation.mesa.fast_path` (O(m T d^2) per epoch).  After every
epoch it logs the read-outs of :mod:`validation.mesa.readouts`: the red-block product ab, a, b, the
balance (|Q|^2 - |P|^2)/d (a^2 - b^2 on the scalar manifold), the norm of the non-red blocks and of
the red blocks' off-diagonals, and the last position on a fresh test set (no autograd).

Theory to compare with (:mod:`theory.mesa`): ab -> c* = S k1/(S k2 + (d-1) H_{T-2} k3)
(Theorem 4.1), ab(epoch) ~ balanced_flow(lr * epoch), ratio -> c* m2, test MSE -> position_error.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from numerics.laws import law_scale
from theory.args import choice, integer, positive, real, seed as check_seed
from theory.laws import as_law
from validation.args import device as check_device, dtype as check_dtype
from validation.checkpoint import checkpoint
from validation.mesa.data import check_phase_grid, dataset, streams
from validation.mesa.fast_path import ar_loss_and_grad
from validation.mesa.model import DTYPE, paper_layout, red_block_masks
from validation.mesa.readouts import last_position_readout, weight_readout

__all__ = ["MesaResult", "TABLE1", "GDDiverged", "train_mesa", "table1_step"]

#: Table 1 of the paper ("Step size in different simulations"): (law name, scale) -> (lr, epochs plotted)
TABLE1 = {
    ("gaussian", 0.5): (1e-3, 200),
    ("gaussian", 1.0): (1e-4, 150),
    ("gaussian", 2.0): (2e-6, 201),
    ("sparse_axis", 0.5): (3e-2, 200),
    ("sparse_axis", 1.0): (1e-3, 201),
    ("sparse_axis", 2.0): (1e-4, 121),
    ("full_one", 1.0): (5e-4, 200),
}
_DIVERGED = 1e4  # loss above this multiple of the starting loss: the run diverges
_PRECISIONS = {torch.float64: DTYPE, torch.float32: torch.complex64}
_LOGGED = ("ab", "a", "b", "balance", "balance_drift", "loss", "test_mse", "ratio", "offred_norm", "offdiag_norm")


class GDDiverged(ValueError):
    """Full-batch GD diverged at this step size (the loss became non-finite or grew beyond 1e4 times
    its start): a ``ValueError`` naming ``lr``."""


def table1_step(law) -> tuple[float, int]:
    """(lr, epochs) of Table 1 for ``law``; ``ValueError`` naming ``law`` if the table lacks it.

    Examples
    --------
    >>> table1_step("gaussian(1)")
    (0.0001, 150)
    """
    law = as_law(law)
    key = (law.spelling.split("(")[0], law_scale(law))
    if key not in TABLE1:
        known = ", ".join(f"{n}({s:g})" for n, s in TABLE1)
        raise ValueError(f"law must be one of Table 1's settings ({known}) when lr is not given, got {law}")
    return TABLE1[key]


@dataclass(frozen=True)
class MesaResult:
    """One full-batch GD run of the authors' model; arrays are indexed by epoch 0..epochs (start included).

    Attributes
    ----------
    ab, a, b : mean over j of Re A_jj Re B_jj, of Re A_jj, of Re B_jj; A = W^KQ_32, B = W^PV_12
    balance : (|Q|_F^2 - |P|_F^2)/d, = a^2 - b^2 on the scalar manifold; gradient flow conserves it
    balance_drift : what GD changes it by, -(lr^2/d) sum_{i<k} (|G_P,i|^2 - |G_Q,i|^2) (exact identity)
    loss : training loss (mean over sequences of sum_t 1/2 |y_hat_t - x_{t+1}|^2)
    test_mse : mean over test sequences of |y_hat_{T-1} - x_T|^2 (last position, summed over coordinates;
        theory: ``theory.mesa.position_error(T-1, ab, d, law)``)
    ratio : mean of Re(y_hat_{T-1,j} / x_{T,j}) over test sequences and coordinates with x_{T,j} != 0
        (the code's "Ratio of pred/true at T_te" without its 1e-5 offset; theory c* m2)
    offred_norm : Frobenius norm of every non-red block (P[:, d:], Q[:d, :], Q[d:, d:])
    offdiag_norm : Frobenius norm of the off-diagonal entries of the red blocks
    W_KQ, W_PV : final (3d, 3d) complex weights in the paper's layout as reconstructed (tokens (0, x_t, x_{t-1}), [uncertain]);
        W_KQ[2d:, d:2d] = A, W_PV[:d, d:2d] = B.  P, Q: the same in the code's layout.
    test_mse_se, ratio_se : standard errors of the final test_mse and ratio over the test sample
    c_empirical : minimiser of the training loss on the scalar manifold A = aI, B = bI
        (beta/gamma for L(c) = L0 - beta c + gamma c^2/2), the finite-sample analogue of c*
    c_empirical_se : delta-method standard error of c_empirical around the population c*
        (0 for the exact phase grid)
    scalar_coefficients : (beta/d, gamma/d), the empirical (S k1, Acal) of the manifold flow
    """

    d: int
    T: int
    m: int
    law: str
    lr: float
    epochs: int
    seed: int
    init: str
    mask_offdiag: bool
    ab: np.ndarray
    a: np.ndarray
    b: np.ndarray
    balance: np.ndarray
    balance_drift: np.ndarray
    loss: np.ndarray
    test_mse: np.ndarray
    ratio: np.ndarray
    offred_norm: np.ndarray
    offdiag_norm: np.ndarray
    W_KQ: np.ndarray
    W_PV: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    test_mse_se: float
    ratio_se: float
    c_empirical: float
    c_empirical_se: float
    scalar_coefficients: tuple
    wall_time_s: float
    config: dict = field(default_factory=dict)

    @property
    def final_ab(self) -> float:
        return float(self.ab[-1])

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    @property
    def final_test_mse(self) -> float:
        return float(self.test_mse[-1])

    @property
    def red_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """(A, B) = (W^KQ_32, W^PV_12), final, complex (d, d)."""
        return self.Q[self.d:, :self.d], self.P[:, :self.d]


def _init_params(d, init, a0, b0, init_std, gen, device):
    P = torch.zeros(d, 2 * d, dtype=DTYPE)
    Q = torch.zeros(2 * d, 2 * d, dtype=DTYPE)
    if init == "diagonal":
        P[:, :d] = b0 * torch.eye(d, dtype=DTYPE)
        Q[d:, :d] = a0 * torch.eye(d, dtype=DTYPE)
    else:  # every entry i.i.d. N(0, init_std^2), real (Figure 5)
        P = (init_std * torch.randn(d, 2 * d, dtype=torch.float64, generator=gen)).to(DTYPE)
        Q = (init_std * torch.randn(2 * d, 2 * d, dtype=torch.float64, generator=gen)).to(DTYPE)
    return P.to(device), Q.to(device)


@contextlib.contextmanager
def _single_threaded_torch(num_threads):
    """Chunk threads of the fast path: ``num_threads`` (torch single-threaded meanwhile, restored after);
    None: one, torch's setting kept."""
    if num_threads is None:
        yield 1
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield num_threads
    finally:
        torch.set_num_threads(before)


def train_mesa(*, d: int = 5, T: int = 100, law="gaussian(1)", m: int = 10000, lr: float | None = None,
               epochs: int | None = None, a0: float = 0.1, b0: float = 0.1, seed: int = 0,
               mask_offdiag: bool = False, init: str = "diagonal", init_std: float = 0.1,
               m_test: int = 10000, device: str = "cpu", phase_grid: int | None = None,
               num_threads: int | None = 1, dtype=torch.float64) -> MesaResult:
    """Train the one-layer linear causal attention by full-batch GD (Zheng et al. 2024, Section 5, Table 1).

    Parameters
    ----------
    d, T : int
        Dimension (>= 1) and sequence length (>= 3); the paper uses d = 5, T = 100.
    law : Law or str
        Law of the real start point x_1 (``"gaussian(1)"``, ``"sparse_axis(1)"``, ``"full_one(1)"``, ...).
    m : int
        Training sequences (>= 1; the paper: 10^4).  Ignored with ``phase_grid``.
    lr, epochs : float, int
        GD step size and number of full-batch steps; default: Table 1 for ``law``.
    a0, b0 : float
        Diagonal initialisation W^KQ_32 = a0 I, W^PV_12 = b0 I (Assumption 3.1).
    seed : int
        Fixes the training set, the test set and the Gaussian initialisation.
    mask_offdiag : bool
        Zero the off-diagonal entries of both red blocks after every step (the code's ``--clip``;
        from a diagonal start this is masking their gradients).
    init : {"diagonal", "gaussian"}
        "gaussian": every entry of P and Q i.i.d. N(0, init_std^2) (Figure 5).
    m_test : int
        Test sequences evaluated (last position) after every epoch.
    device : str
        torch device.
    dtype : torch.float64 or torch.float32
        Precision of the parameters and of the training pass: complex128 (default) or complex64,
        the authors' ``torch.cfloat`` (about 2x faster; loss and gradients agree with complex128 to
        about 1e-6 relative).  Data constants are computed in float64 and rounded once; the logged
        quantities and the test evaluation are float64 either way.
    phase_grid : int or None
        Train on the exact population instead of a sample (:func:`grid_data`, n_grid >= 3T - 5).
    num_threads : int or None
        Threads for the per-epoch work: the fast path's chunks of sequences are split over this
        many threads, each running torch single-threaded (torch's intra-op setting is 1 during
        the run and restored afterwards).  Intra-op threads themselves lose up to 5x on the
        small per-sequence products when the cores are shared (measured on 2 loaded cores), chunk
        threads gain about 2x on 2 cores.  None: one thread, torch's current setting kept.

    Returns
    -------
    MesaResult

    Raises
    ------
    ValueError
        Bad sizes, an unknown ``init``; :class:`GDDiverged` (a ValueError) for an ``lr`` that makes
        GD diverge (the loss becomes non-finite or grows beyond 1e4 times its start).

    Examples
    --------
    >>> r = train_mesa(d=2, T=6, law="sparse_axis(1)", m=64, lr=0.05, epochs=3, m_test=16)
    >>> r.ab.shape, float(r.offred_norm[0])
    ((4,), 0.0)
    """
    started = time.perf_counter()
    workers = None if num_threads is None else integer(num_threads, "num_threads", minimum=1)
    d, T = integer(d, "d", minimum=1), integer(T, "T", minimum=3)
    m, m_test, seed = integer(m, "m", minimum=1), integer(m_test, "m_test", minimum=1), check_seed(seed)
    law = as_law(law)
    if lr is None or epochs is None:
        lr0, ep0 = table1_step(law)
        lr = lr0 if lr is None else lr
        epochs = ep0 if epochs is None else epochs
    lr, epochs = positive(lr, "lr"), integer(epochs, "epochs", minimum=0)
    init = choice(init, "init", ("diagonal", "gaussian"))
    a0, b0, init_std = real(a0, "a0"), real(b0, "b0"), positive(init_std, "init_std")
    device = check_device(device)
    cdtype = _PRECISIONS[check_dtype(dtype)]
    if phase_grid is not None:
        phase_grid = check_phase_grid(phase_grid, T, law)

    with _single_threaded_torch(workers) as chunk_threads:  # the data are built single-threaded too
        ds = dataset(d, T, law, m, m_test, seed, phase_grid, device, dtype=cdtype)
        gen = torch.Generator().manual_seed(streams(seed)[2])
        P, Q = (v.to(cdtype) for v in _init_params(d, init, a0, b0, init_std, gen, device))
        _, _, mP, mQ = red_block_masks(d, device)
        if mask_offdiag:
            P[mP], Q[mQ] = 0, 0

        logs = {k: np.zeros(epochs + 1) for k in _LOGGED}
        se = {}

        def record(k, loss_value):
            for key, value in weight_readout(P, Q).items():
                logs[key][k] = value
            logs["loss"][k] = loss_value
            test = last_position_readout(P, Q, ds.C_last, ds.e_last, ds.x_last, ds.nonzero, T)
            logs["test_mse"][k], logs["ratio"][k] = test["test_mse"], test["ratio"]
            se["test_mse"], se["ratio"] = test["test_mse_se"], test["ratio_se"]

        drift, start = 0.0, 0
        ckpt = checkpoint()  # a killed run resumes from its last checkpoint (validation.checkpoint)
        state = ckpt.resume(P=P, Q=Q)
        if state is not None:
            logs, se, drift, start = state["logs"], state["se"], state["drift"], state["step"]
        for k in range(start, epochs):
            if k > start and ckpt.due():
                ckpt.save_training(k, P=P, Q=Q, logs=logs, se=se, drift=drift)
            loss_k, gP, gQ = ar_loss_and_grad(P, Q, ds.fast, workers=chunk_threads)
            if not math.isfinite(loss_k) or loss_k > _DIVERGED * max(logs["loss"][0] if k else loss_k, 1e-300) \
                    or not bool(torch.isfinite(gP).all() and torch.isfinite(gQ).all()):
                raise GDDiverged(f"lr = {lr:g} makes full-batch GD diverge (training loss {loss_k:.3g} at epoch {k}, "
                                 f"{logs['loss'][0]:.3g} at the start); lr must be smaller")
            record(k, loss_k)
            logs["balance_drift"][k] = drift
            if mask_offdiag:
                gP, gQ = gP.masked_fill(mP, 0), gQ.masked_fill(mQ, 0)
            drift -= lr**2 / d * float(gP.abs().square().sum() - gQ.abs().square().sum())
            with torch.no_grad():
                P -= lr * gP
                Q -= lr * gQ
                if mask_offdiag:
                    P[mP], Q[mQ] = 0, 0
        final_loss = ar_loss_and_grad(P, Q, ds.fast, need_grad=False, workers=chunk_threads)[0]
        if not math.isfinite(final_loss) or (epochs and final_loss > _DIVERGED * max(logs["loss"][0], 1e-300)):
            raise GDDiverged(f"lr = {lr:g} makes full-batch GD diverge (training loss {final_loss:.3g} after "
                             f"{epochs} epochs); lr must be smaller")
        record(epochs, final_loss)
        logs["balance_drift"][epochs] = drift
    c_emp, c_se, beta, gamma = ds.fit
    W_KQ, W_PV = paper_layout(P, Q)
    return MesaResult(
        d=d, T=T, m=ds.train.m, law=law.spelling, lr=lr, epochs=epochs, seed=seed, init=init,
        mask_offdiag=bool(mask_offdiag), W_KQ=W_KQ, W_PV=W_PV,
        P=P.detach().cpu().numpy(), Q=Q.detach().cpu().numpy(), c_empirical=c_emp, c_empirical_se=c_se,
        test_mse_se=se["test_mse"], ratio_se=se["ratio"],
        scalar_coefficients=(beta, gamma), wall_time_s=time.perf_counter() - started,
        config=dict(a0=a0, b0=b0, init_std=init_std, m_test=m_test, phase_grid=phase_grid,
                    device=str(device), dtype=str(cdtype)),
        **logs,
    )
