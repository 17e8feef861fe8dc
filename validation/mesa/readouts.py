"""Read-outs of the Zheng et al. (2024) model: what a run measures, apart from training it.

* :func:`scalar_manifold_fit`: the fit of the training loss on the scalar manifold A = aI, B = bI
  (the finite-sample fixed point c_emp and its standard error);
* :func:`weight_readout`: the red-block product ab, a, b, the balance and the norms of the non-red
  blocks and of the red off-diagonals, from the weights;
* :func:`last_position_readout`: test error and prediction/truth ratio at the last position.

:func:`validation.mesa.train_mesa` logs the last two after every epoch; all are float64.
"""
from __future__ import annotations

import math

import torch

from validation.mesa.fast_path import ARConstants, ar_predictions
from validation.mesa.model import DTYPE, ARData, red_block_masks

__all__ = ["scalar_manifold_fit", "weight_readout", "last_position_readout"]


def scalar_manifold_fit(data: ARData | ARConstants) -> tuple[float, float, float, float]:
    """Fit of the training loss on the scalar manifold A = aI, B = bI: (c_emp, se, beta/d, gamma/d).

    With s_t the prediction at a = b = 1, the loss is L(c) = L0 - beta c + gamma c^2 / 2,
    beta = sum_n w_n sum_t Re <s_t, x_{t+1}>, gamma = sum_n w_n sum_t |s_t|^2, so GD on the
    entries follows a <- a - lr b (gamma/d ab - beta/d) (the empirical version of
    notes Section 3.5, whose population values are (S k1, Acal)) and c_emp = beta/gamma.
    ``se`` is the delta-method standard error of c_emp for i.i.d. sequences
    (sqrt(sum_n w_n^2 psi_n^2), psi_n = (beta_n - c_emp gamma_n)/gamma); 0 for non-uniform weights
    (the exact phase grid).  ``data`` may be the training set's complex128 fast-path constants.
    """
    constants = data
    data = data.data if isinstance(data, ARConstants) else data
    d = data.d
    P = torch.zeros(d, 2 * d, dtype=DTYPE, device=data.x1.device)
    Q = torch.zeros(2 * d, 2 * d, dtype=DTYPE, device=data.x1.device)
    P[:, :d] = torch.eye(d, dtype=DTYPE)
    Q[d:, :d] = torch.eye(d, dtype=DTYPE)
    s = ar_predictions(P, Q, constants)  # (m, T-2, d)
    target = data.sequences()[:, 2:]
    beta_n = (s.conj() * target).real.sum(dim=(1, 2))
    gamma_n = (s.real.square() + s.imag.square()).sum(dim=(1, 2))
    w = data.weights
    beta, gamma = float((w * beta_n).sum()), float((w * gamma_n).sum())
    c = beta / gamma
    uniform = bool(torch.allclose(w, torch.full_like(w, 1.0 / data.m)))
    se = float(torch.sqrt((w.square() * ((beta_n - c * gamma_n) / gamma).square()).sum())) if uniform else 0.0
    return c, se, beta / d, gamma / d


def weight_readout(P: torch.Tensor, Q: torch.Tensor) -> dict:
    """ab, a, b (means over j of Re A_jj Re B_jj, Re A_jj, Re B_jj), the balance (|Q|^2 - |P|^2)/d and
    the Frobenius norms of the non-red blocks and of the red off-diagonals, as floats (float64).

    A = W^KQ_32 = Q[d:, :d], B = W^PV_12 = P[:, :d]; the balance is a^2 - b^2 on the scalar manifold.
    """
    d = P.shape[0]
    red_P, red_Q, off_P, off_Q = red_block_masks(d, P.device)
    with torch.no_grad():
        Pd, Qd = P.to(DTYPE), Q.to(DTYPE)  # float64 at either precision
        A, B = Qd[d:, :d], Pd[:, :d]
        ad, bd = torch.diagonal(A).real, torch.diagonal(B).real
        return {
            "ab": float((ad * bd).mean()), "a": float(ad.mean()), "b": float(bd.mean()),
            "balance": float((Qd.abs().square().sum() - Pd.abs().square().sum()) / d),
            "offred_norm": float(torch.sqrt(Pd[~red_P].abs().square().sum() + Qd[~red_Q].abs().square().sum())),
            "offdiag_norm": float(torch.sqrt(Pd[off_P].abs().square().sum() + Qd[off_Q].abs().square().sum())),
        }


def last_position_readout(P: torch.Tensor, Q: torch.Tensor, C_last: torch.Tensor, e_last: torch.Tensor,
                          x_last: torch.Tensor, nonzero: torch.Tensor, T: int) -> dict:
    """Test error |y_hat_{T-1} - x_T|^2 and ratio Re(y_hat_{T-1,j} / x_{T,j}) at the last position, float64.

    ``C_last, e_last, x_last`` are :func:`validation.mesa.data.last_position_statistics` of the test
    set, so y_hat_{T-1} = P C_{T-1} Q e_{T-1} / (T - 2); the ratio skips the entries where ``nonzero``
    is False.  Returns the means ``test_mse`` (summed over coordinates) and ``ratio`` over the test
    sample and their standard errors ``test_mse_se``, ``ratio_se`` (nan where undefined).
    """
    m_test = C_last.shape[0]
    with torch.no_grad():
        Pd, Qd = P.to(DTYPE), Q.to(DTYPE)  # float64 at either precision
        y = ((C_last @ (e_last @ Qd.T)[..., None])[..., 0] @ Pd.T) / (T - 2)  # (m_test, d): y_hat_{T-1}
        err = y - x_last
        per_seq = (err.real.square() + err.imag.square()).sum(dim=1)
        ratio = (y / torch.where(nonzero, x_last, torch.ones_like(x_last))).real[nonzero]
        return {
            "test_mse": float(per_seq.mean()),
            "ratio": float(ratio.mean()) if ratio.numel() else math.nan,
            "test_mse_se": float(per_seq.std() / math.sqrt(m_test)) if m_test > 1 else math.nan,
            "ratio_se": float(ratio.std() / math.sqrt(ratio.numel())) if ratio.numel() > 1 else math.nan,
        }
