"""The progress bar of the file imports (import_billing, import_jobs)."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm


@contextmanager
def reading_progress(paths: list[Path], *, verbosity: int) -> Iterator[Callable[[float], None]]:
    """A callback taking the fraction of bytes read; it draws a bar on a terminal only."""
    total = sum(path.stat().st_size for path in paths if path.is_file())
    bar = None
    if sys.stderr.isatty() and verbosity > 0:
        bar = tqdm(total=total, unit="B", unit_scale=True, desc="reading", leave=False)

    def progress(fraction: float) -> None:
        if bar is not None:
            bar.update(int(fraction * total) - bar.n)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
