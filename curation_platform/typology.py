"""Typology-guided language selection for realignment and cross-lingual transfer.

A typologically diverse subset of languages realigns a multilingual model about as
well as all of them and generalises better to unseen low-resource languages ("Rethinking
what Matters: Effective and Robust Multilingual Realignment for Low-Resource Languages",
Nov 2025). Distances come from the URIEL database as shipped in the `lang2vec` wheel.

We read lang2vec's data files (numpy `.npz`) directly and never import the package:
lang2vec 1.1.2 imports `pkg_resources`, which setuptools >= 81 no longer ships, and
pinning an old setuptools into every environment to read five arrays is not worth it.

Distance between two languages: the weighted mean, over components, of the cosine
distance of their URIEL vectors (syntax, phonology and inventory from the k-NN
predicted features, so no value is missing; genetic from family-tree membership;
geographic from the geocoordinate features), as in lang2vec's own distances.

Selection (`select`): greedy, deterministic, in two phases.
1. Coverage (k-center with facility-location tie-break): add the candidate that most
   lowers the worst target's distance to its nearest selected language, then the mean
   of those distances; ties go to the candidate farthest from those already selected,
   then to the code.
2. Diversity: once no candidate improves coverage, fill the remaining slots by max-min
   (farthest-point) distance to the selected set.
"""

from __future__ import annotations

import importlib.metadata
import random
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

COMPONENTS: dict[str, tuple[str, str]] = {
    "syntax": ("feature_predictions.npz", "S_"),
    "phonology": ("feature_predictions.npz", "P_"),
    "inventory": ("feature_predictions.npz", "INV_"),
    "genetic": ("family_features.npz", "F_"),
    "geographic": ("geocoord_features.npz", "GC_"),
}
DEFAULT_WEIGHTS = {name: 1.0 for name in COMPONENTS}


def uriel_dir() -> Path:
    """The data folder of the installed lang2vec wheel, found from its distribution
    metadata without importing it (the wheel also installs a `lang2vec.py` script that
    shadows the package when a console script runs from the same bin folder)."""
    try:
        dist = importlib.metadata.distribution("lang2vec")
    except importlib.metadata.PackageNotFoundError as exc:
        raise RuntimeError("the URIEL data needs the 'lang2vec' package (pip install lang2vec)") from exc
    path = Path(str(dist.locate_file("lang2vec/data")))
    if not (path / "family_features.npz").is_file():
        raise RuntimeError(f"URIEL data files not found in {path}")
    return path


class _SparseRows:
    """A languages x features table kept as its non-zero cells: URIEL's family table is
    7,970 x 3,718 float32 (118 MB) with 0.15 % of its cells set, and every label-stage
    worker holds one. `table[rows]` gives those rows dense, as float64."""

    def __init__(self, indptr: np.ndarray, cols: np.ndarray, vals: np.ndarray, width: int):
        self.indptr, self.cols, self.vals, self.width = indptr, cols, vals, width

    def __getitem__(self, rows: Sequence[int]) -> np.ndarray:
        out = np.zeros((len(rows), self.width))
        for i, r in enumerate(rows):
            a, b = self.indptr[r], self.indptr[r + 1]
            out[i, self.cols[a:b]] = self.vals[a:b]
        return out


def _read_sparse(path: Path, member: str, feats: np.ndarray, chunk_rows: int = 256) -> _SparseRows:
    """The 3-d `member` array of an .npz (languages x features x sources), source 0 of the
    `feats` columns, read a few hundred rows at a time (never the whole array in memory)."""
    cols_all, vals_all, counts = [], [], []
    with zipfile.ZipFile(path) as zf, zf.open(member + ".npy") as fh:
        version = np.lib.format.read_magic(fh)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(fh)
        if fortran or len(shape) != 3:
            raise ValueError(f"{path}:{member}: expected a C-order 3-d array, got shape {shape}")
        per_row = shape[1] * shape[2]
        for start in range(0, shape[0], chunk_rows):
            n = min(chunk_rows, shape[0] - start)
            block = np.frombuffer(fh.read(n * per_row * dtype.itemsize), dtype=dtype).reshape(n, shape[1], shape[2])[:, feats, 0]
            r, c = np.nonzero(block)
            cols_all.append(c.astype(np.int32))
            vals_all.append(block[r, c].astype(np.float32))
            counts.append(np.bincount(r, minlength=n))
    indptr = np.concatenate(([0], np.cumsum(np.concatenate(counts))))
    return _SparseRows(indptr, np.concatenate(cols_all), np.concatenate(vals_all), int(feats.sum()))


@lru_cache(maxsize=8)
def _table(filename: str, prefix: str, data_dir: str) -> tuple[dict[str, int], _SparseRows]:
    path = Path(data_dir) / filename
    with np.load(path) as db:
        langs = [str(x) for x in db["langs"]]
        feats = np.array([str(f).startswith(prefix) for f in db["feats"]])
    return {code: i for i, code in enumerate(langs)}, _read_sparse(path, "data", feats)


def load_tables(components: Sequence[str], data_dir: Path | None = None) -> None:
    """Read the tables of these components now (they are read once per process, when first
    needed): a fork server that loads them shares them with every worker."""
    for name in components:
        _table(*COMPONENTS[name], str(data_dir or uriel_dir()))


def lang3(code: str) -> str:
    """URIEL is keyed by ISO 639-3: `jav_Java` -> `jav`; other codes through our normaliser."""
    from curation_platform.langid import flores_code

    return flores_code(code).split("_")[0]


def known(codes: Sequence[str], data_dir: Path | None = None) -> list[str]:
    index, _ = _table(*COMPONENTS["genetic"], str(data_dir or uriel_dir()))
    return [c for c in codes if lang3(c) in index]


def _cosine_distances(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1)
    safe = np.where(norms == 0, 1.0, norms)
    unit = vectors / safe[:, None]
    sim = np.clip(unit @ unit.T, -1.0, 1.0)
    dist = 1.0 - sim
    zero = norms == 0  # no data for a language in this component: maximally uncertain
    dist[zero, :] = 1.0
    dist[:, zero] = 1.0
    np.fill_diagonal(dist, 0.0)
    return dist


def distance_matrix(codes: Sequence[str], weights: Mapping[str, float] | None = None, data_dir: Path | None = None) -> np.ndarray:
    """Weighted mean of per-component cosine distances, in [0, 1] (codes must be in URIEL)."""
    data_dir = str(data_dir or uriel_dir())
    weights = {k: float(v) for k, v in (weights or DEFAULT_WEIGHTS).items() if float(v) > 0}
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown URIEL components {sorted(unknown)}; use {sorted(COMPONENTS)}")
    total = np.zeros((len(codes), len(codes)))
    for name, w in weights.items():
        index, data = _table(*COMPONENTS[name], data_dir)
        rows = [index[lang3(c)] for c in codes]
        total += w * _cosine_distances(data[rows])
    return np.round(total / sum(weights.values()), 6)


@dataclass
class Selection:
    selected: list[str]
    coverage: dict[str, tuple[str, float]]          # target -> (nearest selected, distance)
    phases: list[str] = field(default_factory=list)  # why each language was added

    @property
    def worst(self) -> float:
        return max((d for _, d in self.coverage.values()), default=0.0)

    @property
    def mean(self) -> float:
        return float(np.mean([d for _, d in self.coverage.values()])) if self.coverage else 0.0


def _coverage(dist: np.ndarray, targets: list[int], chosen: list[int]) -> np.ndarray:
    return dist[np.ix_(targets, chosen)].min(axis=1) if chosen else np.full(len(targets), np.inf)


def select(targets: Sequence[str], candidates: Sequence[str], k: int, dist: np.ndarray, codes: Sequence[str]) -> Selection:
    """k candidates by the two-phase greedy in the module docstring (`codes` index `dist`)."""
    pos = {c: i for i, c in enumerate(codes)}
    t_idx = [pos[t] for t in targets]
    pool = sorted(set(candidates), key=lambda c: c)
    chosen: list[int] = []
    phases: list[str] = []
    while len(chosen) < min(k, len(pool)):
        cov = _coverage(dist, t_idx, chosen)
        best, best_key, phase = None, None, "coverage"
        for c in pool:
            i = pos[c]
            if i in chosen:
                continue
            new = np.minimum(cov, dist[t_idx, i]) if len(t_idx) else np.zeros(0)
            spread = float(dist[i, chosen].min()) if chosen else 1.0
            key = (round(float(new.max()) if len(new) else 0.0, 6), round(float(new.mean()) if len(new) else 0.0, 6), -round(spread, 6), c)
            if best_key is None or key < best_key:
                best, best_key = i, key
        improves = not chosen or (len(t_idx) and (best_key[0] < round(float(cov.max()), 6) or best_key[1] < round(float(cov.mean()), 6)))
        if not improves:  # coverage is saturated: the rest of the slots buy diversity
            phase = "diversity"
            best = max((pos[c] for c in pool if pos[c] not in chosen), key=lambda i: (round(float(dist[i, chosen].min()), 6), -i))
        chosen.append(best)
        phases.append(phase)
    cov = _coverage(dist, t_idx, chosen)
    nearest = [chosen[int(j)] for j in dist[np.ix_(t_idx, chosen)].argmin(axis=1)] if chosen and t_idx else []
    coverage = {t: (codes[n], round(float(d), 4)) for t, n, d in zip(targets, nearest, cov)}
    return Selection([codes[i] for i in chosen], coverage, phases)


def coverage_of(selected: Sequence[str], targets: Sequence[str], dist: np.ndarray, codes: Sequence[str]) -> tuple[float, float]:
    """(worst, mean) distance from each target to its nearest language in `selected`."""
    pos = {c: i for i, c in enumerate(codes)}
    cov = _coverage(dist, [pos[t] for t in targets], [pos[s] for s in selected])
    return (round(float(cov.max()), 4), round(float(cov.mean()), 4)) if len(cov) else (0.0, 0.0)


def diversity(selected: Sequence[str], dist: np.ndarray, codes: Sequence[str]) -> float:
    """Mean pairwise distance within a set: how different the selected languages are."""
    pos = [{c: i for i, c in enumerate(codes)}[s] for s in selected]
    if len(pos) < 2:
        return 0.0
    sub = dist[np.ix_(pos, pos)]
    return round(float(sub[np.triu_indices(len(pos), 1)].mean()), 4)


def random_baseline(targets: Sequence[str], candidates: Sequence[str], k: int, dist: np.ndarray, codes: Sequence[str],
                    trials: int = 200, seed: int = 0) -> dict:
    """Coverage of random k-subsets of the candidates (seeded, so the report is deterministic)."""
    rng = random.Random(seed)
    pool = sorted(set(candidates))
    k = min(k, len(pool))
    worst, mean, div = [], [], []
    for _ in range(trials):
        pick = rng.sample(pool, k)
        w, m = coverage_of(pick, targets, dist, codes)
        worst.append(w)
        mean.append(m)
        div.append(diversity(pick, dist, codes))
    return {"worst": round(float(np.mean(worst)), 4), "mean": round(float(np.mean(mean)), 4), "diversity": round(float(np.mean(div)), 4),
            "worst_values": worst, "trials": trials}


def closest(lang: str, options: Sequence[str], dist: np.ndarray, codes: Sequence[str]) -> str | None:
    """The option nearest to `lang` (ties by code), never `lang` itself."""
    pos = {c: i for i, c in enumerate(codes)}
    opts = sorted((round(float(dist[pos[lang], pos[o]]), 6), o) for o in options if o != lang and o in pos)
    return opts[0][1] if opts and lang in pos else None


def plan_languages(targets: Sequence[str], candidates: Sequence[str], cfg: Mapping, pivot_options: Sequence[str] = (),
                   data_dir: Path | None = None) -> dict:
    """The whole plan as plain data: selection, baselines, pivots, and what URIEL lacks."""
    targets, candidates = sorted(set(targets)), sorted(set(candidates))
    missing = sorted(set(targets + candidates + list(pivot_options)) - set(known(targets + candidates + list(pivot_options), data_dir)))
    targets = [t for t in targets if t not in missing]
    candidates = [c for c in candidates if c not in missing]
    pivots = [p for p in pivot_options if p not in missing]
    codes = sorted(set(targets + candidates + pivots))
    k = int(cfg.get("k", 5))
    dist = distance_matrix(codes, cfg.get("components"), data_dir) if codes else np.zeros((0, 0))
    piv = {t: closest(t, pivots, dist, codes) for t in targets} if pivots else {}
    if not targets or not candidates:  # nothing to select from: pivots still stand
        return {"targets": targets, "candidates": candidates, "k": k, "selected": [], "phases": [], "coverage": {}, "baselines": {},
                "pivots": piv, "missing_in_uriel": missing, "components": dict(cfg.get("components") or DEFAULT_WEIGHTS),
                "distances": {a: {b: float(dist[i, j]) for j, b in enumerate(codes)} for i, a in enumerate(codes)}}
    sel = select(targets, candidates, k, dist, codes)
    rnd = random_baseline(targets, candidates, k, dist, codes, int(cfg.get("random_trials", 200)), int(cfg.get("seed", 0)))
    all_w, all_m = coverage_of(candidates, targets, dist, codes)
    beats = sum(w > sel.worst for w in rnd.pop("worst_values")) / rnd["trials"]
    return {
        "targets": targets, "candidates": candidates, "k": k, "selected": sel.selected, "phases": sel.phases,
        "coverage": {t: {"nearest": n, "distance": d} for t, (n, d) in sel.coverage.items()},
        "baselines": {
            "selected": {"size": len(sel.selected), "worst": round(sel.worst, 4), "mean": round(sel.mean, 4), "diversity": diversity(sel.selected, dist, codes)},
            "all_candidates": {"size": len(candidates), "worst": all_w, "mean": all_m, "diversity": diversity(candidates, dist, codes)},
            "random_k": {"size": min(k, len(candidates)), **rnd, "share_worse_than_selected": round(beats, 4)},
        },
        "pivots": piv,
        "missing_in_uriel": missing,
        "components": dict(cfg.get("components") or DEFAULT_WEIGHTS),
        "distances": {a: {b: float(dist[i, j]) for j, b in enumerate(codes)} for i, a in enumerate(codes)},
    }
