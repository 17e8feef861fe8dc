"""Where the time of a ``reproduce`` goes, read from its log (``OUT/icl-theory.log``).

The log holds one line per trained run (``trained <trainer>(<config>) in T s``, also from a cluster
worker), per check group (``check <paper>:<group>: ... (T s)``) and per figure (``figure <paper>:<name>:
... (T s)``), and one header line per command (a run resumed over several sessions appends). This script
sums them: per command (wall time from its first to its last line), per trainer (runs and seconds), per
check group and per figure, and writes ``benchmarks/results/paper_profile_times.json``.

Usage: ``python -m benchmarks.paper_profile_times [RESULT_FOLDER] [--cpus N]`` (default ``results``).
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


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="results")
    ap.add_argument("--cpus", type=int, default=2, help="cores of the machine the log comes from")
    ap.add_argument("--note", default="", help="a remark stored with the result (e.g. that the run is unfinished)")
    ns = ap.parse_args(argv)
    result = dict(benchmark="where the time of a reproduce goes", folder=str(ns.folder), cpus=ns.cpus, note=ns.note,
                  **parse_log((Path(ns.folder) / "icl-theory.log").read_text()))
    write_result(OUT, result)
    return result


if __name__ == "__main__":
    main()
