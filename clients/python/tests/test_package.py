"""The package as installed: imported from the environment, not from the
repository; carrying the gateway's Lua scripts (one copy, the gateway's
own, byte for byte) in its wheel and its sdist."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import files
from pathlib import Path

import redis
from harness import GATEWAY_BIN, REPO, RedisServer

import tactical_link
from tactical_link.wire import SCRIPT_FILES, publish_script

PROJECT = REPO / "clients" / "python"
SCRIPTS = REPO / "src" / "bus" / "redis" / "scripts"
LUA = [f"tactical_link/lua/{name}" for name in SCRIPT_FILES]


def repository_script(name: str) -> str:
    return (SCRIPTS / name).read_text(encoding="utf-8")


def test_the_library_runs_from_the_installed_package_with_its_scripts() -> None:
    installed = Path(tactical_link.__file__).resolve()
    assert not installed.is_relative_to(PROJECT), f"imported from the repository: {installed}"
    listed = {str(path) for path in files("tactical-link") or []}
    assert {*LUA, "tactical_link/py.typed"} <= listed
    assert publish_script() == "".join(repository_script(name) for name in SCRIPT_FILES)


def test_redis_caches_one_script_for_the_gateway_and_the_library() -> None:
    server = RedisServer()
    try:
        # The gateway's own publisher (the CLI) loads its script ...
        subprocess.run(
            [str(GATEWAY_BIN), "publish", "--redis", server.url, "--json", '{"type":"note"}'],
            check=True,
            capture_output=True,
        )
        # ... and it is the library's, to the byte.
        sha = hashlib.sha1(publish_script().encode()).hexdigest()
        client = redis.Redis.from_url(server.url)
        assert client.script_exists(sha) == [True]
        client.close()
    finally:
        server.close()


def build(*command: str, cwd: Path) -> None:
    subprocess.run([sys.executable, *command], cwd=cwd, check=True, capture_output=True)


def test_the_wheel_and_the_sdist_carry_the_scripts(tmp_path: Path) -> None:
    # Without build isolation: hatchling comes from the test requirements.
    wheel_of = ("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w")
    build(*wheel_of, str(tmp_path / "wheel"), str(PROJECT), cwd=tmp_path)
    (wheel,) = (tmp_path / "wheel").glob("tactical_link-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert {*LUA, "tactical_link/py.typed"} <= set(archive.namelist())
        for path, name in zip(LUA, SCRIPT_FILES):
            assert archive.read(path).decode() == repository_script(name)
    # An sdist has them under src/, and a wheel built from it finds them there.
    sdist_of = f"import hatchling.build as b; b.build_sdist({str(tmp_path / 'sdist')!r})"
    build("-c", sdist_of, cwd=PROJECT)
    (sdist,) = (tmp_path / "sdist").glob("tactical_link-*.tar.gz")
    with tarfile.open(sdist) as archive:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tmp_path / "unpacked", **safe)  # type: ignore[arg-type]
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    assert (unpacked / "src" / "tactical_link" / "lua" / "publish.lua").is_file()
    build(*wheel_of, str(tmp_path / "rebuilt"), str(unpacked), cwd=tmp_path)
    (rebuilt,) = (tmp_path / "rebuilt").glob("tactical_link-*.whl")
    with zipfile.ZipFile(rebuilt) as archive:
        assert set(LUA) <= set(archive.namelist())
