"""Small PNG charts for asset metadata (what a person would rather look at than numbers)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def retention_chart(rows: list[dict], title: str = "Documents per language") -> bytes:
    """Grouped bars: docs in / kept by policy / released, per language."""
    rows = rows[:25]
    langs = [r["lang"] for r in rows]
    series = [("docs_in", "in"), ("kept_policy", "kept by policy"), ("kept_final", "released")]
    fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(langs) + 2), 3.4))
    width = 0.8 / len(series)
    for k, (key, label) in enumerate(series):
        ax.bar([i + k * width for i in range(len(langs))], [r.get(key, 0) or 0 for r in rows], width, label=label)
    ax.set_xticks([i + width for i in range(len(langs))], langs, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("documents")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _png(fig)


def bar_chart(counts: dict[str, float], title: str, xlabel: str = "") -> bytes:
    items = sorted(counts.items(), key=lambda kv: -kv[1])[:20]
    fig, ax = plt.subplots(figsize=(6, max(2.0, 0.3 * len(items) + 1)))
    ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1], color="#4c72b0")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.tick_params(labelsize=8)
    return _png(fig)


def histogram(values: list[int], title: str, xlabel: str, ylabel: str = "clusters") -> bytes:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(values or [0], bins=min(30, max(1, len(set(values)))), color="#55a868")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _png(fig)


def history_chart(series: dict[str, list[float]], title: str, ylabel: str) -> bytes:
    """One line per series (e.g. a language's score per evaluation round)."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, ys in sorted(series.items())[:12]:
        ax.plot(range(1, len(ys) + 1), ys, marker="o", label=name)
    ax.set_title(title)
    ax.set_xlabel("evaluation round")
    ax.set_ylabel(ylabel)
    if series:
        ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def markdown_image(png: bytes, alt: str) -> str:
    """Inline PNG for Dagster's markdown metadata (rendered in the asset page)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "_no rows_"
    columns = columns or list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(f"{r.get(c):.4g}" if isinstance(r.get(c), float) else str(r.get(c)) for c in columns) + " |")
    return "\n".join(out)


def confusion_matrix(confusion: dict[str, dict[str, int]], title: str) -> bytes:
    """Row-normalised confusion heat map (gold rows, predicted columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gold = sorted(confusion)
    cols = sorted({p for row in confusion.values() for p in row} | set(gold))
    fig, ax = plt.subplots(figsize=(0.42 * len(cols) + 2, 0.42 * len(gold) + 1.5))
    grid = [[confusion[g].get(c, 0) / max(1, sum(confusion[g].values())) for c in cols] for g in gold]
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(cols)), [c.split("_")[0] for c in cols], rotation=90, fontsize=7)
    ax.set_yticks(range(len(gold)), [g.split("_")[0] for g in gold], fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=9)
    return _png(fig)


def language_plan_chart(plan: dict, title: str = "Language plan: distance to the nearest selected language") -> bytes:
    """Left: each target's URIEL distance to its nearest selected language, with the worst
    coverage of the selected set, a random set of the same size and all candidates.
    Right: the distance matrix, selected languages marked with *."""
    cov = plan.get("coverage", {})
    base = plan.get("baselines", {})
    codes = sorted(plan.get("distances", {}))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, max(3.4, 0.3 * len(cov) + 1.5)))
    targets = sorted(cov, key=lambda t: cov[t]["distance"])
    ax1.barh(targets, [cov[t]["distance"] for t in targets], color="#4c72b0")
    styles = {"selected": ("#c44e52", "-"), "random_k": ("#8c8c8c", "--"), "all_candidates": ("#55a868", ":")}
    for name, (color, style) in styles.items():
        if name in base:
            ax1.axvline(base[name]["worst"], color=color, linestyle=style, label=f"worst, {name} ({base[name]['worst']:.3f})")
    ax1.set_xlabel("distance to nearest selected (0 = selected)")
    ax1.tick_params(labelsize=8)
    if base:
        ax1.legend(fontsize=7, loc="lower right")
    ax1.set_title(title, fontsize=9)
    if codes:
        grid = [[plan["distances"][a][b] for b in codes] for a in codes]
        ax2.imshow(grid, cmap="viridis_r", vmin=0, vmax=max(0.5, max(max(r) for r in grid)))
        chosen = set(plan.get("selected", []))
        labels = [f"{c.split('_')[0]}{'*' if c in chosen else ''}" for c in codes]
        ax2.set_xticks(range(len(codes)), labels, rotation=90, fontsize=7)
        ax2.set_yticks(range(len(codes)), labels, fontsize=7)
        ax2.set_title("URIEL distance (* = selected)", fontsize=9)
    return _png(fig)
