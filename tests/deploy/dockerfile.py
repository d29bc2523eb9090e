"""A small reader of this project's Dockerfile and .dockerignore, to run what the image would run.

    >>> image = read_dockerfile(PROJECT_ROOT / "Dockerfile")
    >>> image.final.env["MEDALLIANCE_WEB_HOST"], image.final.entrypoint + image.final.cmd
    ('0.0.0.0', ['medalliance', 'worker'])

It understands what the Dockerfile uses (FROM ... AS, ARG, ENV k=v, USER, EXPOSE, HEALTHCHECK CMD
[...], ENTRYPOINT/CMD in exec form, COPY); a construct it does not know fails loudly.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_KNOWN = {
    "FROM",
    "ARG",
    "ENV",
    "RUN",
    "COPY",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "HEALTHCHECK",
    "ENTRYPOINT",
    "CMD",
}
_KNOWN |= {"LABEL", "VOLUME"}


@dataclass
class Stage:
    base: str
    name: str | None
    args: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    expose: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    copies: list[list[str]] = field(default_factory=list)


@dataclass
class Dockerfile:
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    heredoc_end: str | None = None
    for line in text.splitlines():
        if heredoc_end is not None:
            heredoc_end = None if line.strip() == heredoc_end else heredoc_end
            continue
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    result = []
    for entry in logical:
        keyword, _, rest = entry.strip().partition(" ")
        if keyword.upper() not in _KNOWN:
            raise ValueError(f"Dockerfile instruction not understood by this reader: {keyword}")
        result.append((keyword.upper(), rest.strip()))
    return result


def _substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), value)


def _exec_form(rest: str) -> list[str]:
    parsed = json.loads(rest)
    assert isinstance(parsed, list), f"exec form expected, got {rest}"
    return [str(part) for part in parsed]


def _apply(stage: Stage, keyword: str, rest: str) -> None:
    variables = {**stage.args, **stage.env}
    if keyword == "ARG":
        name, _, default = rest.partition("=")
        stage.args[name] = default
    elif keyword == "ENV":
        for pair in shlex.split(rest):
            name, _, value = pair.partition("=")
            stage.env[name] = _substitute(value, variables)
    elif keyword == "USER":
        stage.user = _substitute(rest, variables)
    elif keyword == "EXPOSE":
        stage.expose.extend(rest.split())
    elif keyword == "HEALTHCHECK":
        _, _, command = rest.partition("CMD ")
        stage.healthcheck = _exec_form(command)
    elif keyword == "ENTRYPOINT":
        stage.entrypoint = _exec_form(rest)
    elif keyword == "CMD":
        stage.cmd = _exec_form(rest)
    elif keyword == "COPY":
        stage.copies.append(rest.split())


def read_dockerfile(path: Path) -> Dockerfile:
    stages: list[Stage] = []
    for keyword, rest in instructions(path.read_text(encoding="utf-8")):
        if keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            stages.append(Stage(base=base.strip(), name=name.strip() or None))
        elif stages:
            _apply(stages[-1], keyword, rest)
        elif keyword != "ARG":
            raise ValueError(f"{keyword} before the first FROM")
    return Dockerfile(stages)


def dockerignore_excludes(patterns: list[str], relative: str) -> bool:
    """Whether the build context drops `relative` (last matching pattern wins, `!` re-includes)."""
    excluded = False
    parts = relative.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw.removeprefix("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        if any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c.split("/")[-1], pattern) for c in candidates):
            excluded = not negated
    return excluded


def read_dockerignore(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
