"""The gunicorn worker: gthread (a bounded pool of connection threads per process) with a read timeout.

A sync worker reads a request on its only thread, so a client that sends half a request holds the whole worker:
four such clients stalled a two-worker server for 30 s, ``/ping`` included. gthread waits for a connection's first
bytes in its event loop, not on a thread, and serves up to ``CONNECTION_THREADS`` connections at once; a socket
receive timeout (``SO_RCVTIMEO``, kept by the blocking reads gthread switches to) frees a thread whose client stalls
mid-request, which gunicorn itself never does. Inference itself stays one at a time per worker (see ``app.py``).
"""

from __future__ import annotations

import logging
import socket
import struct

from gunicorn.workers.gthread import ThreadWorker

from containers.inference.allocator import keep_freed_blocks

CONNECTION_THREADS = 16  # per worker: slow clients and /ping get a thread while one request is being inferred


class ReadTimeoutWorker(ThreadWorker):
    """gthread whose connections give up a receive that waits longer than ``read_timeout`` seconds."""

    read_timeout = 10.0  # set by the master (MODEL_SERVER_READ_TIMEOUT) before the workers are forked

    def init_process(self) -> None:
        self.log.error_log.addFilter(_one_line_read_timeouts)
        keep_freed_blocks()
        super().init_process()

    def enqueue_req(self, conn) -> None:
        seconds = int(self.read_timeout)
        microseconds = int((self.read_timeout - seconds) * 1e6)
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", seconds, microseconds))
        super().enqueue_req(conn)


def _one_line_read_timeouts(record: logging.LogRecord) -> bool:
    """gunicorn logs a receive timeout in a request's head as a socket error with a traceback: make it one line."""
    if record.exc_info and isinstance(record.exc_info[1], BlockingIOError):
        record.msg, record.args = "closed a connection that stalled while sending its request", ()
        record.exc_info = None
    return True
