"""Exercise checkers: the kit (:mod:`mini_lib.exercises.kit`) and one module per chapter.

A checker runs the learner's function on a handful of cases, compares with the reference, and
when the answers match a known typical mistake, names it.
"""
