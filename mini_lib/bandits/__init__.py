"""Bernoulli bandits without learning to learn: the yardsticks for RL² (chapter 07).

``baselines`` runs classical policies (random, greedy, ε-greedy, UCB1, Thompson sampling) on
many tasks at once and tunes their parameter; ``gittins`` computes the Gittins index of a
Beta posterior by calibration and plays it; ``bayes_dp`` solves the two-armed finite-horizon
problem exactly (the Bayes-optimal value and policy) by dynamic programming.
"""
