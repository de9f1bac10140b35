"""Figures (matplotlib, an optional extra): the accuracy-vs-k curves of ``lassonet path`` and
the conv1 filters of a conv model (``select --filters-out``)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from .errors import ConfigError

PLOT_FORMATS = (".png", ".svg")
GRID_TICKS = 12  # an accuracy-vs-k figure labels each k of a grid of at most this many


def accuracy_vs_k_figure(table: pd.DataFrame, score_name: str, title: str, fmt: str,
                         noun: str = "features") -> bytes:
    """The three curves of SPEC 3.3 (score against k, log-x) as PNG or SVG bytes; ``noun``:
    what k counts ('features', or 'filters' kept of a conv backbone's conv1)."""
    plt = require_matplotlib("--plot")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    k = table["k"].to_numpy()
    ax.plot(k, table["lassonet_score"], "o-", label=f"LassoNet path model (<= k {noun})")
    ax.plot(k, table["refit_score"], "s-", label="refit on LassoNet's top k")
    spread = table.get("random_score_sd")  # absent with one random set per k
    random_label = f"refit on random k {noun}" + ("" if spread is None else " (mean ± sd)")
    ax.errorbar(k, table["random_score"], yerr=spread, fmt="^--", capsize=3, label=random_label)
    ax.set_xscale("log")
    if len(k) <= GRID_TICKS:  # the grid's own values, not powers of ten, on the axis
        ax.set_xticks(k, [str(v) for v in k])
        ax.minorticks_off()
    ax.set_xlabel(f"k ({noun} kept)")
    ax.set_ylabel(f"test {score_name}")
    ax.set_title(title, parse_math=False)  # (a file or column name is text, not TeX)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return _figure_bytes(plt, fig, fmt)


def filters_figure(weights: np.ndarray, alive: np.ndarray, names: list[str], fmt: str) -> bytes:
    """conv1's filters as a grid of small greyscale images; dead filters are left blank.

    Parameters
    ----------
    weights : (C1, C, k, k) conv1 weight; a filter's C input channels are drawn side by side
    alive : (C1,) bool, the filters in the chosen model
    names : (C1,) filter names, the panel titles
    fmt : 'png' or 'svg'
    """
    plt = require_matplotlib("--filters-out")
    C1, C, k, _ = weights.shape
    # channels side by side, separated by a blank (NaN) column
    tiles = np.full((C1, k, C * (k + 1) - 1), np.nan)
    for c in range(C):
        tiles[:, :, c * (k + 1) : c * (k + 1) + k] = weights[:, c]
    cols = min(C1, 8)
    rows = math.ceil(C1 / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.65 * rows), dpi=120,
                             squeeze=False)
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= C1:
            ax.axis("off")
            continue
        ax.set_title(names[j] if alive[j] else f"{names[j]} (out)", fontsize=7)
        bound = (np.nanmax(np.abs(tiles[j])) if alive[j] else 0.0) or 1.0
        # a dead filter: an all-blank (NaN) tile of the same size
        ax.imshow(tiles[j] if alive[j] else np.full_like(tiles[j], np.nan), cmap="gray",
                  vmin=-bound, vmax=bound)
    fig.suptitle(f"conv1 filters: {int(np.sum(alive))} of {C1} alive", fontsize=9)
    fig.tight_layout()
    return _figure_bytes(plt, fig, fmt)


STABILITY_LINES = 200  # the unstable features drawn, at most: those most often selected


def stability_figure(ks: np.ndarray, probabilities: np.ndarray, names: list[str],
                     stable: np.ndarray, q: int, pi_thr: float, title: str, fmt: str,
                     noun: str = "features") -> bytes:
    """Stability paths: each feature's selection probability against k (log-x); the stable
    features in colour and named, the others grey (at most ``STABILITY_LINES`` of them).

    Parameters
    ----------
    ks : (m,) the ks; probabilities : (p, m); names : (p,); stable : (p,) bool
    q, pi_thr : drawn as a vertical and a horizontal line
    noun : what k counts ('features', or with groups 'groups and features')
    """
    plt = require_matplotlib("--plot")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    others = np.flatnonzero(~stable)
    others = others[np.argsort(-probabilities[others].mean(axis=1), kind="stable")]
    for j in others[:STABILITY_LINES]:
        ax.plot(ks, probabilities[j], color="0.75", linewidth=0.7)
    for n, j in enumerate(np.flatnonzero(stable)):  # the legend names the first 20
        ax.plot(ks, probabilities[j], linewidth=1.4, label=str(names[j]) if n < 20 else None)
    ax.axhline(pi_thr, color="black", linestyle="--", linewidth=0.8)
    ax.axvline(q, color="black", linestyle=":", linewidth=0.8)
    ax.set_xscale("log")
    _count_ticks(ax, int(np.max(ks)))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"k (top {noun} per subsample path)")
    ax.set_ylabel("selection probability")
    ax.set_title(title, parse_math=False)  # (a file or column name is text, not TeX)
    ax.grid(True, which="both", alpha=0.3)
    if stable.any():
        legend = ax.legend(loc="upper left", fontsize="x-small",
                           ncol=2 if stable.sum() > 10 else 1)
        for label in legend.get_texts():  # column names
            label.set_parse_math(False)
    fig.tight_layout()
    return _figure_bytes(plt, fig, fmt)


def _count_ticks(ax, top: int) -> None:
    """Label a log x axis of counts from 1 to ``top`` with plain integers: every count up to
    ``GRID_TICKS``, else 1, 2, 5, 10, 20, 50, ... (matplotlib's own labels of a short log axis
    read 2×10^0)."""
    from matplotlib.ticker import NullFormatter

    if top <= GRID_TICKS:
        ticks = list(range(1, top + 1))
    else:
        ticks = [m * 10 ** e for e in range(len(str(top))) for m in (1, 2, 5)
                 if m * 10 ** e <= top]
    ax.set_xticks(ticks, [str(v) for v in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def require_matplotlib(option: str):
    """matplotlib.pyplot on the Agg backend; ConfigError naming ``option`` when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            f"{option} needs matplotlib: pip install 'lassonet-cli[plot]' (or pip install "
            "matplotlib)"
        ) from None
    return plt


def _figure_bytes(plt, fig, fmt: str) -> bytes:
    buffer = io.BytesIO()
    # no timestamps in the file, and (svg) ids drawn from a fixed salt rather than random
    # ones, so the same data give the same bytes
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with plt.rc_context({"svg.hashsalt": "lassonet"}):
        fig.savefig(buffer, format=fmt, metadata=metadata)
    plt.close(fig)
    return buffer.getvalue()
