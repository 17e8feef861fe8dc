"""The noisy-label test of von Oswald et al. 2023 in float64: closed form and Monte Carlo.

``noisy_label_losses`` is :func:`theory.lsa.noisy_label_loss` as floats (one value per k), computed here
from the law's moments in float arithmetic; ``noisy_label_mc`` draws tasks with k corrupted labels (the
code's ``size_distract``: ``numerics.lsa.sample_tasks``) and returns the one-step GD loss with its
standard error, the independent route the checks compare with the closed form.
"""
from __future__ import annotations

import numpy as np

from numerics.lsa.predictors import gd_predict, mc_loss
from numerics.lsa.tasks import sample_tasks
from theory.args import integer, nonnegative, positive, real
from theory.laws import as_law

__all__ = ["noisy_label_losses", "noisy_label_mc"]


def _moments(law, d: int) -> tuple[float, float, float, float, float]:
    """Float (m2, m11, m4, m22, m31, m211)-derived traces: (tr M, tr M^2, tr M^3, Q) of theory.lsa.losses."""
    def mom(p):
        return float(law.moment(p, d)) if len(p) <= d else 0.0
    m2, m4, m11, m22, m31, m211 = (mom(p) for p in ((2,), (4,), (1, 1), (2, 2), (3, 1), (2, 1, 1)))
    top, rest = m2 + (d - 1) * m11, m2 - m11
    tr = [top ** j + (d - 1) * rest ** j for j in (1, 2, 3)]
    Q = m2 * (d * m4 + d * (d - 1) * m22) + m11 * d * (d - 1) * (2 * m31 + (d - 2) * m211)
    return tr[0], tr[1], tr[2], Q


def noisy_label_losses(eta, d: int, N: int, ks, law, *, label_var=1.0, noise_var=0.0, task_var=1.0) -> np.ndarray:
    """One-step GD 1/2-loss with k of N context labels replaced by N(0, label_var) noise, for each k in ``ks``.

    Float version of :func:`theory.lsa.noisy_label_loss` [derived]: with M = N - k clean points and
    c = eta M / N, Loss = 1/2 task_var [c^2 E tr(S_M^2 E xx^T) - 2 c tr M^2 + tr M]
    + 1/2 noise_var [c^2 tr M^2 / M + 1] + 1/2 (eta/N)^2 k label_var tr M^2,
    E tr(S_M^2 E xx^T) = Q/M + (1 - 1/M) tr M^3 (the c-terms absent when M = 0).

    Examples
    --------
    >>> round(float(noisy_label_losses(200 / 33, 10, 10, [0], "uniform(1/2)")[0]), 8)  # 245/1188
    0.20622896
    """
    eta = real(eta, "eta")
    d, N = integer(d, "d", minimum=1), integer(N, "N", minimum=1)
    ks = [integer(k, "k", minimum=0, maximum=N) for k in np.atleast_1d(ks).tolist()]
    label_var, noise_var = nonnegative(label_var, "label_var"), nonnegative(noise_var, "noise_var")
    task_var = positive(task_var, "task_var")
    trM, trM2, trM3, Q = _moments(as_law(law), d)
    out = []
    for k in ks:
        M = N - k
        c = eta * M / N
        twice = task_var * trM + noise_var
        if M > 0:
            twice += task_var * (c * c * (Q / M + (1 - 1 / M) * trM3) - 2 * c * trM2) + noise_var * c * c * trM2 / M
        twice += (eta / N) ** 2 * k * label_var * trM2
        out.append(0.5 * twice)
    return np.array(out)


def noisy_label_mc(eta, d: int, N: int, ks, law, *, n_tasks: int = 10_000, rng=None, seed=None,
                   noise_var=0.0, task_var=1.0) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo 1/2-loss of one GD step (step ``eta``) and its SE, k labels replaced by N(0, 1), each k.

    Tasks as the code's ``create_reg_data`` with ``size_distract = k`` (``numerics.lsa.sample_tasks``);
    each k draws its own ``n_tasks`` tasks from ``rng`` in order.  Returns (losses, standard errors).
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    losses, ses = [], []
    for k in np.atleast_1d(ks).tolist():
        X, y, x_q, y_q, _ = sample_tasks(n_tasks, d, N, law=law, size_distract=int(k), noise_var=noise_var,
                                         task_var=task_var, rng=rng)
        loss, se = mc_loss(gd_predict(X, y, x_q, eta), y_q)
        losses.append(loss)
        ses.append(se)
    return np.array(losses), np.array(ses)
