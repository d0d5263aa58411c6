"""Metric-based few-shot learning (chapter 08, part 2): data and episodes.

``glyphs`` generates the course's synthetic, Omniglot-like handwritten characters from a seed
(nothing is downloaded or stored); ``episodes`` samples N-way K-shot support/query episodes from
them as torch tensors, and scores the raw-pixel nearest-prototype baseline.
"""
