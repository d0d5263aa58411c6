"""Cached artefacts in ``data/``: the store (manifest, checksums) and one module per artefact.

Regenerate one with ``python -m mini_lib.artefacts NAME`` (``--list`` for the names).
"""
