"""Shared timing helpers for the benchmark scripts."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable

import torch


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_median_seconds(fns: dict[str, Callable[[], object]], repeats: int,
                               warmup: int = 1) -> dict[str, float]:
    """Median wall time of each ``fns[name]()``, the methods timed in turn within each round.

    On a shared machine a burst of other work then slows every method of a round alike,
    instead of all the runs of one method, so ratios between methods are steadier.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def machine() -> str:
    """One line describing where the numbers came from."""
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
            f"{gpu}, torch {torch.__version__}, python {platform.python_version()}")


def report(title: str, rows: list[tuple[str, float]], baseline: str, extra: dict) -> None:
    """Print a table of timings with ratios against ``baseline`` and one JSON line."""
    base = dict(rows)[baseline]
    print(f"\n{title}\n{machine()}")
    print(f"{'method':<40} {'seconds':>10} {'speed-up of dasp_blind':>24}")
    for name, seconds in rows:
        print(f"{name:<40} {seconds:>10.3f} {seconds / base:>23.2f}x")
    print(json.dumps({"benchmark": title, "machine": machine(), **extra,
                      "seconds": dict(rows),
                      "speedup": {n: s / base for n, s in rows if n != baseline}}))
