"""Progress over a sweep's chunks: steps/s, ETA and the current mean loss.

Owns: reporting only. A tqdm bar on a terminal; plain periodic lines otherwise (CI logs stay readable);
nothing when quiet. Called from the host between chunks (experiment.Context.sweep), so it never syncs the
device itself.

Steps/s counts training steps of the sweep (each step advances every instance) and leaves out the first
chunk of a session once a later one exists, because the first chunk includes compilation.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np


def _fmt_eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Reports one sweep at a time: start(...), update(...) after each chunk, close().

    quiet: print nothing. stream: where to write (default stderr; a bar only if it is a tty).
    min_interval_s: plain mode prints at most one line per interval (plus the first and last chunk).
    """

    def __init__(self, quiet: bool = False, stream=None, min_interval_s: float = 10.0) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval_s = min_interval_s
        self._bar = None

    def _is_tty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def start(self, name: str, start_chunk: int, n_chunks: int, n_instances: int) -> None:
        self.name, self.n_chunks = name, n_chunks
        self._start_chunk = start_chunk
        self._t0 = time.perf_counter()
        self._first_done: tuple[int, float] | None = None  # (chunk, time) after the compile-laden first one
        self._last_line = -math.inf
        if self.quiet:
            return
        resumed = f", resuming at chunk {start_chunk}" if start_chunk else ""
        if self._is_tty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=n_chunks,
                initial=start_chunk,
                desc=f"{name} [{n_instances} instances]",
                unit="chunk",
                file=self.stream,
                dynamic_ncols=True,
                mininterval=0,  # one update per chunk, seconds apart: show every one
                leave=False,
            )
        else:
            print(
                f"{name}: {n_instances} instances, {n_chunks} chunks{resumed}", file=self.stream, flush=True
            )

    def rate(self, done: int, chunk_steps: int) -> float:
        """Steps per second so far in this session (excluding the first chunk once possible)."""
        now = time.perf_counter()
        if self._first_done is None or done <= self._first_done[0]:
            chunks, elapsed = done - self._start_chunk, now - self._t0
        else:
            chunks, elapsed = done - self._first_done[0], now - self._first_done[1]
        return chunks * chunk_steps / elapsed if elapsed > 0 and chunks > 0 else float("nan")

    def update(self, name: str, done: int, n_chunks: int, chunk_steps: int, loss: np.ndarray) -> None:
        """After chunk `done` (1-based) of n_chunks; loss [instances, logs so far]."""
        if self.quiet:
            return
        rate = self.rate(done, chunk_steps)
        if self._first_done is None:
            self._first_done = (done, time.perf_counter())
        eta = (n_chunks - done) * chunk_steps / rate if rate > 0 else float("nan")
        last = np.asarray(loss)[:, -1] if np.size(loss) else np.array([np.nan])
        mean_loss = float(np.nanmean(last)) if np.isfinite(last).any() else float("nan")
        if self._bar is not None:
            self._bar.set_postfix_str(f"{rate:,.0f} steps/s, mean loss {mean_loss:.4g}", refresh=False)
            self._bar.update(1)
            return
        now = time.perf_counter()
        first = done == self._start_chunk + 1
        if first or done == n_chunks or now - self._last_line >= self.min_interval_s:
            self._last_line = now
            print(
                f"{name}: chunk {done}/{n_chunks}, {rate:,.0f} steps/s, ETA {_fmt_eta(eta)}, "
                f"mean loss {mean_loss:.4g}",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class FrameProgress:
    """progress(frame, n_frames) callback for rendering animations: a tqdm bar on a terminal, a line at
    every quarter otherwise, nothing when quiet. Each new animation (frame 0) starts a new bar."""

    def __init__(self, quiet: bool = False, stream=None) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self._bar = None
        self._quarter = -1

    def __call__(self, frame: int, n_frames: int) -> None:
        if self.quiet:
            return
        if frame == 0:
            self.close()
            self._quarter = -1
            try:
                tty = bool(self.stream.isatty())
            except (AttributeError, ValueError):
                tty = False
            if tty:
                from tqdm import tqdm

                self._bar = tqdm(
                    total=n_frames, desc="rendering", unit="frame", file=self.stream, leave=False
                )
        if self._bar is not None:
            self._bar.update(1)
            return
        quarter = 4 * (frame + 1) // max(n_frames, 1)
        if quarter > self._quarter:
            self._quarter = quarter
            print(f"rendering: frame {frame + 1}/{n_frames}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
