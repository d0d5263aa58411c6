"""Cached artefacts in ``data/``: save them with a manifest entry, load them only if intact.

Every file in ``data/`` has an entry in ``data/manifest.json``: its sha256, the command that
regenerates it, the mini_lib version that made it, and a description. :func:`load_arrays`
refuses a file whose checksum does not match (a stale or half-written file would otherwise
show a learner wrong curves). Regenerate a file with::

    python -m mini_lib.artefacts NAME        # e.g. dqn_sweep; `--list` shows the names

Generators are registered in :data:`GENERATORS` as ``"module:function"``; the function
returns ``(payload, description)``: a dict of NumPy arrays (stored as ``NAME.npz``, loaded with
``allow_pickle=False``) or a dict of torch tensors such as a state dict (stored as ``NAME.pt``,
loaded with ``torch.load(..., weights_only=True)``).
"""

from __future__ import annotations

import hashlib
import json
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "DATA_DIR",
    "load_arrays",
    "load_tensors",
    "manifest_entry",
    "save",
    "save_arrays",
    "save_tensors",
    "sha256",
]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MANIFEST = "manifest.json"

def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_manifest(data_dir: Path) -> dict:
    path = data_dir / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def manifest_entry(name: str, data_dir: Path = DATA_DIR) -> dict:
    """The manifest entry of artefact ``name`` (KeyError with the known names if missing)."""
    manifest = _read_manifest(data_dir)
    if name not in manifest:
        raise KeyError(f"{name!r} is not in {data_dir / MANIFEST}; known: {sorted(manifest)}. "
                       f"Generate it with: python -m mini_lib.artefacts {name}")
    return manifest[name]


def save_arrays(name: str, arrays: dict[str, np.ndarray], description: str,
                data_dir: Path = DATA_DIR) -> Path:
    """Write ``data/NAME.npz`` and record its checksum and regeneration command."""
    path = data_dir / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return _record(name, path, description, data_dir)


def save_tensors(name: str, tensors: dict, description: str, data_dir: Path = DATA_DIR) -> Path:
    """Write ``data/NAME.pt`` (a dict of tensors, e.g. a state dict) and record it."""
    path = data_dir / f"{name}.pt"
    torch.save(tensors, path)
    return _record(name, path, description, data_dir)


def _record(name: str, path: Path, description: str, data_dir: Path) -> Path:
    manifest = _read_manifest(data_dir)
    manifest[name] = {
        "file": path.name,
        "sha256": sha256(path),
        "command": f"python -m mini_lib.artefacts {name}",
        "mini_lib_version": version("mini_lib"),
        "torch_version": version("torch"),
        "created": time.strftime("%Y-%m-%d"),
        "description": description,
    }
    (data_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def _verified_path(name: str, data_dir: Path) -> Path:
    entry = manifest_entry(name, data_dir)
    path = data_dir / entry["file"]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; regenerate it with: {entry['command']}")
    actual = sha256(path)
    if actual != entry["sha256"]:
        raise ValueError(f"{path} does not match its manifest checksum (sha256 {actual[:12]}… "
                         f"instead of {entry['sha256'][:12]}…): the file changed after it was "
                         f"generated. Regenerate it with: {entry['command']}")
    return path


def load_arrays(name: str, data_dir: Path = DATA_DIR) -> dict[str, np.ndarray]:
    """Load ``data/NAME.npz`` after checking its sha256 against the manifest."""
    with np.load(_verified_path(name, data_dir), allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}


def load_tensors(name: str, data_dir: Path = DATA_DIR) -> dict:
    """Load ``data/NAME.pt`` after checking its sha256; ``weights_only=True`` (no pickle code)."""
    return torch.load(_verified_path(name, data_dir), weights_only=True)


def save(name: str, payload: dict, description: str, data_dir: Path = DATA_DIR) -> Path:
    """Store ``payload`` as ``NAME.pt`` if it holds torch tensors, else as ``NAME.npz``."""
    is_torch = any(type(v).__module__.startswith("torch") for v in payload.values())
    return (save_tensors if is_torch else save_arrays)(name, payload, description, data_dir)
