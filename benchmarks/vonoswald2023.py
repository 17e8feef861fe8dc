"""Training speed of the von Oswald et al. (2023) LSA (issue 2, item 8); writes benchmarks/results/vonoswald2023.json.

Measured through ``validation.lsa.train_lsa`` itself (fresh tasks drawn every step, batch 2048,
d = N = 10, U(-1/2, 1/2) inputs; evaluation excluded from the timed loop):

* ``one_layer``: the 1-layer LSA (target on 2 cores: >= 200 steps/s; the authors' JAX code:
  60-110 steps/s on the same kind of machine);
* ``two_layer_recurrent``: the 2-layer weight-tied model (target >= 100 steps/s; authors: 31);

each in a few variants: float32 (the default) or float64; one torch thread plus the task-sampler
thread (the default on the CPU), two torch threads, no sampler thread.  For each we report wall
steps/s and steps per CPU-second (both threads' CPU time; what one would get with the cores to
oneself).  The 1-minute load average is recorded, because on a shared machine wall-clock rates
drop with the load while CPU-time rates mostly do not.

Tried while developing and not used: ``torch.compile`` of the loss (about 2 minutes of
compilation on this machine for a 2-layer step going from 8.1 to 6.7 CPU-ms).  What did help:
padding the tokens from 11 to 12 channels (MKL multiplies (n, 12) x (12, 12) about three times
faster than (n, 11) x (11, 11) here), drawing the tasks in a second thread, and one flat
parameter tensor for the optimiser.

Usage: ``python -m benchmarks.vonoswald2023 [--steps 400] [--full]`` (not a test; no timing
assertions).  ``--full`` also times the default ``train_lsa()`` run end to end (5000 steps).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks import write_result

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "vonoswald2023.json"

VARIANTS = [  # name, torch threads, dtype, prefetch
    ("float32_1thread_sampler", 1, "float32", True),
    ("float32_2threads_sampler", 2, "float32", True),
    ("float32_1thread_no_sampler", 1, "float32", False),
    ("float64_1thread_sampler", 1, "float64", True),
]


def _run(layers: int, steps: int, threads: int, dtype: str, prefetch: bool) -> dict:
    import torch

    from validation.lsa import train_lsa

    torch.set_num_threads(threads)
    load = os.getloadavg()[0]
    r = train_lsa(layers=layers, recurrent=True, steps=steps, batch=2048, log_every=steps, eval_tasks=1000,
                  gdpp_fit_tasks=2000, seed=0, dtype=getattr(torch, dtype), prefetch=prefetch)
    return dict(steps=steps, steps_per_s_wall=r.steps_per_second,
                steps_per_cpu_s=steps / r.extras["train_cpu_s"], load_avg_1min_before=load,
                load_avg_1min_after=os.getloadavg()[0], final_eval_loss=r.final_loss)


def _full() -> dict:
    import torch

    from validation.lsa import train_lsa

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    r = train_lsa()
    return dict(wall_s=time.perf_counter() - t0, steps_per_s_wall=r.steps_per_second,
                final_loss=r.final_loss, theory_loss=r.theory_loss, step_size=r.step_size,
                eta_star=r.eta_star, model_cos=r.alignment["model_cos"])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="timed training steps per variant")
    parser.add_argument("--full", action="store_true", help="also time the default train_lsa() run")
    args = parser.parse_args(argv)
    if args.steps < 20:
        parser.error(f"--steps must be >= 20, got {args.steps}")

    import torch

    out = dict(
        benchmark="vonoswald2023 LSA training steps per second (batch 2048, d = N = 10, fresh tasks)",
        targets=dict(one_layer_steps_per_s=200, two_layer_recurrent_steps_per_s=100,
                     authors_jax_one_layer="60-110", authors_jax_two_layer=31),
        machine=dict(cpus=os.cpu_count(), platform=platform.platform(), python=sys.version.split()[0],
                     torch=torch.__version__, processor=platform.processor()),
        results={},
    )
    for layers, key in ((1, "one_layer"), (2, "two_layer_recurrent")):
        out["results"][key] = {name: _run(layers, args.steps, th, dt, pf) for name, th, dt, pf in VARIANTS}
    if args.full:
        out["results"]["default_train_lsa_end_to_end"] = _full()
    write_result(OUT, out)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
