"""Figures: the accuracy-vs-k curves of ``lassonet path`` (matplotlib, an optional extra)."""

from __future__ import annotations

import io

import pandas as pd

from .errors import ConfigError

PLOT_FORMATS = (".png", ".svg")


def accuracy_vs_k_figure(table: pd.DataFrame, score_name: str, title: str, fmt: str) -> bytes:
    """The three curves of SPEC 3.3 (score against k, log-x) as PNG or SVG bytes."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "--plot needs matplotlib: pip install 'lassonet-cli[plot]' (or pip install matplotlib)"
        ) from None
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    k = table["k"].to_numpy()
    ax.plot(k, table["lassonet_score"], "o-", label="LassoNet path model (<= k features)")
    ax.plot(k, table["refit_score"], "s-", label="refit on LassoNet's top k")
    ax.errorbar(k, table["random_score"], yerr=table["random_score_sd"], fmt="^--", capsize=3,
                label="refit on random k features (mean ± sd)")
    ax.set_xscale("log")
    ax.set_xlabel("k (number of features)")
    ax.set_ylabel(f"test {score_name}")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    # no timestamps in the file, so the same table gives the same bytes
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata)
    plt.close(fig)
    return buffer.getvalue()
