"""Every published activation store and neuron records folder under a cache root, checked file by file against the
sizes and sha256 checksums its manifest keeps (``python -m xray verify``). Opening a store or records checks only the
sizes (a stat); this reads every byte, so it also finds a file altered in place (bit rot, a bad copy). A damaged
folder is moved aside, never read again, and the next build makes it anew.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xray.cache import discard_folder
from xray.neurons.records import RecordsManifest, records_problem
from xray.store.format import MANIFEST, StoreManifest, store_problem

OK, DAMAGED, UNCHECKED = "ok", "damaged", "unchecked"


@dataclass(frozen=True)
class FolderVerdict:
    """One published folder's check. kind: "store" or "records"; verdict: OK, DAMAGED (``problem`` says what;
    the folder was moved aside) or UNCHECKED (a manifest from before checksums were kept, or unreadable:
    ``problem`` says which); files and size: what was read."""

    kind: str
    folder: Path
    verdict: str
    problem: str = ""
    files: int = 0
    size: int = 0

    def line(self) -> str:
        """The verdict as one line of the command's output."""
        where = f"{self.kind} {self.folder.name}"
        if self.verdict == OK:
            return f"ok        {where}: {self.files} files, {self.size:,} bytes"
        if self.verdict == DAMAGED:
            return f"DAMAGED   {where}: {self.problem}; moved aside, the next build makes it again"
        return f"unchecked {where}: {self.problem}"


def _published(root: Path) -> list[tuple[str, Path]]:
    """(kind, folder) of every published store and records folder under ``root`` (hidden ones are partial)."""
    found = []
    for kind, parent in (("store", root), ("records", root / "neurons")):
        if parent.is_dir():
            found += [
                (kind, folder)
                for folder in sorted(parent.iterdir())
                if folder.is_dir() and not folder.name.startswith(".") and (folder / MANIFEST).is_file()
            ]
    return found


def verify_folder(kind: str, folder: Path) -> FolderVerdict:
    """Check one published ``kind`` ("store" or "records") folder's every file; a damaged one is moved aside."""
    try:
        content = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        manifest = StoreManifest(**content) if kind == "store" else RecordsManifest(**content)
    except (OSError, ValueError, TypeError) as error:
        return FolderVerdict(kind, folder, UNCHECKED, f"its manifest cannot be read ({error})")
    if not manifest.files:
        return FolderVerdict(kind, folder, UNCHECKED, "built before checksums were kept (build it again to keep them)")
    check = store_problem if kind == "store" else records_problem
    problem = check(folder, manifest, checksums=True)
    if problem is not None:
        discard_folder(folder)
        return FolderVerdict(kind, folder, DAMAGED, problem)
    size = sum(facts["bytes"] for facts in manifest.files.values())
    return FolderVerdict(kind, folder, OK, files=len(manifest.files), size=size)


def verify_cache(root: Path) -> list[FolderVerdict]:
    """:func:`verify_folder` of every published store and records folder under ``root``, stores first."""
    return [verify_folder(kind, folder) for kind, folder in _published(root)]
