"""Model-based meta-RL (chapter 08, part 2): planning with a learned, adapted dynamics model.

- :mod:`mini_lib.model_based.planning`: random shooting and the cross-entropy method;
- :mod:`mini_lib.model_based.mpc`: the MPC agent, GrBAL's online adaptation (Nagabandi et
  al. 2019), a non-adaptive model and the true-dynamics oracle (:func:`~.mpc.run_mpc`).
"""
