"""Time of von Oswald et al. 2023 Figs 7, 8, 14, 15 (helper `deep`): quick figures, and paper-profile estimates.

``python -m benchmarks.vonoswald2023_deep quick``: each figure at the quick profile through the command line
(``icl-theory figures --paper vonoswald2023 --figure F --profile quick``) into a fresh folder and run store;
wall seconds per figure and the load average (the family's budget is 45 s on two idle cores).

``python -m benchmarks.vonoswald2023_deep estimate``: the CPU time of one training step of each paper-profile
config's model at its batch (one thread, ``STEPS_TIMED`` steps), times its number of steps: the training part
of each paper-profile figure (fits and evaluations add a few minutes each).  Writes ``benchmarks/results/vonoswald2023_deep.json`` (one key per mode).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import write_result

OUT = Path(__file__).resolve().parent / "results" / "vonoswald2023_deep.json"
FIGURES = ("fig7", "fig8", "fig14", "fig15")
STEPS_TIMED = 8


def quick() -> dict:
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in FIGURES:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "paper_figs.cli", "figures", "--paper", "vonoswald2023",
                                   "--figure", name, "--profile", "quick", "--out", f"{tmp}/out", "--store",
                                   f"{tmp}/store-{name}", "--quiet"], capture_output=True, text=True)
            rows[name] = dict(wall_s=round(time.perf_counter() - t0, 1), returncode=proc.returncode,
                              load_avg_after=os.getloadavg())
            print(name, rows[name], flush=True)
    return dict(command="icl-theory figures --paper vonoswald2023 --figure F --profile quick (fresh store each)",
                cpus=os.cpu_count(), figures=rows, total_wall_s=round(sum(r["wall_s"] for r in rows.values()), 1))


def _step_seconds(kw: dict, n: int = STEPS_TIMED) -> float:
    """CPU seconds of one training step (forward, backward, AdamW) of a config's model at its batch, one thread."""
    import torch

    from validation.lsa import LSA, BlockSpec, BlockTransformer
    from validation.lsa.sampler import TaskSampler

    K = kw.get("layers", 1)
    clip = 10.0 if K > 3 else None
    if "layernorm" in kw or "mlp" in kw or kw.get("train_tasks"):
        model = BlockTransformer(BlockSpec.of(d=10, layers=K, recurrent=kw.get("recurrent", True),
                                              heads=kw.get("heads", 1), layernorm=kw.get("layernorm", False),
                                              mlp=kw.get("mlp", False), clip=clip), init_scale=0.002 / K,
                                 dtype=torch.float32)
    else:
        model = LSA(d=10, layers=K, recurrent=kw.get("recurrent", True), heads=kw.get("heads", 1), clip=clip,
                    dtype=torch.float32)
    batch = kw.get("train_tasks") or kw["batch"]
    E, y = TaskSampler(10, 10, "uniform(1/2)", dtype=torch.float32)(batch, torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    t0 = time.process_time()
    for _ in range(n):
        loss = 0.5 * ((model(E) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.process_time() - t0) / n


def estimate() -> dict:
    """Training-step CPU time of every paper-profile config (one thread), times its steps; fits and evaluations
    are not counted (they add a few minutes per figure)."""
    import torch

    from validation.runs.vonoswald2023 import deep_configs

    torch.set_num_threads(1)
    rows = []
    for config in dict.fromkeys(deep_configs("paper")):
        kw = dict(config.kwargs)
        sec = _step_seconds(kw)
        rows.append(dict(run=config.name[:160], steps=kw["steps"], step_ms=round(1000 * sec, 1),
                         estimate_min=round(sec * kw["steps"] / 60, 1)))
        print(rows[-1], flush=True)
    return dict(steps_timed=STEPS_TIMED, runs=rows, total_estimate_min=round(sum(r["estimate_min"] for r in rows)),
                load_avg_after=os.getloadavg(), note="one thread; CPU seconds, so a loaded machine inflates them less "
                "than wall time")


def main(which=("quick",)) -> dict:
    result = json.loads(OUT.read_text()) if OUT.is_file() else {}
    result["benchmark"] = "von Oswald et al. 2023 Figs 7, 8, 14, 15: quick wall time and paper-profile estimates"
    for mode in which:
        result[mode] = {"quick": quick, "estimate": estimate}[mode]()
        write_result(OUT, result)
    return result


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("quick",))
