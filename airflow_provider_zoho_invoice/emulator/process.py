"""Run the emulator's command line in a child process, e.g. to keep its CPU out of a measurement."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def emulator_process(
    *cli_args: str, startup_timeout: float = 60.0
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start ``python -m airflow_provider_zoho_invoice.emulator --port 0 ARGS``; yield its URL and process.

    The process is terminated on exit and its output is left in ``process.stdout``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        process = subprocess.Popen(  # noqa: S603 - this interpreter running this package's module
            [
                sys.executable,
                "-m",
                "airflow_provider_zoho_invoice.emulator",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                *cli_args,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while not (port_file.exists() and port_file.read_text()):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Zoho Invoice emulator did not start")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port_file.read_text()}", process
        finally:
            process.terminate()
            process.wait(timeout=30)
