"""Metric-based few-shot learning (chapter 08, part 2): data and episodes.

``glyphs`` generates the course's synthetic, Omniglot-like handwritten characters from a seed
(nothing is downloaded or stored); ``episodes`` samples N-way K-shot support/query episodes from
them as torch tensors, and scores the raw-pixel nearest-prototype baseline.

``embedding`` is the learned CNN (``GlyphEmbedding``); ``metric`` the episode logits and loss
of Prototypical Networks and a cosine Matching Networks variant; ``training`` trains them
episodically (``MetricConfig``, ``train_metric``) and scores them per episode;
``glyph_tasks`` makes the same episodes a task family for chapter 05's MAML (``GlyphFamily``,
``adapted_accuracies``).

Part 3 (issue 20, library only so far): ``contrastive`` pretrains the embedding on unlabelled
glyphs (two augmented views, SimCLR's loss); ``graph`` is a graph-network learner over an
episode's support and query nodes (Garcia & Bruna 2018) and ``graph_training`` trains it.
"""
