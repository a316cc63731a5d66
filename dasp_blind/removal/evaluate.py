"""The paper's evaluation of distortion removal (Imort et al., ISMIR 2022, Figs. 3–5) as tables
and box plots.

Every test item gives one row per method (the degraded ``input``, each network, ``aspade``)
with its metrics against the clean target: SI-SDR and SDR (dB, higher is better), the
MR-STFT distance (lower is better) and R-nonlin (1 for no distortion). :func:`summarise`
reduces the rows to the median and quartiles per group (a degradation, e.g. ``hard_clip`` or
``clip_to_sdr 5 dB``), method and metric — the numbers of the paper's box plots —
:func:`markdown_table` prints them and :func:`write_results` writes ``removal_results.json``,
``removal_results.md`` and, with matplotlib, one box-plot PNG per metric.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from .._outputs import matplotlib_available
from ..metrics import mrstft_distance, r_nonlin, sdr, si_sdr

#: Metric key → (header, higher is better).
METRICS = {"si_sdr": ("SI-SDR (dB)", True), "sdr": ("SDR (dB)", True),
           "mrstft": ("MR-STFT distance", False), "r_nonlin": ("R-nonlin", True)}
#: Files :func:`write_results` writes (plus ``removal_<metric>.png`` per metric).
RESULT_FILES = ("removal_results.json", "removal_results.md")


def item_metrics(estimate: Tensor, clean: Tensor, sample_rate: float,
                 metrics: Sequence[str] = tuple(METRICS)) -> dict[str, list[float]]:
    """The metrics of each item of ``estimate`` against ``clean`` (``(batch, channels,
    samples)``), as lists of floats (one per item)."""
    flat_e, flat_c = estimate.reshape(len(estimate), -1), clean.reshape(len(clean), -1)
    values: dict[str, Tensor] = {}
    for name in metrics:
        if name == "si_sdr":
            values[name] = si_sdr(flat_e, flat_c)
        elif name == "sdr":
            values[name] = sdr(flat_e, flat_c)
        elif name == "mrstft":
            values[name] = mrstft_distance(estimate, clean)
        elif name == "r_nonlin":
            values[name] = r_nonlin(estimate, clean, sample_rate)
        else:
            raise ValueError(f"metrics must be names of {list(METRICS)}, got {name!r}")
    return {k: [float(x) for x in v.detach().reshape(-1).cpu()] for k, v in values.items()}


def result_rows(group: str | Sequence[str], method: str, metrics: Mapping[str, list[float]],
                item_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """One row per item: ``{"group", "method", "item", <metric>: value}``; ``group`` is one name
    for every item or one per item."""
    count = len(next(iter(metrics.values())))
    groups = [group] * count if isinstance(group, str) else list(group)
    ids = list(range(count)) if item_ids is None else list(item_ids)
    return [{"group": groups[i], "method": method, "item": ids[i],
             **{k: v[i] for k, v in metrics.items()}} for i in range(count)]


def summarise(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Median, first and third quartile and count per (group, method, metric), in the order the
    groups and methods first appear."""
    table: dict[tuple[str, str], dict[str, list[float]]] = {}
    for row in rows:
        cell = table.setdefault((row["group"], row["method"]), {})
        for key in METRICS:
            if key in row and row[key] is not None and np.isfinite(row[key]):
                cell.setdefault(key, []).append(float(row[key]))
    out = []
    for (group, method), cell in table.items():
        for key, values in cell.items():
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            out.append({"group": group, "method": method, "metric": key, "median": float(median),
                        "q1": float(q1), "q3": float(q3), "count": len(values)})
    return out


def markdown_table(summary: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown table: a row per (group, method), a column per metric, each cell
    ``median [q1, q3]``."""
    metrics = [m for m in METRICS if any(s["metric"] == m for s in summary)]
    rows: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for s in summary:
        rows.setdefault((s["group"], s["method"]), {})[s["metric"]] = s
    header = "| degradation | method | items | " + " | ".join(
        f"{METRICS[m][0]} {'↑' if METRICS[m][1] else '↓'}" for m in metrics) + " |"
    lines = [header, "|" + "---|" * (3 + len(metrics))]
    for (group, method), cells in rows.items():
        count = max(c["count"] for c in cells.values())
        shown = [f"{cells[m]['median']:.3g} [{cells[m]['q1']:.3g}, {cells[m]['q3']:.3g}]"
                 if m in cells else "-" for m in metrics]
        lines.append(f"| {group} | {method} | {count} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def box_plots(rows: Sequence[Mapping[str, Any]], folder: Path) -> list[Path]:
    """One PNG per metric, ``removal_<metric>.png``: a panel per group, a box per method (the
    paper's figures). Needs matplotlib; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(r["group"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    written = []
    for key, (label, higher) in METRICS.items():
        if not any(key in r for r in rows):
            continue
        fig, axes = plt.subplots(1, len(groups), figsize=(2.2 + 1.1 * len(methods) * len(groups),
                                                          3.2), squeeze=False, sharey=True)
        for ax, group in zip(axes[0], groups, strict=True):
            data = [[r[key] for r in rows if r["group"] == group and r["method"] == m
                     and key in r and np.isfinite(r[key])] for m in methods]
            ax.boxplot([d if d else [np.nan] for d in data], showfliers=True)
            ax.set_xticks(range(1, len(methods) + 1), methods, rotation=45, ha="right")
            ax.set_title(group, fontsize=9)
            ax.grid(axis="y", alpha=0.3)
        axes[0][0].set_ylabel(f"{label} ({'higher' if higher else 'lower'} is better)")
        fig.tight_layout()
        path = folder / f"removal_{key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def write_results(folder: str | Path, rows: Sequence[Mapping[str, Any]],
                  figures: bool | None = None) -> list[Path]:
    """Write the rows and their summary to ``removal_results.json``, the table to
    ``removal_results.md`` and, with ``figures``, the box plots, into ``folder`` (created if
    needed; these files are replaced). ``figures=None`` draws them when matplotlib is
    installed. Returns the files written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    (out / RESULT_FILES[0]).write_text(json.dumps({"summary": summary, "rows": list(rows)},
                                                  indent=1) + "\n")
    (out / RESULT_FILES[1]).write_text(markdown_table(summary))
    written = [out / name for name in RESULT_FILES]
    if figures is None:
        figures = matplotlib_available()
    if figures:
        written += box_plots(rows, out)
    return written


__all__ = ["METRICS", "RESULT_FILES", "box_plots", "item_metrics", "markdown_table",
           "result_rows", "summarise", "write_results"]
