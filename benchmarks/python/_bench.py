"""Shared measurement for the side-by-side benchmarks (imported as `_bench`)."""
from __future__ import annotations

import gc
import threading
import time


class PeakRSS:
    """Peak growth of the resident set size while the block runs, sampled in a thread
    every `interval` seconds (psutil), so native allocations count too.
    After the block: `mib` (and `mb`, the same figure) holds the growth in MiB."""

    def __init__(self, interval: float = 0.002):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval

    def __enter__(self):
        gc.collect()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.mib = self.mb = (self.peak - self.base) / 2**20
