"""Zheng et al. 2024 in numpy/scipy: AR sampler, the model on given sequences, exact population averages,
the gradient flow of Theorem 4.1, and the theory as floats.

Data: x_{t+1} = W x_t with W = diag(e^{i theta_j}), theta_j ~ U[0, 2 pi), real x_1 ~ law.

* :mod:`numerics.mesa.sampling`: ``sample_starts``, ``sample_sequences``;
* :mod:`numerics.mesa.model`: the linear causal attention (code layout), its loss and gradients;
* :mod:`numerics.mesa.population`: exact population averages (phase grid x x_1 quadrature);
* :mod:`numerics.mesa.flow`: ``integrate_flow`` (scipy) and ``manifold_gd`` (the GD recursion);
* :mod:`numerics.mesa.lambdified`: float values of the closed forms of :mod:`theory.mesa`.
"""
from numerics.mesa.flow import balanced_gd_error_bound, integrate_flow, manifold_gd
from numerics.mesa.lambdified import balanced_flow_curve, c_star, position_error_curve, reduced_loss_value
from numerics.mesa.model import empirical_loss_and_grad, predict, red_params, sequence_losses
from numerics.mesa.population import exact_grid_size, phase_grid_loss_and_grad, x1_quadrature
from numerics.mesa.sampling import sample_sequences, sample_starts

__all__ = [
    "sample_starts",
    "sample_sequences",
    "red_params",
    "predict",
    "sequence_losses",
    "empirical_loss_and_grad",
    "x1_quadrature",
    "exact_grid_size",
    "phase_grid_loss_and_grad",
    "integrate_flow",
    "manifold_gd",
    "balanced_gd_error_bound",
    "c_star",
    "reduced_loss_value",
    "balanced_flow_curve",
    "position_error_curve",
]
