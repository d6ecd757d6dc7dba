"""What every index directory (protected, sharded, LSH) shares: its ``manifest.json`` read with one
set of errors, and the removal of data files no published manifest lists (what a killed writer
left). Each store says which error type to raise and which files are its own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def load_manifest_json(root: Path, error: type[OSError], what: str) -> Any:
    """The JSON of ``root/manifest.json``; ``error`` naming ``root`` when ``root`` is a file, has no
    manifest, cannot be read, or holds no JSON (``what``: "a nearcopy index", ...)."""
    if root.exists() and not root.is_dir():
        raise error(f"{root}: not {what} (a file; an index is a directory)")
    try:
        return json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{root}: not {what} (no {MANIFEST})") from None
    except OSError as err:
        raise error(f"{root}: unreadable manifest: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise error(f"{root}: {MANIFEST} is damaged (not JSON); restore it or rebuild the index") from None


def remove_unlisted(
    root: Path,
    listed: Callable[[dict[str, Any]], Iterable[str | None]],
    data_files: Iterable[str],
    temporaries: Iterable[str] = (),
) -> None:
    """Removes the files matching ``data_files`` that the published manifest does not list
    (``listed(manifest)``; all of them when none is published), and those matching ``temporaries``
    (interrupted writes). A manifest that cannot be read removes nothing: it might list them."""
    try:
        names: set[str] | None = {n for n in listed(json.loads((root / MANIFEST).read_text("utf-8"))) if n}
    except FileNotFoundError:
        names = None  # nothing published: nothing can be in use
    except (OSError, ValueError, KeyError, TypeError):
        return
    for pattern in data_files:
        for stale in root.glob(pattern):
            if names is None or stale.name not in names:
                stale.unlink(missing_ok=True)
    for pattern in temporaries:
        for stale in root.glob(pattern):
            stale.unlink(missing_ok=True)
