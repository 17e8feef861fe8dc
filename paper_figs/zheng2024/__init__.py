"""Figures of Zheng et al. 2024 (:mod:`paper_figs.zheng2024.figures`) and, for each, the check of
its claim from its own arrays (:mod:`paper_figs.zheng2024.companions`)."""
from paper_figs.zheng2024.companions import (
    check_fig1,
    check_fig1_appendix,
    check_fig5,
    check_fig7,
    check_fixed_point_vs_T,
)
from paper_figs.zheng2024.figures import (
    PAPER,
    diagonal_hessian,
    fig1,
    fig1_appendix,
    fig5_random_init,
    fig7_full_one,
    fixed_point_vs_T,
    start_curvature,
)

__all__ = ["FIGURES", "FIGURE_CHECKS", "PAPER", "fig1", "fig1_appendix", "fig5_random_init", "fig7_full_one",
           "fixed_point_vs_T", "start_curvature", "diagonal_hessian"]

FIGURES = {
    "fig1": fig1,
    "fig1_appendix": fig1_appendix,
    "fig5": fig5_random_init,
    "fig7": fig7_full_one,
    "fixed_point_vs_T": fixed_point_vs_T,
}

FIGURE_CHECKS = {
    "fig1": check_fig1,
    "fig1_appendix": check_fig1_appendix,
    "fig5": check_fig5,
    "fig7": check_fig7,
    "fixed_point_vs_T": check_fixed_point_vs_T,
}
