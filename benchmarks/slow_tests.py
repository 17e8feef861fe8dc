"""The ledger of the ``slow`` tests: when each last ran, on which commit, how long it took and its outcome.

The slow tests (paper-scale runs and the ten-fresh-seed groups) take minutes to hours each, so they
run by hand: ``pytest -m slow TESTS --junitxml=FILE``. This script reads such a JUnit file and merges
its test cases into ``benchmarks/results/slow_tests.json`` (one entry per test id, the latest run
kept), with the commit it ran on and the run store it used (``ICL_THEORY_TEST_STORE`` when set, so a
test that reused a paper-profile ``reproduce``'s runs says so). ``--list`` prints the ledger next to
the slow tests pytest collects, and names those never run.

Usage: ``python -m benchmarks.slow_tests JUNIT.xml [...] [--commit REV] [--store DIR] [--note TEXT]``;
``python -m benchmarks.slow_tests --list``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import write_result

OUT = Path(__file__).resolve().parent / "results" / "slow_tests.json"
ROOT = Path(__file__).resolve().parents[1]


def parse_junit(path: str | Path) -> list[dict]:
    """One dict per test case of a pytest JUnit file: ``id`` (``tests/file.py::name[param]``),
    ``outcome`` (passed, failed, error or skipped), ``seconds`` and, on a failure, the first line
    of its message."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = "failed" if kind == "failure" else kind
                message = (node.get("message") or "").splitlines()[0][:300] if node.get("message") else ""
                break
        cases.append(dict(id=f"{module}::{case.get('name')}", outcome=outcome,
                          seconds=round(float(case.get("time", 0.0)), 1), message=message))
    return cases


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def merge(ledger: dict, cases: list[dict], *, commit: str, store: str | None, when: str, note: str = "") -> dict:
    """``ledger`` (test id -> entry) with ``cases`` merged in, each stamped with ``commit``, ``store``,
    ``when`` and ``note``."""
    out = dict(ledger)
    for case in cases:
        out[case["id"]] = dict(case, commit=commit, store=store, when=when, note=note)
    return dict(sorted(out.items()))


def collected_slow_tests() -> list[str]:
    """The ids of the tests ``pytest -m slow`` collects."""
    proc = subprocess.run(["python", "-m", "pytest", "-m", "slow", "--collect-only", "-q", "tests"], cwd=ROOT,
                          capture_output=True, text=True)
    return [line.strip() for line in proc.stdout.splitlines() if "::" in line]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slow_tests", description=__doc__.splitlines()[0])
    parser.add_argument("junit", nargs="*", help="pytest --junitxml files to merge into the ledger")
    parser.add_argument("--commit", help="the commit the tests ran on (default: HEAD here)")
    parser.add_argument("--store", help="the run store the tests used (ICL_THEORY_TEST_STORE), if any")
    parser.add_argument("--note", default="", help="a remark stored with each merged entry")
    parser.add_argument("--list", action="store_true", help="print the ledger against the collected slow tests")
    args = parser.parse_args(argv)
    ledger = json.loads(OUT.read_text())["tests"] if OUT.is_file() else {}
    if args.junit:
        for path in args.junit:
            when = datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            ledger = merge(ledger, parse_junit(path), commit=args.commit or _commit(), store=args.store, when=when,
                           note=args.note)
        write_result(OUT, {"benchmark": "the slow tests: latest run of each (pytest -m slow, by hand)",
                           "cpus": 2, "tests": ledger})
    if args.list:
        for test_id in collected_slow_tests():
            e = ledger.get(test_id)
            print(f"{'never run' if e is None else e['outcome']:>9} {'' if e is None else e['seconds']:>8} "
                  f"{'' if e is None else e['commit']:>8}  {test_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
