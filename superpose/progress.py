"""Progress over a sweep's chunks: steps/s, ETA and the current mean loss.

Owns: reporting only. A tqdm bar on a terminal; plain periodic lines otherwise (CI logs stay readable);
nothing when quiet.
"""

from __future__ import annotations

import sys
import time

import numpy as np


class Progress:
    def __init__(self, quiet: bool = False, stream=None, min_interval_s: float = 5.0) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.min_interval_s = min_interval_s
        self._bar = None

    def start(self, name: str, start_chunk: int, n_chunks: int, n_instances: int) -> None:
        self.name, self.n_chunks = name, n_chunks
        self._t0 = time.perf_counter()
        self._start_chunk = start_chunk
        self._last_line = 0.0
        if self.quiet:
            return
        if self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=n_chunks,
                initial=start_chunk,
                desc=f"{name} ({n_instances} instances)",
                unit="chunk",
                file=self.stream,
                leave=False,
            )
        else:
            print(f"{name}: {n_instances} instances, chunks {start_chunk}/{n_chunks}", file=self.stream)

    def update(self, name: str, done: int, n_chunks: int, chunk_steps: int, loss: np.ndarray) -> None:
        if self.quiet:
            return
        elapsed = time.perf_counter() - self._t0
        steps = (done - self._start_chunk) * chunk_steps
        rate = steps / elapsed if elapsed > 0 else float("nan")
        eta = (n_chunks - done) * chunk_steps / rate if rate > 0 else float("nan")
        mean_loss = float(np.nanmean(loss[:, -1]))
        if self._bar is not None:
            self._bar.set_postfix_str(f"{rate:,.0f} steps/s, loss {mean_loss:.4g}")
            self._bar.update(1)
            return
        now = time.perf_counter()
        if done == n_chunks or now - self._last_line >= self.min_interval_s:
            self._last_line = now
            print(
                f"{name}: chunk {done}/{n_chunks}, {rate:,.0f} steps/s, ETA {eta:,.0f}s, mean loss {mean_loss:.4g}",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
