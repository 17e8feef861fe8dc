"""Speed of the Zheng et al. (2024) companion (issue item 6); writes benchmarks/results/zheng2024.json.

Measured, each in a fresh subprocess (so the peak RSS is that task's own):

* ``paper_run``: the paper's setting end to end, data included: d = 5, T = 100, m = 10^4 training
  sequences, 150 full-batch GD epochs (lr 1e-4, Gaussian x_1, init (0.1, 0.1)), the last position of
  10^4 test sequences evaluated after every epoch.  Targets: < 60 s, < 4 GB on 2 cores (the
  authors' code: 16 s per epoch, ~41 minutes, 11 GB).
* ``epoch_fast`` vs ``epoch_loop``: one loss + gradient evaluation on m = 500 sequences by the
  fast path and by the per-t reference loop with autograd (the authors' ``forward_train``).
* ``theory``: ``theory.mesa.fixed_point`` and ``balanced_flow`` at d = 5, T = 100 (milliseconds).
* ``paper_run_2threads``: the same run with ``num_threads=2`` (the chunks of sequences split over
  two threads, torch single-threaded in each): one run using both cores.
* ``paper_run_pair``: two such runs (inits (0.1, 0.1) and (0.5, 1.5), one shared data draw) side by
  side by ``validation.store.run_many(..., workers=2)``, torch single-threaded in each, in complex64:
  what the paper profile of the figures does.
* ``paper_run_float32``: the paper run in the authors' precision (``dtype=torch.float32``, complex64),
  as the figures train.

The paper profile of the figures is timed end to end by ``benchmarks/figures.py --profile paper``.

Usage: ``python benchmarks/zheng2024.py [--threads 1]`` (not a test; no timing assertions).  Machine load
is recorded with the results: on a shared machine the timings scale with it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import write_result

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "zheng2024.json"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def task_paper_run(**kw) -> dict:
    from validation.mesa import train_mesa

    t0 = time.perf_counter()
    r = train_mesa(d=5, T=100, law="gaussian(1)", m=10000, lr=1e-4, epochs=150, m_test=10000, seed=0, **kw)
    wall = time.perf_counter() - t0
    return dict(wall_s=wall, per_epoch_s=wall / 150, final_ab=r.final_ab, c_empirical=r.c_empirical,
                c_empirical_se=r.c_empirical_se, final_test_mse=r.final_test_mse, peak_rss_mb=_peak_rss_mb())


def task_paper_run_float32() -> dict:
    import torch

    return task_paper_run(dtype=torch.float32)


def task_paper_run_2threads() -> dict:
    from validation.mesa import train_mesa

    t0 = time.perf_counter()
    r = train_mesa(d=5, T=100, law="gaussian(1)", m=10000, lr=1e-4, epochs=150, m_test=10000, seed=0, num_threads=2)
    wall = time.perf_counter() - t0
    return dict(wall_s=wall, per_epoch_s=wall / 150, final_ab=r.final_ab, peak_rss_mb=_peak_rss_mb())


def task_paper_run_pair() -> dict:
    import torch

    from validation.mesa import train_mesa
    from validation.store import RunConfig, run_many

    configs = [RunConfig.of(train_mesa, d=5, T=100, law="gaussian(1)", m=10000, lr=1e-4, epochs=150, m_test=10000,
                            seed=0, a0=a0, b0=b0, dtype=torch.float32) for a0, b0 in ((0.1, 0.1), (0.5, 1.5))]
    t0 = time.perf_counter()
    out = run_many(configs, workers=2)  # what the paper profile of the figures does
    wall = time.perf_counter() - t0
    return dict(wall_s=wall, per_run_s=wall / 2, run_walls_s=[r.wall_time_s for r in out],
                final_ab=[r.final_ab for r in out], peak_rss_mb=_peak_rss_mb())


def task_epochs() -> dict:
    import numpy as np
    import torch

    from numerics.mesa import sample_sequences
    from validation.mesa import ARData, ar_loss_and_grad, loop_predictions, prepare

    m, d, T = 500, 5, 100
    x, theta = sample_sequences(m, d, T, "gaussian(1)", np.random.default_rng(0))
    data = prepare(ARData.from_numpy(x[:, 0].real, theta, T))  # the per-dataset constants, built once
    xt = torch.as_tensor(x)
    g = torch.Generator().manual_seed(0)
    P = 0.1 * torch.randn(d, 2 * d, dtype=torch.complex128, generator=g)
    Q = 0.1 * torch.randn(2 * d, 2 * d, dtype=torch.complex128, generator=g)
    ar_loss_and_grad(P, Q, data)  # warm-up
    t0 = time.perf_counter()
    for _ in range(3):
        ar_loss_and_grad(P, Q, data)
    fast = (time.perf_counter() - t0) / 3
    t0 = time.perf_counter()
    Pl, Ql = P.clone().requires_grad_(), Q.clone().requires_grad_()
    r = loop_predictions(Pl, Ql, xt) - xt[:, 2:]
    (0.5 * (r.abs() ** 2).sum() / m).backward()
    loop = time.perf_counter() - t0
    return dict(m=m, d=d, T=T, epoch_fast_s=fast, epoch_loop_s=loop, speedup=loop / fast)


def task_theory() -> dict:
    import sympy as sp

    from theory.laws import Gaussian
    from theory.mesa import balanced_flow, fixed_point

    out = {}
    for name, fn in (("fixed_point", lambda: fixed_point(5, 100, Gaussian(1))),
                     ("balanced_flow", lambda: balanced_flow(sp.Rational(1, 10), sp.Rational(1, 100), 5, 100,
                                                             Gaussian(1)))):
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(5):
            fn()
        out[name] = dict(first_ms=1e3 * first, repeat_ms=1e3 * (time.perf_counter() - t0) / 5)
    return out


TASKS = {"paper_run": task_paper_run, "paper_run_float32": task_paper_run_float32,
         "paper_run_2threads": task_paper_run_2threads,
         "paper_run_pair": task_paper_run_pair, "epochs": task_epochs,
         "theory": task_theory}


def _child(name: str, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    code = (f"import json, torch; torch.set_num_threads({threads}); import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from benchmarks.zheng2024 import TASKS; print(json.dumps(TASKS[{name!r}]()))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per task (default 1; train_mesa runs "
                        "single-threaded unless told otherwise)")
    parser.add_argument("--skip-paper-run", action="store_true", help="skip the paper-setting runs (about 2 minutes)")
    ns = parser.parse_args(argv)
    results = dict(machine=dict(python=platform.python_version(), cpus=os.cpu_count(), threads=ns.threads,
                                load_avg=os.getloadavg()))
    for name in TASKS:
        if name.startswith("paper_run") and ns.skip_paper_run:
            continue
        print(f"running {name} ...", flush=True)
        results[name] = _child(name, ns.threads)
        print(json.dumps(results[name], indent=1), flush=True)
    results["machine"]["load_avg_end"] = os.getloadavg()
    write_result(OUT, results, sort_keys=True)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
