"""``sealforge-verify ARGS`` through its ``main``, in the test's own process, output captured.

Why: the verifier's and witness's command-line tests make dozens of calls, and each separate
process paid a Python start-up and the package's imports (about half a second on the 2-core CI
box) for a few milliseconds of work. ``main`` is the very function the console script calls;
the tests that are about the process itself (its streams, running with no network) still start
one (``cli_process``, ``run_verifier``, the console-script test).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess

from sealforge_verify.cli import main


def run_in_process(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """Like ``subprocess.run([sealforge-verify, *args], capture_output=True, text=True)``;
    argparse's usage errors (``SystemExit``) come back as their exit status."""
    argv = list(map(str, args))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())
