"""Small weights shipped with the package, loaded with ``torch.load(weights_only=True)``.

* ``compressor_proxy.pt`` / ``.json``: the TCN neural proxy of the compressor (see
  ``README.md`` in this folder for how it was trained).
"""

from __future__ import annotations

import json
from importlib import resources

import torch

from ..nn.tcn import TCNCompressorProxy


def load_compressor_proxy(path: str | None = None) -> tuple[TCNCompressorProxy, dict]:
    """The shipped (or a given) compressor proxy, in eval mode, with its metadata.

    Args:
        path: a ``compressor_proxy.pt`` written by ``CompressorProxyModule``; its
            ``compressor_proxy.json`` must sit next to it. Default: the shipped weights.

    Returns:
        ``(proxy, meta)``; ``meta`` holds the architecture, ``sample_rate`` and ``controls``.
    """
    if path is None:
        weights = resources.files(__name__).joinpath("compressor_proxy.pt")
        meta_file = resources.files(__name__).joinpath("compressor_proxy.json")
    else:
        from pathlib import Path

        weights = Path(path)
        meta_file = weights.with_suffix(".json")
    meta = json.loads(meta_file.read_text())
    proxy = TCNCompressorProxy(meta["kernel_size"], meta["num_blocks"], meta["dilation_growth"],
                               meta["channels"], num_controls=len(meta["controls"]))
    with resources.as_file(weights) as weights_path:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    proxy.load_state_dict(state)
    return proxy.eval(), meta
