"""Speed of Nichani, Damian, Lee 2024 on this machine (issue 4, item 8); writes benchmarks/results/nichani2024.json.

Measured (no timing assertions anywhere): joint training of the disentangled transformer at the
authors' single-parent setting (S = 10, T = 20, alpha = 0.1, batch 1024, one head per layer, plain
SGD, fresh sequences drawn on the device every step), in steps per second with sampling included,
for float32 (the authors' precision, the default) and float64, 1 and 2 threads; the sampler alone;
the peak resident memory; and numerics.causal.information_matrix for a 20-node forest (S = 10,
20000 draws). Target: >= 40 steps/s on 2 cores under 2 GB (the authors' JAX code: 5.6 steps/s
overall, 15.7 GB). Run: ``python -m benchmarks.nichani2024 [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import torch

from benchmarks import write_result
import numerics.causal as nc
from validation.causal import DisentangledTransformer, sample_tree_task

OUT = Path(__file__).with_name("results") / "nichani2024.json"
S, T, ALPHA, BATCH = 10, 20, 0.1, 1024


def _train_rate(steps: int, dtype, threads: int) -> dict:
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    graph = nc.chain_graph(T)
    model = DisentangledTransformer(S, T, (1, 1), dtype=dtype)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)

    def step():
        tokens, y = sample_tree_task(graph, S, ALPHA, BATCH, generator=gen, dtype=dtype)
        loss = -(y * model.log_probs(tokens)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):  # warm-up
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    wall = time.perf_counter() - started
    sample_started = time.perf_counter()
    for _ in range(steps):
        sample_tree_task(graph, S, ALPHA, BATCH, generator=gen, dtype=dtype)
    sample_wall = time.perf_counter() - sample_started
    return dict(dtype=str(dtype).replace("torch.", ""), threads=threads, steps=steps,
                steps_per_second=steps / wall, ms_per_step=1e3 * wall / steps,
                sampling_ms_per_batch=1e3 * sample_wall / steps)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed steps")
    parser.add_argument("--out", default=str(OUT), help="JSON file to write")
    args = parser.parse_args(argv)
    steps = 20 if args.quick else 100
    runs = [_train_rate(steps, dtype, threads) for dtype in (torch.float32, torch.float64) for threads in (1, 2)]
    started = time.perf_counter()
    nc.information_matrix(nc.random_forest(21, 0.9, seed=0), S, ALPHA, n_draws=20000, seed=0)
    info_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    result = dict(
        paper="nichani2024", setting=dict(S=S, T=T, alpha=ALPHA, batch=BATCH, heads=[1, 1], optimizer="sgd"),
        joint_training=runs, information_matrix_seconds=info_s, peak_rss_mb=peak_mb,
        target=dict(steps_per_second=40, memory_mb=2048, information_matrix_seconds=2.0),
        machine=dict(python=platform.python_version(), torch=torch.__version__, processor=platform.processor(),
                     cpu_count=os.cpu_count(), load_average=load),
        note="wall-clock rates on a shared machine: compare runs at similar load",
    )
    write_result(args.out, result)
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
