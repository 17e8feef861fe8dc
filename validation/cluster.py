"""Where training runs execute: in this process (the default) or on a Dask cluster.

``use_cluster(spec)`` makes a cluster current for the enclosed code; the run store
(:mod:`validation.store`) then sends every run it has to train to the cluster's workers, as one
Dask task per run, and stores what comes back (so the results land in the store of the machine
that asked, whatever the workers can see). ``spec`` is

* ``"none"``: no cluster, no Dask started (the default);
* ``"local:N"``: a ``dask.distributed.LocalCluster`` of N worker processes on this machine, one
  thread each (Dask's nanny also sets ``OMP_NUM_THREADS=1``, so each worker trains on one core);
* a scheduler address such as ``"tcp://host:8786"``: a cluster started by the user (``dask
  scheduler`` / ``dask worker``, or ``dask-jobqueue`` on SLURM or PBS; the README shows how). Its
  workers must have this project installed at the same version (a run's key holds the version).

A trainer is a pure function of its config (every random stream comes from the config's seed),
so a run gives the same numbers on a worker as in this process on the same number of threads.
"""
from __future__ import annotations

import contextlib
import logging
import re

from theory.args import ArgumentError, ArgumentKindError

__all__ = ["parse_cluster", "use_cluster", "current_client"]

log = logging.getLogger("icl_theory.runs")

_LOCAL = re.compile(r"local:(\d+)")
_ADDRESS = re.compile(r"(?:(?:tcp|tls|ucx|inproc|ws|wss)://)?[A-Za-z0-9_.\-\[\]:]+:\d+")
_CLIENTS: list = []


def parse_cluster(spec) -> tuple[str, object]:
    """``("none", None)``, ``("local", N)`` or ``("address", "tcp://host:port")``, else ``ValueError``
    naming ``cluster``.

    Examples
    --------
    >>> parse_cluster("local:2"), parse_cluster("tcp://10.0.0.5:8786"), parse_cluster("none")
    (('local', 2), ('address', 'tcp://10.0.0.5:8786'), ('none', None))
    """
    if not isinstance(spec, str):
        raise ArgumentKindError(f"cluster must be a string ('none', 'local:N' or a scheduler address), got {spec!r}")
    text = spec.strip()
    if text == "none":
        return "none", None
    match = _LOCAL.fullmatch(text)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise ArgumentError(f"cluster: local:N needs N >= 1 worker processes, got {spec!r}")
        return "local", n
    if _ADDRESS.fullmatch(text):
        return "address", text if "://" in text else f"tcp://{text}"
    raise ArgumentError(f"cluster must be 'none', 'local:N' (N worker processes here) or a scheduler address "
                        f"such as 'tcp://host:8786', got {spec!r}")


def current_client():
    """The Dask client of the innermost :func:`use_cluster`, or ``None`` (runs train in-process)."""
    return _CLIENTS[-1] if _CLIENTS else None


@contextlib.contextmanager
def use_cluster(spec="none"):
    """Run the enclosed code's training on the cluster ``spec`` (module docstring); yields the client
    (``None`` for ``"none"``). A local cluster is shut down on exit; a remote one is left running."""
    kind, value = parse_cluster(spec)
    if kind == "none":
        yield None
        return
    from dask.distributed import Client, LocalCluster

    if kind == "local":
        import dask

        # Two of Dask's worker defaults slow torch training down; the workers get the config of this block.
        # MALLOC_TRIM_THRESHOLD_=65536 (set before a worker is spawned) turns off glibc's adaptive mmap
        # threshold, so every batch-sized tensor is mapped and unmapped again: a 5-layer LSA step took
        # 2.5 times as long (7.2 against 17.8 steps/s on one core). The statistical profiler samples every
        # thread's stack each 10 ms under the GIL: on a 50000-step run it used as much CPU as the training.
        with dask.config.set({"distributed.worker.profile.enabled": False,
                              "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(n_workers=value, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(value, timeout="20s")
        except OSError as exc:
            raise ArgumentError(f"cluster: cannot reach the scheduler at {value}: {exc}") from None
    log.info("cluster %s: %d workers", spec, len(client.scheduler_info().get("workers", {})))
    _CLIENTS.append(client)
    try:
        yield client
    finally:
        _CLIENTS.pop()
        client.close()
        if cluster is not None:
            cluster.close()
