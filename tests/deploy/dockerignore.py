"""`.dockerignore` semantics for tests: which files of the repository go into the image's build context.

Docker matches each path (relative to the context root) against every pattern in order, the last match
deciding; `!` re-includes; a pattern also excludes everything under a matching folder; `*` and `?` stay within
one path segment and `**` spans any number of them (Go's filepath.Match plus `**`, as moby's patternmatcher).
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath


def _regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
        i += 1
    return re.compile(out)


@cache
def patterns(path: Path) -> tuple[tuple[bool, re.Pattern[str]], ...]:
    """(is_exception, regex) per pattern line of the .dockerignore at `path`."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        body = str(PurePosixPath(line.lstrip("!").strip().lstrip("/")))
        out.append((negate, _regex(body)))
    return tuple(out)


def excluded(dockerignore: Path, relpath: str) -> bool:
    """Whether `relpath` (posix, relative to the context root) stays out of the build context."""
    parts = PurePosixPath(relpath).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for negate, rx in patterns(dockerignore):
        if any(rx.fullmatch(c) for c in candidates):
            verdict = not negate
    return verdict


def repository_files(root: Path) -> list[str]:
    """Tracked files and untracked ones git does not ignore (what a checkout holds), relative and posix."""
    text = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True, text=True, timeout=60, cwd=root, check=True,
    ).stdout  # fmt: skip
    return sorted({line for line in text.splitlines() if line and (root / line).is_file()})
