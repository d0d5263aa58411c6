"""mini_lib: the small, tested helper library of the course "Everything is a mapping".

Notebooks tell the story; this package keeps every reusable piece, one floor per concept.
Importing it registers the course's Gymnasium environments (``mini_lib/GridWorld-v0``, …) and
pins torch's CPU code paths (:func:`mini_lib.seeding.pin_cpu_numerics`); it imports no
notebook UI (ipywidgets, IPython, matplotlib), so worker processes start light.

Map (``mini_lib/README.md`` has the chapter each floor serves):

=====================  ==================================================================
ground floor           ``checks`` (validation, divergence stop), ``seeding``, ``returns``,
                       ``nets`` (the MLP builder), ``evaluation`` (greedy episodes, solved
                       check), ``parallel`` (process pool)
``envs/``              grid world, maximization bias, the tabular MDP type, env checks
``tabular/``           dynamic programming, the sampling table, TD control and its loop engine
``deep_q/``            DQN and its replay buffer
``policy_gradient/``   config, advantages, networks, rollouts, losses, training, exact gradient
``meta/``              functional MAML / FOMAML / Reptile / pretraining on any module and task
``tasks/``             task families for ``meta/`` (sinusoids)
``artefacts/``         the ``data/`` store and each artefact (``python -m mini_lib.artefacts``)
``ui/``                sliders and plotting (imported by notebooks and demos only)
``demos/``             ``chNN_*``: the pure functions and panels behind each chapter's sliders
``exercises/``         the checking kit and ``chNN_*`` checkers
=====================  ==================================================================
"""

from mini_lib import envs  # registers the environments with gymnasium
from mini_lib.checks import DivergenceError
from mini_lib.seeding import pin_cpu_numerics, seed_everything

# Before any torch computation (importing computes nothing): same bits on any AVX2 x86-64.
pin_cpu_numerics()

__version__ = "0.1.0"

__all__ = ["DivergenceError", "__version__", "envs", "pin_cpu_numerics", "seed_everything"]
