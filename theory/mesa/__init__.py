"""Zheng et al. 2024, "On Mesa-Optimization in Autoregressively Trained Transformers" (sympy only).

Setting: x_{t+1} = W x_t, W = diag(e^{i theta_j}), theta_j ~ U[0, 2 pi); real x_1 ~ law;
tokens (0, x_t, x_{t-1}) (the paper's form as reconstructed, [uncertain]; the code's (x_t, x_{t-1})
is equivalent); loss sum_{t=2}^{T-1} 1/2 |y_hat_t - x_{t+1}|^2; red blocks
W^KQ_32 = A, W^PV_12 = B, and on the scalar manifold A = aI, B = bI, c = ab.
The trained model is the mesa-optimizer y_hat_t = W_hat_t x_t with
W_hat_t = (c/(t-1)) sum_{i<t} x_{i+1} x_i^H, one GD step from 0 on the in-context OLS loss.

Notation: S = T - 2, H = H_{T-2}, H2 = H^(2)_{T-2} = sum_{n=1}^{T-2} 1/n^2,
m2 = E x_j^2, k1 = E x_j^4, k2 = E x_j^6, k3 = E x_j^2 x_k^4, Acal = S k2 + (d-1) H k3.

Modules, by idea:

* :mod:`theory.mesa.moments`: the moments of x_1 and Assumptions 4.1 / 4.2;
Only the abstract, captions and the authors' code were available: Assumptions 4.1/4.2, Theorems
4.1/4.2 and Proposition 4.1 are reconstructed (names the paper's, exact forms derived here).

* :mod:`theory.mesa.flow`: Theorem 4.1, the reduced and diagonal losses, the fixed point c*, the flows;
* :mod:`theory.mesa.capability`: Theorem 4.2, Proposition 4.1, Example 4.1 (errors of the mesa-optimizer);
* :mod:`theory.mesa.full_one`: beyond Assumption 4.1 (off-diagonal gradients, the full-one start);
* :mod:`theory.mesa.lemma`: exact phase averages of the full model and the structural lemma.
"""
from theory.mesa.capability import (asymptotic_relative_error, position_error, prediction_ratio,
                                    recovers_distribution)
from theory.mesa.flow import (balanced_flow, conserved_quantity, diagonal_flow_rhs, diagonal_loss, fixed_point,
                              fixed_point_limit, loss_coefficients, population_optimum, product_flow_rhs,
                              reduced_loss, scalar_flow_rhs)
from theory.mesa.full_one import full_one_offdiag_gradients, masked_fixed_point, offdiag_gradients
from theory.mesa.lemma import (law_expectation, phase_averaged_gradients, phase_averaged_loss, red_block_mask,
                               structural_lemma)
from theory.mesa.moments import mesa_moments, satisfies_assumption_41, satisfies_assumption_42

__all__ = [
    # moments and assumptions
    "mesa_moments", "satisfies_assumption_41", "satisfies_assumption_42",
    # Theorem 4.1
    "loss_coefficients", "reduced_loss", "diagonal_loss", "fixed_point", "fixed_point_limit", "population_optimum",
    "scalar_flow_rhs", "diagonal_flow_rhs", "product_flow_rhs", "conserved_quantity", "balanced_flow",
    # capability: Theorem 4.2, Proposition 4.1, Example 4.1
    "position_error", "prediction_ratio", "asymptotic_relative_error", "recovers_distribution",
    # beyond Assumption 4.1
    "offdiag_gradients", "full_one_offdiag_gradients", "masked_fixed_point",
    # structural lemma
    "red_block_mask", "phase_averaged_gradients", "phase_averaged_loss", "structural_lemma",
    "law_expectation",
]
