"""glibc malloc settings for a server worker, so large per-request buffers stop costing fresh pages every request.

Each request allocates a few megabytes (the decoded image, the letterboxed copy, the 640x640 float tensor) and frees
them. On a gunicorn thread those come from a non-main malloc arena, where glibc hands big blocks to ``mmap`` and
returns freed memory to the kernel; the next request then page-faults the same megabytes in again. Fixing the mmap
threshold at 32 MiB (the most glibc's own dynamic threshold reaches on 64-bit) and raising the trim threshold keeps
those blocks in the heap for reuse. Measured with ``benchmarks/inference.py`` (both sides tuned alike): server p50 /
in-process p50 from 1.09-1.10 to 1.03-1.05. Retained memory is bounded by the peak a worker already reached. A no-op
where libc is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit; bigger blocks still get their own mapping
TRIM_THRESHOLD = 128 * 2**20

log = logging.getLogger(__name__)


def keep_freed_blocks() -> bool:
    """Apply the settings to this process; false (and a debug line) where libc has no ``mallopt``."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # macOS, musl without mallopt: keep the default allocator
        log.debug("no glibc mallopt here: default malloc settings")
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
