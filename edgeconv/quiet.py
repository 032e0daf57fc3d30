"""Silence tools that print progress bars and native logs straight to the terminal.

Output of the wrapped block (Python and C/C++ alike, at the file-descriptor level) goes to a temporary
file; it is replayed on stderr only if the block raises, so that a failure still shows its context.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

from edgeconv.errors import EdgeconvError


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Capture fds 1 and 2 (and sys.stdout/sys.stderr) for the duration of the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no real file descriptors (an embedded interpreter): nothing to silence
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        failed = False
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with contextlib.redirect_stdout(sys.__stdout__), contextlib.redirect_stderr(sys.__stderr__):
                yield
        except EdgeconvError:
            raise  # a deliberate, already explained failure
        except BaseException:
            failed = True
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            if failed:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace")[-4000:])
