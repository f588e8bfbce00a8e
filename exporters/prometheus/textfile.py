"""The node_exporter textfile output: the same exposition written atomically to a `.prom` file.

node_exporter's textfile collector reads every `*.prom` in its directory on each scrape, so a half-written
file would be read: we write a temporary file in the same directory (same filesystem) and `os.replace` it.
The temporary name does not end in `.prom`, so the collector never picks it up. No sample timestamps
(the collector rejects them); HELP and TYPE lines are accepted.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` so readers see the old file or the new one, never a part."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; node_exporter often runs as another user
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
