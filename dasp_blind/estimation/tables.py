"""The paper's result tables (BE-AFX Tables 2–5 layout) from test runs.

``dasp-blind test --config estimation/<setting>`` writes ``test_results.json`` and
``test_results.md`` to the run's log folder (:meth:`BlindEstimator.on_test_epoch_end`): one row
per estimator plus the two baselines of the paper, "Random q̂" (the analysis effect with
uniformly random controls) and "L(x, y)" (the dry signal compared with the wet one).
:func:`markdown_table` merges the results of several runs (one per encoder, loss or effect
implementation) into one table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Columns of the tables: metric key -> header.
COLUMNS = {"mse_y": "MSE_y", "mel": "L_mel", "mse_q": "MSE_q"}


def result_rows(setting: str, encoder: str, loss: str, metrics: Mapping[str, float],
                clips: int) -> list[dict[str, Any]]:
    """The rows of one test run: the estimator and the two baselines.

    Args:
        setting: the synthesis -> analysis effects, e.g. ``"compressor -> proxy_compressor"``.
        encoder: encoder name.
        loss: training loss (``"mel"`` or ``"params"``).
        metrics: test means with keys ``mse_y``, ``mel``, optionally ``mse_q``, and the
            baselines ``random_mse_y``, ``random_mel``, ``dry_mse_y``, ``dry_mel``.
        clips: number of test clips the means are over.
    """
    def pick(prefix: str) -> dict[str, float | None]:
        return {key: (None if f"{prefix}{key}" not in metrics
                      else float(metrics[f"{prefix}{key}"])) for key in COLUMNS}

    base = {"setting": setting, "clips": clips}
    return [{**base, "method": f"{encoder} ({loss} loss)", **pick("")},
            {**base, "method": "Random q̂", **pick("random_")},
            {**base, "method": "L(x, y)", **pick("dry_")}]


def _cell(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.4f}"


def markdown_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """A Markdown table of result rows (baselines repeated by several runs are shown once)."""
    lines = ["| setting | method | " + " | ".join(COLUMNS.values()) + " | clips |",
             "|---|---|" + "--:|" * (len(COLUMNS) + 1)]
    seen = set()
    for row in rows:
        key = (row["setting"], row["method"], tuple(row.get(k) for k in COLUMNS))
        if key in seen:
            continue
        seen.add(key)
        cells = [_cell(row.get(k)) for k in COLUMNS]
        lines.append(f"| {row['setting']} | {row['method']} | " + " | ".join(cells)
                     + f" | {row['clips']} |")
    return "\n".join(lines)


def write_results(rows: list[dict[str, Any]], folder: str | Path) -> tuple[Path, Path]:
    """Write ``test_results.json`` and ``test_results.md`` into ``folder`` (replacing the
    previous test of the same run); returns both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "test_results.json", folder / "test_results.md"
    json_path.write_text(json.dumps(rows, indent=2) + "\n")
    md_path.write_text(markdown_table(rows) + "\n")
    return json_path, md_path


def load_results(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The rows of several ``test_results.json`` files, in order."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        try:
            rows.extend(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read test results {str(path)!r}: {err}") from None
    return rows


__all__ = ["COLUMNS", "load_results", "markdown_table", "result_rows", "write_results"]
