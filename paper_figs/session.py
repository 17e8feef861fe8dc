"""What a long command shows and where its runs live: progress lines, the log file, the run store.

``check``, ``figures`` and ``reproduce`` print one line per finished unit (check group, training run,
figure: name, seconds, outcome) on standard error and into ``OUT/icl-theory.log``, also when the output
is a file or a pipe; on a terminal a tqdm bar runs as well. ``--quiet`` silences the terminal, not the
log. The run store of a command is ``OUT/.runs`` (or ``--store DIR``; ``--fresh`` retrains). With
``--cluster`` (``local:N`` or a scheduler address) the runs train on a Dask cluster: the command first
submits every standard run of the selected papers (each paper's ``validation.runs.<key>.all_configs``)
so that they train side by side, then draws its checks and figures from the store.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time

from paper_figs.errors import UserError
from theory.args import ArgumentError
from validation import papers

__all__ = ["format_table", "Progress", "session", "selected_papers"]

log = logging.getLogger("icl_theory")


def format_table(results) -> str:
    header = ("paper", "claim", "source", "theory", "measured", "tolerance", "pass")
    rows = [header] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


class Progress:
    """One line per finished unit on stderr (unless ``--quiet``) and in ``OUT/icl-theory.log``; a tqdm
    bar over the units on a terminal."""

    def __init__(self, ns, total: int, desc: str):
        self.bar = None
        if not ns.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, leave=False)

    def line(self, text: str) -> None:
        log.info(text)
        if self.bar is not None:
            self.bar.update(0)

    def step(self, text: str) -> None:
        self.line(text)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _LineHandler(logging.Handler):
    """Writes each record as one line, through tqdm on a terminal so the bar stays intact."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.started = time.perf_counter()

    def emit(self, record):
        text = f"[{time.perf_counter() - self.started:7.1f} s] {record.getMessage()}"
        if self.stream.isatty():
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)


@contextlib.contextmanager
def _device(ns):
    from validation.store import use_device

    try:
        manager = use_device(getattr(ns, "device", "cpu"))
        manager.__enter__()
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    try:
        yield
    finally:
        manager.__exit__(None, None, None)


@contextlib.contextmanager
def _cluster(ns):
    from validation.cluster import use_cluster

    try:
        manager = use_cluster(getattr(ns, "cluster", "none"))
        client = manager.__enter__()
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    try:
        yield client
    except BaseException:
        if not manager.__exit__(*sys.exc_info()):
            raise
    else:
        manager.__exit__(None, None, None)


def _prefetch(ns) -> None:
    """Submit every standard run of the selected papers to the cluster at once (a command limited by
    ``--figure`` or ``--claim`` submits only what it asks for, as it goes)."""
    import importlib

    from validation.store import run_many

    if getattr(ns, "figure", None) or getattr(ns, "claim", None):
        return
    configs = []
    for key in selected_papers(ns.paper):
        module = importlib.import_module(papers.paper(key).modules["runs"])
        if hasattr(module, "all_configs"):
            configs += module.all_configs(ns.profile, seed=ns.seed)
    if configs:
        log.info("submitting %d standard run(s) of %s to the cluster", len(configs), ns.paper)
        run_many(configs)


@contextlib.contextmanager
def session(ns):
    """The output folder, the log (stderr and OUT/icl-theory.log) and the run store of one command."""
    from paper_figs.artifacts import ensure_out_dir
    from validation.store import use_store

    try:
        out = ensure_out_dir(ns.out)
        store_dir = ensure_out_dir(ns.store) if ns.store else out / ".runs"
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    handlers = [logging.FileHandler(out / "icl-theory.log")]
    handlers[0].setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    if not ns.quiet:
        handlers.append(_LineHandler(sys.stderr))
    root = logging.getLogger("icl_theory")
    level = root.level
    root.setLevel(logging.INFO)
    for h in handlers:
        root.addHandler(h)
    try:
        with use_store(store_dir, fresh=ns.fresh) as store, _device(ns), _cluster(ns) as client:
            log.info("icl-theory %s (store %s)", " ".join(ns.argv), store_dir)
            if client is not None:
                _prefetch(ns)
            yield out, store
            log.info("runs: %d trained, %d reused from the store", store.trained, store.reused)
    finally:
        for h in handlers:
            root.removeHandler(h)
            h.close()
        root.setLevel(level)


def selected_papers(paper: str) -> list[str]:
    try:
        papers.check_paper(paper, allow_all=True)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    return [p.key for p in papers.PAPERS] if paper == "all" else [paper]
