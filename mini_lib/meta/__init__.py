"""Meta-learning on any module and task family: functional MAML, FOMAML, Reptile, pretraining.

``functional`` holds the pure pieces (inner steps, meta-losses, their gradients) on parameter
dicts; ``training`` the config, the training loop given a task family, and the evaluation.
Chapter 08's maps from a task embedding to a module's weights: ``hypernetwork`` and
``conditioning`` (concatenation); ``context_encoder`` infers the embedding from transitions.
"""
