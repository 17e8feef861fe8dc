"""Figures of Nichani, Damian, Lee 2024 (:mod:`paper_figs.nichani2024.figures`) and, for each, the
check of its claim from its own arrays (:mod:`paper_figs.nichani2024.companions`)."""
from paper_figs.nichani2024.companions import (
    check_fig2,
    check_fig5,
    check_fig6,
    check_fig7,
    check_fig8,
    check_fig9,
    check_gradient_matrix,
    check_information_vs_distance,
)
from paper_figs.nichani2024.figures import (
    PAPER,
    fig2,
    fig5,
    fig6,
    fig7,
    fig8,
    fig9,
    gradient_matrix,
    information_vs_distance,
)

__all__ = ["FIGURES", "FIGURE_CHECKS", "PAPER", "fig2", "fig5", "fig6", "fig7", "fig8", "fig9", "gradient_matrix",
           "information_vs_distance"]

FIGURES = {
    "fig2": fig2,
    "fig5": fig5,
    "fig6": fig6,
    "fig7": fig7,
    "fig8": fig8,
    "fig9": fig9,
    "gradient_matrix": gradient_matrix,
    "information_vs_distance": information_vs_distance,
}

FIGURE_CHECKS = {
    "fig2": check_fig2,
    "fig5": check_fig5,
    "fig6": check_fig6,
    "fig7": check_fig7,
    "fig8": check_fig8,
    "fig9": check_fig9,
    "gradient_matrix": check_gradient_matrix,
    "information_vs_distance": check_information_vs_distance,
}
