"""Supervised task families for meta-learning: ``sinusoid`` (Finn et al. 2017's sine waves)."""
