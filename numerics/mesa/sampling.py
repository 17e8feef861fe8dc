"""Zheng et al. 2024 in numpy: sampling the AR sequences x_{t+1} = W x_t.

W = diag(e^{i theta_j}) with theta_j ~ U[0, 2 pi) and a real start x_1 ~ law, so x_t = e^{i (t-1) theta} x_1:
a sequence is determined by (x_1, theta), which :func:`sample_starts` draws and :func:`sample_sequences`
expands.
"""
from __future__ import annotations

import numpy as np

from numerics.laws import sample
from numerics.seeds import make_rng
from theory.args import integer
from theory.laws import as_law

__all__ = ["sample_starts", "sample_sequences"]


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return make_rng(seed=int(rng))
    return make_rng(rng=rng)


def sample_starts(m: int, d: int, law, rng) -> tuple[np.ndarray, np.ndarray]:
    """The random part of m AR sequences: real start points x_1 ~ law and phases theta ~ U[0, 2 pi)^d.

    Everything else is determined: x_t = exp(i (t-1) theta) x_1.  The same generator state gives
    the same (x_1, theta) as :func:`sample_sequences` (which calls this and then expands), so a
    consumer that needs only the start points and phases (the fast training path) skips the
    (m, T, d) array.

    Returns
    -------
    x1 : ndarray, float64, shape (m, d)
    theta : ndarray, float64, shape (m, d)

    Examples
    --------
    >>> x1, theta = sample_starts(4, 3, "gaussian(1)", 0)
    >>> x, theta2 = sample_sequences(4, 3, 5, "gaussian(1)", 0)
    >>> bool(np.array_equal(x[:, 0].real, x1) and np.array_equal(theta, theta2))
    True
    """
    m, d = integer(m, "m", minimum=1), integer(d, "d", minimum=1)
    rng = _rng(rng)
    x1 = sample(as_law(law), m, d, rng)  # (m, d)
    theta = rng.uniform(0.0, 2.0 * np.pi, size=(m, d))
    return x1, theta


def sample_sequences(m: int, d: int, T: int, law, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw m AR(1) sequences x_{t+1} = W x_t, W = diag(e^{i theta_j}) (Zheng et al. 2024, Section 3).

    x_1 is drawn first (``numerics.laws.sample``, real), then theta ~ U[0, 2 pi)^d;
    x_t = e^{i (t-1) theta} x_1 is computed directly (no accumulated rounding).

    Parameters
    ----------
    m, d, T : int
        Sequences (>= 1), dimension (>= 1), length (>= 3).
    law : Law or str
        Law of x_1.
    rng : numpy.random.Generator or int
        Generator, or a seed.

    Returns
    -------
    x : ndarray, complex128, shape (m, T, d)
        x[:, t-1] is x_t.
    theta : ndarray, float64, shape (m, d)

    Examples
    --------
    >>> x, theta = sample_sequences(4, 3, 5, "sparse_axis(1)", 0)
    >>> x.shape, x.dtype, bool(np.allclose(np.abs(x[:, 0]).sum(axis=1), 1))
    ((4, 5, 3), dtype('complex128'), True)
    """
    T = integer(T, "T", minimum=3)
    x1, theta = sample_starts(m, d, law, rng)
    powers = np.arange(T, dtype=np.float64)[None, :, None]  # t - 1
    x = np.exp(1j * powers * theta[:, None, :]) * x1[:, None, :]  # (m, T, d)
    return x, theta
