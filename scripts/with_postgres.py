#!/usr/bin/env python3
"""Run a command against a throw-away PostgreSQL server.

    python scripts/with_postgres.py [--durable] -- COMMAND [ARGS...]

Creates a cluster in a temporary directory (as the ``postgres`` user when run as root,
since initdb refuses root), starts it on a free port on 127.0.0.1, runs COMMAND with
``GREENENERGY_TEST_DATABASE_URL`` pointing at it, then stops the server and removes the
directory. Exits with COMMAND's status, or 3 with a clear message if PostgreSQL cannot be
started -- it never lets a test run silently skip PostgreSQL.

Without ``--durable`` the server runs with fsync off (tests only: they need isolation and
correct locking, not crash safety). Benchmarks pass ``--durable``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

CANNOT_START = 3


def fail(message: str) -> None:
    print(f"with_postgres: cannot start PostgreSQL: {message}", file=sys.stderr)
    sys.exit(CANNOT_START)


def find_bindir() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for candidate in candidates:
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if os.path.exists(os.path.join(bindir, "initdb")):
            return bindir
    fail(
        "no initdb found under /usr/lib/postgresql/*/bin or via pg_config; "
        "install the server (apt-get install -y postgresql) and retry"
    )
    raise AssertionError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    args = sys.argv[1:]
    durable = False
    if args and args[0] == "--durable":
        durable, args = True, args[1:]
    if not args or args[0] != "--" or len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = args[1:]
    bindir = find_bindir()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    workdir = tempfile.mkdtemp(prefix="greenenergy-pg-")
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            fail("running as root and there is no 'postgres' user to run initdb as")
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(workdir, "data")
    log = os.path.join(workdir, "server.log")
    port = free_port()
    try:
        init = subprocess.run(
            [
                *prefix,
                f"{bindir}/initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            fail(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        start = subprocess.run(
            [*prefix, f"{bindir}/pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        if start.returncode != 0:
            server_log = Path(log).read_text() if os.path.exists(log) else ""
            fail(f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n{server_log}")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        print(f"with_postgres: PostgreSQL ({bindir}) on 127.0.0.1:{port}, data in {data}", file=sys.stderr)
        env = dict(os.environ, GREENENERGY_TEST_DATABASE_URL=url)
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(
                [*prefix, f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True, check=False
            )
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
