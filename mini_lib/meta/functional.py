r"""Model-agnostic meta-learning in ``torch.func``: MAML, FOMAML, Reptile and pretraining.

Any ``nn.Module`` becomes a pure function of a parameter dict through
``torch.func.functional_call``, and any task family is given by a loss function
``loss_fn(params, batch)`` over a *batch*: a pytree of tensors (a tensor, or tuples, lists
and dicts of them), e.g. ``(x, y)``. :func:`mse_loss` builds the usual regression loss.

On a task, a few SGD steps on its *support* batch turn the starting point :math:`\theta`
into adapted parameters

.. math:: \varphi = \theta - \alpha \nabla_\theta L(\theta; \text{support}) \quad
          (\text{repeated } n \text{ times}),

and MAML (Finn, Abbeel & Levine 2017) moves :math:`\theta` to minimise the loss on the
task's *query* batch after adaptation, :math:`\mathbb{E}_\text{task}\, L(\varphi(\theta);
\text{query})`. Its gradient flows back through the inner steps (a Hessian-vector product per
step). :func:`adapt` calls ``grad`` inside, :func:`maml_loss` ``vmap``\ s it over the tasks,
and :func:`meta_gradient` takes ``grad`` of that. The variants:

- MAML: the exact meta-gradient (second order);
- first-order MAML (``first_order=True``): the inner gradient treated as a constant, so the
  meta-gradient is :math:`\nabla_\varphi L(\varphi; \text{query})` (Finn et al. §5.2;
  :func:`first_order_gradient` when the adapted φ are already computed);
- Reptile (Nichol, Achiam & Schulman 2018, :func:`reptile_step`): no query loss at all, just
  :math:`\theta \leftarrow \theta + \varepsilon\,\text{mean}_\text{tasks}(\varphi - \theta)`;
- pretraining (:func:`pretrain_gradient`): the baseline, one network fitted to all tasks.

Meta-batches carry a leading *task* axis on every leaf: ``support`` and ``query`` of
:func:`maml_loss` hold one batch per task. :func:`adaptation_path` is the one step loop of
evaluation (the chapter's sliders and :func:`mini_lib.meta.training.evaluate_adaptation`).
The training loop lives in :mod:`mini_lib.meta.training`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, grad, grad_and_value, vmap

__all__ = [
    "Batch",
    "LossFn",
    "Params",
    "adapt",
    "adaptation_path",
    "first_order_gradient",
    "maml_loss",
    "meta_gradient",
    "mse_loss",
    "params_of",
    "pool_tasks",
    "pretrain_gradient",
    "reptile_step",
    "task_count",
]

#: A network's parameters by name, as ``functional_call`` takes them.
Params = dict[str, torch.Tensor]
#: A pytree of tensors: a tensor, or tuples, lists and dicts of batches, e.g. ``(x, y)``.
Batch = Any
#: ``loss_fn(params, batch) -> scalar tensor``: the loss of the network ``params`` on ``batch``.
LossFn = Callable[[Params, Batch], torch.Tensor]


# --- parameters, losses and batches ----------------------------------------------------------

def params_of(model: nn.Module) -> Params:
    """The module's parameters as a dict of tensors detached from autograd (same storage)."""
    return {name: p.detach() for name, p in model.named_parameters()}


def mse_loss(model: nn.Module) -> LossFn:
    """``loss_fn(params, (x, y))``: mean squared error of ``model`` with ``params`` on ``x``.

    ``model`` only lends its structure: ``functional_call`` swaps in ``params``, so a
    shape-only copy (e.g. on the ``"meta"`` device) serves as well as a trained one. The
    inputs may carry extra leading axes (a task axis) if the module broadcasts over them.
    """
    def loss_fn(params: Params, batch: Batch) -> torch.Tensor:
        x, y = batch
        return ((functional_call(model, params, (x,)) - y) ** 2).mean()
    return loss_fn


def _tree_map(fn: Callable[..., torch.Tensor], tree: Batch, *others: Batch) -> Batch:
    """``fn`` applied leaf by leaf to batches of the same structure (tuple, list, dict)."""
    if isinstance(tree, dict):
        return {key: _tree_map(fn, tree[key], *(o[key] for o in others)) for key in tree}
    if isinstance(tree, tuple | list):
        return type(tree)(_tree_map(fn, *leaves) for leaves in zip(tree, *others, strict=True))
    return fn(tree, *others)


def _leaves(tree: Batch) -> list[torch.Tensor]:
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, tuple | list):
        return [leaf for value in tree for leaf in _leaves(value)]
    return [tree]


def task_count(batch: Batch) -> int:
    """The length of the leading task axis of a meta-batch (of its first leaf)."""
    leaves = _leaves(batch)
    if not leaves:
        raise ValueError("a meta-batch must hold at least one tensor, got an empty pytree")
    return leaves[0].shape[0]


def pool_tasks(support: Batch, query: Batch) -> Batch:
    """Every task's support and query points in one batch: leaves joined along axis 1.

    The task axis stays in front, so a loss on the pooled batch must broadcast over it
    (:func:`mse_loss` of an MLP does); this is what :func:`pretrain_gradient` is given.
    """
    return _tree_map(lambda s, q: torch.cat([s, q], dim=1), support, query)


# --- the inner loop: adapt to one task -------------------------------------------------------

def adapt(params: Params, loss_fn: LossFn, batch: Batch, alpha: float, steps: int,
          first_order: bool = False) -> Params:
    """``steps`` SGD steps of size ``alpha`` on ``loss_fn`` of one task's ``batch``.

    Differentiable in ``params``: under an outer ``grad`` the result carries the second-order
    path through every inner gradient. ``first_order=True`` detaches the inner gradients, so
    ``∂φ/∂θ`` becomes the identity (first-order MAML, and all Reptile needs).
    """
    for _ in range(steps):
        gradient = grad(loss_fn)(params, batch)
        if first_order:
            gradient = {name: g.detach() for name, g in gradient.items()}
        params = {name: p - alpha * gradient[name] for name, p in params.items()}
    return params


def adaptation_path(params: Params, loss_fn: LossFn, batch: Batch, alpha: float,
                    steps: int) -> list[Params]:
    """``[θ, φ₁, …, φ_steps]``: the parameters before and after each of ``steps`` SGD steps.

    Each step is one first-order :func:`adapt` step (for evaluation: no meta-gradient flows
    through it). Scoring every entry gives the error against the number of steps.
    """
    path = [params]
    for _ in range(steps):
        path.append(adapt(path[-1], loss_fn, batch, alpha, 1, first_order=True))
    return path


def _query_loss_after_adaptation(params: Params, support: Batch, query: Batch, *,
                                 loss_fn: LossFn, alpha: float, steps: int,
                                 first_order: bool) -> torch.Tensor:
    adapted = adapt(params, loss_fn, support, alpha, steps, first_order)
    return loss_fn(adapted, query)


# --- the outer loop: meta-losses and their gradients -----------------------------------------

def maml_loss(params: Params, loss_fn: LossFn, support: Batch, query: Batch, alpha: float,
              steps: int, *, first_order: bool = False, vectorized: bool = True
              ) -> torch.Tensor:
    """Mean over the tasks of the query loss after ``steps`` inner steps on the support batch.

    ``support`` and ``query`` have a leading task axis. ``vectorized=True`` maps one task's
    computation over it with ``vmap`` (one batched call per layer); ``False`` runs the same
    function in a Python loop over tasks.
    """
    per_task = functools.partial(_query_loss_after_adaptation, loss_fn=loss_fn, alpha=alpha,
                                 steps=steps, first_order=first_order)
    if vectorized:
        losses = vmap(per_task, in_dims=(None, 0, 0))(params, support, query)
    else:
        def task(i: int) -> Batch:
            return _tree_map(lambda leaf: leaf[i], (support, query))
        losses = torch.stack([per_task(params, *task(i)) for i in range(task_count(support))])
    return losses.mean()


def meta_gradient(params: Params, loss_fn: LossFn, support: Batch, query: Batch, alpha: float,
                  steps: int, *, first_order: bool = False, vectorized: bool = True
                  ) -> tuple[Params, torch.Tensor]:
    """``(∇_θ maml_loss, maml_loss)``: MAML's meta-gradient, or FOMAML's with ``first_order``."""
    return grad_and_value(maml_loss)(params, loss_fn, support, query, alpha, steps,
                                     first_order=first_order, vectorized=vectorized)


def first_order_gradient(adapted: Params, loss_fn: LossFn, query: Batch
                         ) -> tuple[Params, torch.Tensor]:
    """FOMAML's ``(meta-gradient, meta-loss)`` from adapted parameters already at hand: the
    mean over tasks of :math:`\nabla_\varphi L(\varphi_i; \text{query}_i)`. ``adapted`` has a
    leading task axis (``vmap(adapt)``). In RL the adapted policies are needed anyway, to
    sample the query episodes; this spares adapting a second time. It equals
    ``meta_gradient(..., first_order=True)``."""
    gradients, losses = vmap(grad_and_value(loss_fn))(adapted, query)
    return {name: g.mean(dim=0) for name, g in gradients.items()}, losses.mean()


def pretrain_gradient(params: Params, loss_fn: LossFn, batch: Batch
                      ) -> tuple[Params, torch.Tensor]:
    """``(∇_θ loss, loss)`` of one network on ``batch``, e.g. all tasks' :func:`pool_tasks`."""
    return grad_and_value(loss_fn)(params, batch)


def reptile_step(params: Params, loss_fn: LossFn, support: Batch, query: Batch, alpha: float,
                 steps: int, epsilon: float) -> tuple[Params, torch.Tensor]:
    """Reptile's update ``θ + ε · mean_tasks(φ − θ)`` and the mean query loss at ``φ``.

    ``φ`` is ``steps`` SGD steps on each task's support batch. The query loss is only
    reported (as MAML's meta-loss is); Reptile's update never looks at the query batch.
    """
    with torch.no_grad():  # torch.func.grad inside still works: it ignores an outer no_grad
        def one_task(batch: Batch) -> Params:
            return adapt(params, loss_fn, batch, alpha, steps, first_order=True)

        adapted = vmap(one_task)(support)
        query_loss = vmap(loss_fn)(adapted, query).mean()
        updated = {name: p + epsilon * (adapted[name].mean(dim=0) - p)
                   for name, p in params.items()}
    return updated, query_loss
