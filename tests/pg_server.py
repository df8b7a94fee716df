"""A private PostgreSQL + PostGIS server for tests and benchmarks: initdb into a temporary folder,
pg_ctl on a private port with its unix socket in that folder, `CREATE EXTENSION postgis`.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` account (Debian's
package creates it) or else `nobody`, owning the folder. `PgServer.unavailable()` says why the
server cannot be started here (binaries or the postgis extension missing), for a skip reason.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.folder: Path | None = None
        self.port = _free_port()

    @staticmethod
    def unavailable() -> str | None:
        """None when a server can be started, else why not (for pytest.skip)."""
        bindir = _bin_dir()
        if bindir is None or not (bindir / "pg_ctl").exists():
            return "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: apt-get install postgresql postgresql-postgis"
        version = bindir.parent.name
        if not glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"):
            return f"the PostGIS extension for PostgreSQL {version} is not installed (apt-get install postgresql-postgis)"
        return None

    def _run_as(self) -> dict:
        if os.geteuid() != 0:
            return {}
        import pwd  # noqa: PLC0415

        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = pwd.getpwnam("nobody")
        for root, dirs, files in os.walk(self.folder):
            for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
                os.chown(name, account.pw_uid, account.pw_gid)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mz-pg-"))
        os.chmod(self.folder, 0o755)
        data, log = self.folder / "data", self.folder / "server.log"
        as_user = self._run_as()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        subprocess.run([str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--no-sync", "--locale=C.UTF-8"], check=True, capture_output=True, env=env, cwd=self.folder,
                       **as_user)
        opts = f"-p {self.port} -k {self.folder} -c listen_addresses='' -c fsync=off -c full_page_writes=off " \
               "-c synchronous_commit=off -c max_connections=60"
        subprocess.run([str(self.bin / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start"],
                       check=True, capture_output=True, env=env, cwd=self.folder, **as_user)
        self._psql("postgres", "CREATE EXTENSION postgis")

    def _psql(self, db: str, sql: str) -> None:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(host=str(self.folder), port=self.port, user="postgres", dbname=db, autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        """A fresh database with PostGIS; its postgresql:// URL (unix socket in the server's folder)."""
        self._psql("postgres", f'CREATE DATABASE "{name}"')
        self._psql(name, "CREATE EXTENSION postgis")
        return self.url(name)

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://postgres@/{name}?host={self.folder}&port={self.port}"

    def stop(self) -> None:
        if self.folder is None:
            return
        subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, cwd=self.folder, **self._run_as())
        for _ in range(50):
            if not (self.folder / "data" / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


def schema_url(server: PgServer, schema: str) -> str:
    """A URL whose connections work in a fresh schema `schema` (search_path schema, public): many
    isolated stores in one database without the cost of CREATE DATABASE."""
    server._psql("postgres", f'CREATE SCHEMA "{schema}"')
    return f"{server.url('postgres')}&options=-csearch_path%3D{schema},public"
