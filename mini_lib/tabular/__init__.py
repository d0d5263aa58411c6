"""Tabular methods: dynamic programming on a known model (chapter 00), TD control (chapter 01)."""
