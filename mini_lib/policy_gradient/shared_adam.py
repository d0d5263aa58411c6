r"""Adam whose moments and step count live in shared memory: A3C's "shared statistics".

Mnih et al. (2016) found RMSProp/Adam with statistics shared by all asynchronous workers more
robust than one optimiser per worker. :class:`SharedAdam` is ``torch.optim.Adam`` with its
state created up front and moved to shared memory, so every worker's ``optimizer.step()``
updates the same ``exp_avg``, ``exp_avg_sq`` and ``step`` tensors in place — and the same
shared parameters.

Two things make it work on torch ≥ 1.12:

* ``step`` must be a tensor. Adam passes ``state_steps`` to its update functions as a list of
  singleton tensors; a Python ``int`` (as in MorvanZhou/pytorch-A3C's widely copied
  ``SharedAdam``) fails with "``state_steps`` argument must contain a list of singleton
  tensors" — and an int could not be shared between processes anyway. Here it is a 0-d
  float32 tensor, like Adam's own, in shared memory.
* ``foreach=False``: the per-parameter path does ``step += 1``, ``exp_avg.lerp_(…)``,
  ``param.addcdiv_(…)`` in place on the shared tensors (on CPU it is also the default path).

Workers update without a lock, so two of them may both read ``step = 41`` and both write 42:
the race on the step count (and on the moments and parameters) is tolerated, exactly as in
Hogwild (Recht et al. 2011) and the paper — a lost increment only shifts the bias correction.

Never pickle the optimiser itself across ``spawn``: send :meth:`SharedAdam.shared_state` (plain
shared tensors) and build a new ``SharedAdam(..., state=...)`` over the shared parameters in
the worker.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["SharedAdam"]


class SharedAdam(torch.optim.Adam):
    """``torch.optim.Adam(foreach=False)`` with its state eagerly initialised and shared.

    ``params`` is anything Adam accepts (parameters or parameter groups, e.g.
    :func:`~mini_lib.policy_gradient.updates.optimizer_groups`); the parameters themselves
    should be shared (``module.share_memory()``) for the steps to reach other processes.
    ``state`` (from :meth:`shared_state` of the optimiser that created it) makes this
    optimiser use those same tensors instead of creating new ones: that is how a worker
    process joins the shared statistics. Without ``state``, the first step is bit-identical
    to ``torch.optim.Adam(..., foreach=False)``.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 state: list[dict[str, torch.Tensor]] | None = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=False)
        parameters = [p for group in self.param_groups for p in group["params"]]
        if state is not None and len(state) != len(parameters):
            raise ValueError(f"state must hold one entry per parameter ({len(parameters)}), "
                             f"got {len(state)}")
        for i, p in enumerate(parameters):
            entry = self._new_state(p, amsgrad) if state is None else dict(state[i])
            self._check_entry(i, p, entry, amsgrad)
            self.state[p] = entry

    @staticmethod
    def _new_state(p: torch.Tensor, amsgrad: bool) -> dict[str, torch.Tensor]:
        entry = {"step": torch.zeros((), dtype=torch.float32),
                 "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                 "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        if amsgrad:
            entry["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        for tensor in entry.values():
            tensor.share_memory_()
        return entry

    @staticmethod
    def _check_entry(i: int, p: torch.Tensor, entry: dict[str, torch.Tensor],
                     amsgrad: bool) -> None:
        keys = {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if amsgrad else set())
        if set(entry) != keys:
            raise ValueError(f"state[{i}] must have keys {sorted(keys)}, got {sorted(entry)}")
        if entry["step"].numel() != 1 or not entry["step"].is_floating_point():
            raise ValueError(f"state[{i}]['step'] must be a one-element float tensor, got "
                             f"{entry['step']!r}")
        for key in keys - {"step"}:
            if entry[key].shape != p.shape:
                raise ValueError(f"state[{i}][{key!r}] has shape {tuple(entry[key].shape)}, "
                                 f"its parameter {tuple(p.shape)}")

    def shared_state(self) -> list[dict[str, torch.Tensor]]:
        """The shared state tensors, one dict per parameter in parameter-group order: pass
        them to a worker process, which builds ``SharedAdam(groups, state=...)``."""
        return [dict(self.state[p]) for group in self.param_groups for p in group["params"]]

    def is_shared(self) -> bool:
        """Whether every state tensor lives in shared memory."""
        return all(t.is_shared() for entry in self.shared_state() for t in entry.values())
