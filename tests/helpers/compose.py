"""The stack of docker-compose.yml as a real Compose client resolves it, without a Docker engine.

`docker compose config` (Docker's plugin) or Debian's `docker-compose config` interpolates the
variables, reads the env files, applies the defaults and checks the file against the Compose
schema; tests read that model instead of the raw YAML. The client runs on a scratch copy of the
stack with a .env the test chooses and none of the caller's variables, so neither a
developer's own .env nor their shell can change what the tests see.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
# What `config` reads besides the compose file: the build context and the bind-mounted files.
STACK_FILES = ("docker-compose.yml", "Dockerfile", "deploy")

INSTALL_HINT = (
    "No Docker Compose client: the deploy tests read docker-compose.yml through "
    "`docker compose config` or `docker-compose config` (neither needs a Docker engine). "
    "Install one: `apt-get install docker-compose` (Debian), or Docker's compose plugin "
    "(package docker-compose-plugin from Docker's repository, for `docker compose`)."
)


def _client_env() -> dict[str, str]:
    """Only what finds the client and its plugins: no variable of the caller is interpolated."""
    names = ("PATH", "HOME", "DOCKER_CONFIG")
    return {name: os.environ[name] for name in names if name in os.environ}


@functools.cache
def _installed_client() -> tuple[str, ...] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, env=_client_env(), timeout=30
        )
        if probe.returncode == 0:
            return (docker, "compose")
    legacy = shutil.which("docker-compose")
    return (legacy,) if legacy else None


def compose_command() -> list[str]:
    """`docker compose` when the plugin is there, else `docker-compose`; fails without either."""
    client = _installed_client()
    if client is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return list(client)


def stack_copy(directory: Path, env_text: str) -> Path:
    """The stack's files in `directory`, with `env_text` as its .env."""
    for name in STACK_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, directory / name)
        else:
            shutil.copy(source, directory / name)
    (directory / ".env").write_text(env_text)
    return directory


def run_compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The Compose client on the stack copy in `project`."""
    return subprocess.run(
        [*compose_command(), "-f", str(project / "docker-compose.yml"), *args],
        cwd=project,
        env=_client_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass(frozen=True)
class Port:
    host_ip: str  # "" publishes on every interface
    published: int
    target: int
    protocol: str


@dataclass(frozen=True)
class Mount:
    source: str  # the absolute host path of a bind, the name of a volume, "" when anonymous
    target: str
    bind: bool


@dataclass(frozen=True)
class ResolvedStack:
    """The `config` output of one stack copy, with every profile's services in it."""

    project: Path
    model: dict[str, Any]
    warnings: str  # what the client printed on stderr (unset variables, for one)

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.model["services"]
        return services

    def environment(self, service: str) -> dict[str, str]:
        env = self.services[service].get("environment") or {}
        return {key: "" if value is None else str(value) for key, value in env.items()}

    def ports(self, service: str) -> list[Port]:
        """The host ports a service publishes (a container-only port publishes none)."""
        ports = (_port(entry) for entry in self.services[service].get("ports") or [])
        return [port for port in ports if port is not None]

    def mounts(self, service: str) -> list[Mount]:
        return [_mount(entry) for entry in self.services[service].get("volumes") or []]

    def repo_path(self, host_path: str) -> Path:
        """The repository path behind a host path of the stack copy."""
        path = Path(host_path)
        if path.is_relative_to(self.project):
            return ROOT / path.relative_to(self.project)
        return path

    def repo_path_for(self, service: str, container_path: PurePosixPath) -> Path | None:
        """The repository file that a bind mount of the service shows at `container_path`."""
        for mount in self.mounts(service):
            target = PurePosixPath(mount.target)
            if mount.bind and (container_path == target or target in container_path.parents):
                return self.repo_path(mount.source) / container_path.relative_to(target)
        return None


def resolve(project: Path) -> ResolvedStack:
    """`config` of the stack copy in `project`; the client's refusal fails the calling test."""
    profiles = run_compose(project, "config", "--profiles")
    assert profiles.returncode == 0, profiles.stdout + profiles.stderr
    # `docker compose` leaves out the services of profiles that are not active.
    active = [arg for name in profiles.stdout.split() for arg in ("--profile", name)]
    result = run_compose(project, *active, "config")
    assert result.returncode == 0, result.stdout + result.stderr
    return ResolvedStack(project.resolve(), yaml.safe_load(result.stdout), result.stderr)


# The two clients print ports and volumes differently. `docker compose` always prints the
# Compose spec's long form; docker-compose 1.x prints the long form for ports without a host
# address and for long-syntax volumes, and otherwise its canonical strings, which always have
# all their parts (ranges are expanded, bind sources absolute).


def _port(entry: dict[str, Any] | str) -> Port | None:
    if isinstance(entry, dict):
        published = entry.get("published")
        if published in (None, ""):
            return None
        host_ip = str(entry.get("host_ip", ""))
        return Port(host_ip, int(published), int(entry["target"]), entry.get("protocol", "tcp"))
    address, _, protocol = entry.partition("/")  # docker-compose 1.x: `ip:published:target/tcp`
    host_ip, published, target = address.rsplit(":", 2)
    return Port(host_ip, int(published), int(target), protocol) if published else None


def _mount(entry: dict[str, Any] | str) -> Mount:
    if isinstance(entry, dict):
        source = str(entry.get("source") or "")
        return Mount(source, str(entry["target"]), entry.get("type") == "bind")
    parts = entry.split(":")  # docker-compose 1.x: `source:target:mode`, or `target` alone
    if len(parts) == 1:
        return Mount("", parts[0], bind=False)
    return Mount(parts[0], parts[1], bind=parts[0].startswith("/"))
