"""Zheng et al. 2024 in torch: the one-layer linear causal attention trained by full-batch GD on AR sequences.

* :mod:`validation.mesa.model`: the model (code layout), its reference implementations, the AR training set;
* :mod:`validation.mesa.fast_path`: the exact O(m T d^2) loss, gradients and predictions for AR data;
* :mod:`validation.mesa.data`: sampled and exact (phase-grid) training sets, test statistics;
* :mod:`validation.mesa.readouts`: what a run measures (weights, last position, scalar-manifold fit);
* :mod:`validation.mesa.training`: ``train_mesa`` (Table 1's step sizes by default) and ``MesaResult``.

The paper's standard runs (sizes per profile) are :mod:`validation.runs.zheng2024`.
"""
from validation.mesa.data import MesaDataset, dataset, grid_data, last_position_statistics
from validation.mesa.fast_path import ARConstants, ar_loss_and_grad, ar_predictions, prepare
from validation.mesa.model import (DTYPE, ARData, embed, loop_predictions, paper_layout, prefix_predictions,
                                   red_blocks)
from validation.mesa.readouts import last_position_readout, scalar_manifold_fit, weight_readout
from validation.mesa.training import TABLE1, GDDiverged, MesaResult, table1_step, train_mesa

__all__ = ["MesaResult", "TABLE1", "GDDiverged", "train_mesa", "table1_step",
           # data
           "grid_data", "dataset", "MesaDataset", "last_position_statistics",
           # read-outs
           "scalar_manifold_fit", "weight_readout", "last_position_readout",
           # the model itself
           "DTYPE", "ARData", "ARConstants", "prepare", "ar_loss_and_grad", "ar_predictions", "embed",
           "loop_predictions", "prefix_predictions", "red_blocks", "paper_layout"]
