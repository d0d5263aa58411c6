"""mini_lib: the small, tested helper library of the course "Everything is a mapping".

Notebooks tell the story; this package keeps every reusable piece. Importing it registers
the course's Gymnasium environments (``mini_lib/GridWorld-v0``) and pins torch's CPU code
paths (:func:`mini_lib.seeding.pin_cpu_numerics`) so that seeded runs reproduce the stored
outputs on other CPUs.
"""

from mini_lib import envs  # registers the environments with gymnasium
from mini_lib.checks import DivergenceError
from mini_lib.dynamic_programming import policy_evaluation, value_iteration
from mini_lib.plotting import use_course_style
from mini_lib.returns import discounted_return, effective_horizon
from mini_lib.seeding import pin_cpu_numerics, seed_everything
from mini_lib.widgets import Slider, SliderPanel, gamma_slider, int_slider, log_slider

# Before any torch computation (importing computes nothing): same bits on any AVX2 x86-64.
pin_cpu_numerics()

__version__ = "0.1.0"

__all__ = [
    "DivergenceError",
    "Slider",
    "SliderPanel",
    "__version__",
    "discounted_return",
    "effective_horizon",
    "envs",
    "gamma_slider",
    "int_slider",
    "log_slider",
    "pin_cpu_numerics",
    "policy_evaluation",
    "seed_everything",
    "use_course_style",
    "value_iteration",
]
