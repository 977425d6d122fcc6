"""The site's figures, drawn with matplotlib (Agg, PNG): one function per figure, data in, file out.

* :func:`cd_diagram` — a critical-difference diagram (Demšar 2006, Fig. 1): mean ranks on an
  axis, best on the left, the Nemenyi CD as a bar, and a thick line joining each group of methods
  that are not significantly different.
* :func:`pareto` — cost against faithfulness: explanations per second (log scale) against the
  faithfulness mean rank, with the Pareto front (no other method is both faster and better ranked).
* :func:`rank_heatmap` — methods × tasks, the category rank in each task.
* :func:`agreement_matrix` — Kendall τ-b between the metrics' method rankings.
* :func:`removal_curves` — mean deletion and insertion curves of each method on one task.
* :func:`image_gallery` — attributions over the images: one row per instance, the input and one
  column per method, each attribution a diverging heat map over the greyed input, symmetric
  around 0 and scaled by its own largest |φ|.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

DPI = 110


def _plt():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return path


def cd_diagram(methods: Sequence[str], mean_rank: Sequence[float], groups: Sequence[Sequence[int]],
               cd: float | None, title: str, path: Path) -> Path:
    """``groups``: method indices of each group (only groups of two or more are drawn)."""
    plt = _plt()
    k = len(methods)
    order = np.argsort(mean_rank, kind="stable")
    lo, hi = 1, max(k, 2)
    half = (k + 1) // 2  # the better half is labelled on the left, the rest on the right
    height = 1.3 + 0.28 * half
    fig, ax = plt.subplots(figsize=(8, height))
    ax.set_xlim(lo - 0.3, hi + 0.3)
    ax.set_ylim(0, height)
    ax.axis("off")
    top = height - 0.55
    ax.hlines(top, lo, hi, color="black", lw=1)
    for r in range(lo, hi + 1):
        ax.vlines(r, top, top + 0.1, color="black", lw=1)
        ax.text(r, top + 0.15, str(r), ha="center", va="bottom", fontsize=8)
    for position, i in enumerate(order.tolist()):
        x = mean_rank[i]
        left = position < half
        y = top - 0.35 - 0.28 * (position if left else k - 1 - position)
        end = lo - 0.2 if left else hi + 0.2
        ax.plot([x, x, end], [top, y, y], color="black", lw=0.8)
        ax.text(end - 0.05 if left else end + 0.05, y, f"{methods[i]} ({x:.2f})", ha="right" if left else "left",
                va="center", fontsize=8)
    if cd:
        ax.hlines(height - 0.15, lo, lo + cd, color="black", lw=2)
        ax.text(lo + cd / 2, height - 0.1, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
    drawn = 0
    for group in groups:
        if len(group) < 2:
            continue
        ranks = [mean_rank[i] for i in group]
        y = top - 0.15 - 0.08 * drawn
        ax.hlines(y, min(ranks) - 0.03, max(ranks) + 0.03, color="tab:red", lw=3)
        drawn += 1
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def pareto(points: Sequence[tuple[str, float, float]], path: Path) -> Path:
    """``points``: ``(method, explanations per second, faithfulness mean rank)``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = [p[0] for p in points]
    speed = np.array([p[1] for p in points], float)
    rank = np.array([p[2] for p in points], float)
    front = pareto_front(speed, rank)
    ax.scatter(speed, rank, color=["tab:red" if f else "tab:blue" for f in front], zorder=3)
    for name, x, y in zip(names, speed, rank):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    idx = np.flatnonzero(front)
    idx = idx[np.argsort(speed[idx])]
    if idx.size:
        ax.step(speed[idx], rank[idx], where="post", color="tab:red", lw=1, label="Pareto front")
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("explanations per second (geometric mean over tasks; log scale)")
    ax.set_ylabel("faithfulness mean rank (better up)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def pareto_front(speed: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """True for each point that no other point dominates (at least as fast and as well ranked, and
    strictly better in one)."""
    better_or_equal = (speed[None, :] >= speed[:, None]) & (rank[None, :] <= rank[:, None])
    strictly = (speed[None, :] > speed[:, None]) | (rank[None, :] < rank[:, None])
    return ~(better_or_equal & strictly).any(axis=1)


def rank_heatmap(methods: Sequence[str], tasks: Sequence[str], ranks: np.ndarray, title: str, path: Path) -> Path:
    """``ranks``: ``(methods, tasks)``, NaN where a method has no rank."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5, 1.2 + 0.35 * len(tasks)), max(2.5, 0.8 + 0.3 * len(methods))))
    cmap = plt.get_cmap("viridis_r").with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(ranks), cmap=cmap, aspect="auto")
    ax.set_yticks(range(len(methods)), methods, fontsize=7)
    ax.set_xticks(range(len(tasks)), tasks, rotation=60, ha="right", fontsize=7)
    fig.colorbar(image, ax=ax, label="rank in the task (1 = best; grey: none)")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def agreement_matrix(metrics: Sequence[str], tau: np.ndarray, path: Path) -> Path:
    plt = _plt()
    m = len(metrics)
    fig, ax = plt.subplots(figsize=(max(4, 1.5 + 0.5 * m), max(3.5, 1 + 0.45 * m)))
    cmap = plt.get_cmap("RdBu").with_extremes(bad="#dddddd")
    shown = tau.copy()
    np.fill_diagonal(shown, 1.0)
    image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=-1, vmax=1)
    for i in range(m):
        for j in range(m):
            if i != j and np.isfinite(tau[i, j]):
                ax.text(j, i, f"{tau[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(tau[i, j]) > 0.6 else "black")
    ax.set_xticks(range(m), metrics, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(m), metrics, fontsize=7)
    fig.colorbar(image, ax=ax, label="Kendall τ-b (mean over tasks)")
    return _save(fig, path)


def removal_curves(panels: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]], title: str,
                   path: Path) -> Path:
    """``panels``: metric label → method → ``(fractions, mean normalised curve)``."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, (metric, series) in zip(axes[0], panels.items()):
        for method, (x, y) in series.items():
            ax.plot(x, y, label=method, lw=1.2)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("fraction of players removed" if "deletion" in metric else "fraction of players inserted")
        ax.set_ylabel("normalised output")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def image_gallery(inputs: np.ndarray, columns: Sequence[tuple[str, np.ndarray]], title: str, path: Path) -> Path:
    """``inputs``: ``(n, C, H, W)``; ``columns``: ``(method, attributions (n, C, H, W))``."""
    plt = _plt()
    n, cols = len(inputs), 1 + len(columns)
    fig, axes = plt.subplots(n, cols, figsize=(1.25 * cols + 0.3, 1.3 * n + 0.4), squeeze=False)
    for row in range(n):
        grey = _grey(inputs[row])
        axes[row][0].imshow(grey, cmap="gray")
        for col, (method, phi) in enumerate(columns, 1):
            heat = np.asarray(phi[row], float).sum(axis=0)
            scale = float(np.abs(heat).max()) or 1.0
            axes[row][col].imshow(grey, cmap="gray", alpha=0.45)
            axes[row][col].imshow(heat, cmap="bwr", vmin=-scale, vmax=scale, alpha=0.75)
    for col, name in enumerate(["input"] + [m for m, _ in columns]):
        axes[0][col].set_title(name, fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def _grey(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` → ``(H, W)`` in [0, 1]."""
    flat = np.asarray(image, float).mean(axis=0)
    span = flat.max() - flat.min()
    return (flat - flat.min()) / span if span > 0 else np.zeros_like(flat)
