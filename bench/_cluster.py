"""A throw-away PostgreSQL cluster of its own, for the fault test that restarts the database.

Restarting the machine's shared server would cut every other user of it; this cluster is
created in a scratch directory on a free port, used by one run, crashed and started again at
will (``crash`` is ``pg_ctl stop -m immediate``: no shutdown checkpoint, recovery from the WAL
on the next start, as after a power cut), and removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ._server import HOST, free_port

READY_TIMEOUT_S = 60


def server_binaries() -> Path | None:
    """Where initdb and pg_ctl are (Debian keeps them under /usr/lib/postgresql/<major>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class Cluster:
    port: int
    data_dir: Path
    bin_dir: Path

    def url(self, database: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        subprocess.run(_as_owner(command), check=True, capture_output=True)  # noqa: S603

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories={self.data_dir}"
            " -c max_connections=200"
        )
        log = self.data_dir / "server.log"
        self._pg_ctl("start", "-w", "-t", str(READY_TIMEOUT_S), "-o", options, "-l", str(log))

    def crash(self) -> None:
        """Stop at once, as a crash would: open transactions are lost, WAL recovery on start."""
        self._pg_ctl("stop", "-m", "immediate", "-w")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast", "-w")


@contextmanager
def ephemeral_cluster() -> Iterator[Cluster]:
    """initdb a cluster (trust auth, user ``postgres``) on a free port, start it, always remove it."""
    bin_dir = server_binaries()
    if bin_dir is None:
        raise SystemExit("initdb was not found: install the PostgreSQL server package")
    scratch = Path(tempfile.mkdtemp(prefix="policywindow-pg-"))
    data_dir = scratch / "data"
    data_dir.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (scratch, data_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    initdb = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust"]
    command = _as_owner([*initdb, "-E", "UTF8", "--no-instructions"])
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    cluster = Cluster(free_port(), data_dir, bin_dir)
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()  # fails when already down (a crash not followed by a start)
        shutil.rmtree(scratch, ignore_errors=True)
