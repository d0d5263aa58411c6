"""Task families for meta-learning: ``sinusoid`` (Finn et al. 2017's sine waves), 2D navigation
(``navigation``, ``navigation_training``; chapter 08's learners in ``navigation_context`` and
``navigation_families``)."""
