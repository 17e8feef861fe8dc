"""Where the time of a ``reproduce`` goes, read from its log (``OUT/icl-theory.log``).

The log holds one line per trained run (``trained <trainer>(<config>) in T s``, also from a cluster
worker), per check group (``check <paper>:<group>: ... (T s)``) and per figure (``figure <paper>:<name>:
... (T s)``), and one header line per command (a run resumed over several sessions appends). This script
sums them: per command (wall time from its first to its last line), per trainer (runs and seconds), per
check group and per figure, and writes ``benchmarks/results/paper_profile_times.json``.

For a run still in progress (a reference resumed over several sessions), ``--profile paper`` adds what is
left: the profile's standard runs (``validation.runs.<paper>.all_configs``) not yet in ``FOLDER/.runs``,
and an estimate of their CPU time. The estimate is rough, a rate per trainer: the trainer's logged seconds
over the summed :attr:`~validation.store.RunConfig.cost_hint` (steps x batch x layers) of its runs in the
log, times the cost hint of each run left (none for a trainer with no run logged yet), less the fraction a
run's checkpoint has done; it leaves out the checks and figures drawn after the training.

Usage: ``python -m benchmarks.paper_profile_times [RESULT_FOLDER] [--cpus N] [--profile paper]`` (default
``results``).
"""
from __future__ import annotations

import argparse
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from benchmarks import write_result

OUT = Path(__file__).resolve().parent / "results" / "paper_profile_times.json"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)$")
_TRAINED = re.compile(r"^trained (\w+)\((.*)\) in ([0-9.]+) s(.*)$")
_UNIT = re.compile(r"^(check|figure) (\w+):(\w+): .*\(([0-9.]+) s\)")


def parse_log(text: str) -> dict:
    """The timings in a log's text (see the module docstring)."""
    commands, trainers, units = [], defaultdict(lambda: [0, 0.0]), {}
    current = None
    for line in text.splitlines():
        m = _STAMP.match(line)
        if not m:
            continue
        when, msg = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"), m.group(2)
        if msg.startswith("icl-theory "):
            current = dict(command=msg.split(" (store")[0], start=when, end=when)
            commands.append(current)
            continue
        if current is not None:
            current["end"] = when
        t = _TRAINED.match(msg)
        if t:
            trainers[t.group(1)][0] += 1
            trainers[t.group(1)][1] += float(t.group(3))
            continue
        u = _UNIT.match(msg)
        if u:
            units[f"{u.group(1)} {u.group(2)}:{u.group(3)}"] = float(u.group(4))
    return dict(
        commands=[dict(command=c["command"], started=c["start"].isoformat(" "),
                       wall_seconds=(c["end"] - c["start"]).total_seconds()) for c in commands],
        wall_seconds=sum((c["end"] - c["start"]).total_seconds() for c in commands),
        trainers={k: dict(runs=v[0], seconds=round(v[1], 1)) for k, v in sorted(trainers.items())},
        checks={k.removeprefix("check "): v for k, v in units.items() if k.startswith("check ")},
        figures={k.removeprefix("figure "): v for k, v in units.items() if k.startswith("figure ")},
    )


def run_seconds(text: str) -> dict[str, float]:
    """``{config name: seconds}`` of the runs a log says were trained (the last time, if several)."""
    out = {}
    for line in text.splitlines():
        m = _STAMP.match(line)
        t = m and _TRAINED.match(m.group(2))
        if t:
            out[f"{t.group(1)}({t.group(2)})"] = float(t.group(3))
    return out


def _done(store, config) -> float:
    """The fraction of ``config``'s steps its checkpoint in ``store`` has done (0 without one)."""
    import torch

    path = store.checkpoint_path(config)
    if not path.is_file() or not config.total_steps:
        return 0.0
    return min(float(torch.load(path, map_location="cpu", weights_only=False)["step"]) / config.total_steps, 1.0)


def remaining(folder: Path, profile: str, trained: dict[str, float]) -> dict:
    """The standard runs of ``profile`` not stored in ``folder/.runs`` and their estimated CPU seconds, from
    ``trained`` (``{config name: seconds}`` of the log's runs); see the module docstring."""
    import importlib

    from validation.papers import PAPERS
    from validation.store import RunStore

    store = RunStore(folder / ".runs")
    configs = list(dict.fromkeys(c for p in PAPERS
                                 for c in importlib.import_module(p.modules["runs"]).all_configs(profile)))
    rate = defaultdict(lambda: [0.0, 0.0])  # trainer -> [seconds, cost]
    for c in configs:
        if c.name in trained:
            rate[c.trainer][0] += trained[c.name]
            rate[c.trainer][1] += c.cost_hint
    left, known, unknown = defaultdict(lambda: [0, 0.0]), [], 0
    for c in configs:
        if store.holds(c):
            continue
        short = c.trainer.rpartition(".")[2]
        left[short][0] += 1
        if rate[c.trainer][1] > 0:
            seconds = c.cost_hint * rate[c.trainer][0] / rate[c.trainer][1] * (1.0 - _done(store, c))
            left[short][1] += seconds
            known.append(seconds)
        else:
            unknown += 1
    return dict(profile=profile, runs=len(configs), stored=len(configs) - sum(v[0] for v in left.values()),
                left={k: dict(runs=v[0], estimated_cpu_seconds=round(v[1])) for k, v in sorted(left.items())},
                left_without_estimate=unknown, estimated_cpu_seconds=round(sum(known)),
                longest_estimated_seconds=round(max(known, default=0.0)))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="results")
    ap.add_argument("--cpus", type=int, default=2, help="cores of the machine the log comes from")
    ap.add_argument("--note", default="", help="a remark stored with the result (e.g. that the run is unfinished)")
    ap.add_argument("--profile", choices=["quick", "paper"], help="also list the profile's runs not yet stored")
    ns = ap.parse_args(argv)
    text = (Path(ns.folder) / "icl-theory.log").read_text()
    result = dict(benchmark="where the time of a reproduce goes", folder=str(ns.folder), cpus=ns.cpus, note=ns.note,
                  **parse_log(text))
    if ns.profile:
        result["remaining"] = remaining(Path(ns.folder), ns.profile, run_seconds(text))
    write_result(OUT, result)
    return result


if __name__ == "__main__":
    main()
