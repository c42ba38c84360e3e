"""CPU seconds inside the work the defaults ask for whatever the Python around it costs:
fastText's predict calls (both language-ID models, and the quality classifier where one
is loaded; every fastText model goes through `_FastText.predict`) and the MinHash
signatures. Subtracted from a stage's CPU seconds it leaves "the rest": the part a rewrite
of our code could still shrink. Datatrove's CPU seconds over this floor is the highest
ratio any such rewrite could reach.

Counts only this process: run the stages with one worker (bench/profile_stages.py sets
`workers: 1`; bench/ours_pipeline.py is pinned to one core, so `auto` is one worker)."""

from __future__ import annotations

import time
from typing import Any

KEYS = ("fasttext", "minhash")


class FloorMeters:
    """Wraps the floor's calls once per process; `take()` returns the seconds since the
    last `take()` and starts again."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(KEYS, 0.0)

    def install(self) -> "FloorMeters":
        import fasttext.FastText as ft

        from curation_platform import minhash

        self._wrap(ft._FastText, "predict", "fasttext")
        if hasattr(minhash, "signatures"):  # an older checkout (profile_stages --repo) may hash elsewhere
            self._wrap(minhash, "signatures", "minhash")  # looked up by name where it is called
        return self

    def _wrap(self, owner: Any, attr: str, key: str) -> None:
        fn = getattr(owner, attr)

        def timed(*args, **kwargs):
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[key] += time.process_time() - t0

        setattr(owner, attr, timed)

    def take(self) -> dict[str, float]:
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        self.seconds = dict.fromkeys(KEYS, 0.0)
        return out


def ceiling(other_cpu_seconds: float, floor_cpu_seconds: float) -> float | None:
    """The end-to-end ratio (other / ours, per CPU-second) if everything of ours but the
    floor cost nothing."""
    return round(other_cpu_seconds / floor_cpu_seconds, 2) if floor_cpu_seconds else None
