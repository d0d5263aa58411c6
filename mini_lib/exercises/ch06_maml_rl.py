"""Checkers for chapter 06's exercises: the inner policy-gradient step, and the advantages.

:func:`check_inner_pg_step` runs the learner's ``inner_pg_step(model, params, batch, alpha)``
— one step of vanilla policy gradient on one goal's support trajectories, ``batch =
(observations, actions, advantages, mask)``, that returns *new* parameters and keeps the
graph back to θ — on tiny float64 navigation policies and sampled batches. It compares the
values with the library's :func:`~mini_lib.meta.functional.adapt` on
:func:`~mini_lib.tasks.navigation.pg_loss`, and the meta-gradient through the step (the
query surrogate after the step, differentiated back to θ) with the exact second-order one.
It names: adapted parameters cut off from θ (``detach``: no meta-gradient at all), the
first-order shortcut (``create_graph`` missing), a step up the surrogate instead of down it,
and a mean over every padded step instead of the real ones.

:func:`check_baselined_reward_to_go` runs ``baselined_reward_to_go(rewards, mask, gamma)``
on one goal's trajectories ``(K, H)`` against
:func:`~mini_lib.tasks.navigation.baselined_reward_to_go` and names: no discount, the
return from the start instead of the reward-to-go, the baseline averaged over all K
trajectories (ended ones included), the baseline not subtracted, and advantages left on the
padded steps after an episode's end.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mini_lib.envs.point_navigation import sample_tasks
from mini_lib.exercises.kit import (
    CheckResult,
    flat_params,
    report_failure,
    run_cases,
    single_threaded,
    tensors_close,
)
from mini_lib.meta.functional import Params, adapt, meta_gradient, params_of
from mini_lib.returns import reward_to_go
from mini_lib.tasks.navigation import (
    NavigationPolicy,
    baselined_reward_to_go,
    log_prob,
    pg_loss,
    sample_batch,
)

__all__ = ["check_baselined_reward_to_go", "check_inner_pg_step"]

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
InnerStep = Callable[[NavigationPolicy, Params, Batch, float], Params]

# -- exercise 1: the inner policy-gradient step ----------------------------------------------

_DETACHED_HINT = ("the adapted parameters are cut off from θ (detach(), .data, torch.no_grad "
                  "or tensors rebuilt from numbers): the query loss after your step has no "
                  "gradient with respect to θ, so MAML cannot learn. Return "
                  "{name: p - alpha * g[name] for name, p in params.items()} computed from "
                  "the parameters themselves.")
_FIRST_ORDER_HINT = ("the values are right, but the meta-gradient through your step is "
                     "first-order MAML's: the inner gradient is treated as a constant. Use "
                     "torch.func.grad, or torch.autograd.grad(..., create_graph=True), so that "
                     "the second-order term reaches θ.")
_SIGN_HINT = ("your step goes *up* the surrogate loss: that lowers the return. The surrogate "
              "is −Σ m·log π·A / Σ m; step against its gradient, p − α·g.")
_MEAN_HINT = ("you average over every step, padded ones included (.mean()); average over the "
              "real steps only: divide the masked sum by mask.sum().")


def _pg_cases() -> list[tuple[NavigationPolicy, Params, Batch, Batch, float]]:
    """(policy, θ, support, query, α): tiny float64 policies, one goal's sampled batches."""
    cases = []
    for seed, hidden, horizon, alpha in [(0, (5,), 8, 0.1), (1, (4, 4), 12, 0.3),
                                         (2, (6,), 20, 0.05)]:
        torch.manual_seed(seed)
        model = NavigationPolicy(hidden).double()
        theta = {name: p.detach().clone() for name, p in params_of(model).items()}
        goals = sample_tasks(2, seed=50 + seed)
        generator = torch.Generator().manual_seed(seed)
        support, query = (_end_early(sample_batch(model, theta, goals, 3, generator,
                                                  horizon=horizon).batch, seed)
                          for _ in range(2))
        cases.append((model, theta, support, query, alpha))
    return cases


def _end_early(batch: Batch, seed: int) -> Batch:
    """The first goal's trajectories with the first one ended half-way, as if it had reached
    the goal: short random episodes almost never do, and the mask must matter."""
    observations, actions, adv, mask = (x[0].clone() for x in batch)
    mask[0, mask.shape[1] // 2 + seed:] = 0.0
    return observations, actions, adv * mask, mask


def _mistaken_steps(model: NavigationPolicy, theta: Params, support: Batch,
                    alpha: float) -> dict[str, torch.Tensor]:
    observations, actions, adv, mask = support

    def unmasked_mean(params: Params) -> torch.Tensor:
        return -(mask * log_prob(model, params, observations, actions) * adv).mean()

    steps = {
        _SIGN_HINT: adapt(theta, pg_loss(model), support, -alpha, 1),
        _MEAN_HINT: {name: theta[name] - alpha * g
                     for name, g in torch.func.grad(unmasked_mean)(theta).items()},
    }
    return {hint: flat_params(step) for hint, step in steps.items()}


def check_inner_pg_step(fn: InnerStep) -> CheckResult:
    """Check ``fn(model, params, batch, alpha) -> adapted``: ``θ − α ∇_θ L(θ; batch)`` with
    ``L`` the masked policy-gradient surrogate, differentiable back to θ (second order)."""
    what = "inner_pg_step"
    with single_threaded():
        for model, theta, support, query, alpha in _pg_cases():
            leaves = {name: p.clone().requires_grad_(True) for name, p in theta.items()}
            try:
                adapted = fn(model, leaves, support, alpha)
            except Exception as error:  # the learner's bug, reported rather than raised
                return report_failure(what, error)
            if not isinstance(adapted, dict) or adapted.keys() != theta.keys():
                return CheckResult(False, f"❌ {what}: return a dict with the same names as "
                                          f"params ({sorted(theta)}), got {type(adapted)}.")
            expected = flat_params(adapt(theta, pg_loss(model), support, alpha, 1))
            got = flat_params(adapted)
            if not tensors_close(got, expected):
                for hint, mistaken in _mistaken_steps(model, theta, support, alpha).items():
                    if tensors_close(got, mistaken):
                        return CheckResult(False, f"❌ {what}: {hint}")
                return CheckResult(False, f"❌ {what}: the adapted parameters are wrong "
                                          f"(largest difference "
                                          f"{(got - expected).abs().max():.3g}); one step is "
                                          f"θ − α·∇θ of the masked surrogate.")
            query_loss = pg_loss(model)(adapted, query)
            if not query_loss.requires_grad:
                return CheckResult(False, f"❌ {what}: {_DETACHED_HINT}")
            grads = torch.autograd.grad(query_loss, list(leaves.values()), allow_unused=True)
            if all(g is None for g in grads):
                return CheckResult(False, f"❌ {what}: {_DETACHED_HINT}")
            got_meta = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                  for g, p in zip(grads, leaves.values(), strict=True)])
            batched = (tuple(x[None] for x in support), tuple(x[None] for x in query))
            exact, _ = meta_gradient(theta, pg_loss(model), *batched, alpha, 1)
            first, _ = meta_gradient(theta, pg_loss(model), *batched, alpha, 1,
                                     first_order=True)
            if not tensors_close(got_meta, flat_params(exact)):
                if tensors_close(got_meta, flat_params(first)):
                    return CheckResult(False, f"❌ {what}: {_FIRST_ORDER_HINT}")
                return CheckResult(False, f"❌ {what}: the values are right but the "
                                          f"meta-gradient through your step is not MAML's.")
    return CheckResult(True, f"✅ {what}: right values and the exact second-order "
                             f"meta-gradient on all 3 policies.")


# -- exercise 2: reward-to-go minus a time-indexed baseline, with masks ------------------------

def _reward_cases() -> list[tuple[tuple, object, str]]:
    """One goal's trajectories: rewards 0 after the end, as the batched env pads them."""
    cases = []
    for seed, (k, h, gamma) in enumerate([(3, 5, 0.9), (4, 8, 0.99), (2, 6, 0.5)]):
        generator = torch.Generator().manual_seed(seed)
        lengths = torch.randint(2, h + 1, (k,), generator=generator)
        lengths[0] = h  # at least one runs to the horizon, one ends early
        lengths[1] = min(int(lengths[1]), h - 2)
        mask = (torch.arange(h)[None, :] < lengths[:, None]).double()
        rewards = -torch.rand(k, h, generator=generator, dtype=torch.float64) * mask
        expected = baselined_reward_to_go(rewards, mask, gamma).numpy()
        cases.append(((rewards, mask, gamma), expected,
                      f"{k} trajectories of lengths {lengths.tolist()}, γ = {gamma}"))
    return cases


def _all_k_baseline(rewards, mask, gamma):
    to_go = reward_to_go(rewards, gamma, mask)
    return ((to_go - to_go.mean(dim=0, keepdim=True)) * mask).numpy()


def _no_mask_on_output(rewards, mask, gamma):
    to_go = reward_to_go(rewards, gamma, mask)
    baseline = (to_go * mask).sum(dim=0) / mask.sum(dim=0).clamp(min=1.0)
    return (to_go - baseline).numpy()


def _from_the_start(rewards, mask, gamma):
    discount = gamma ** torch.arange(rewards.shape[1], dtype=rewards.dtype)
    returns = (rewards * discount).sum(dim=1, keepdim=True).expand_as(rewards) * mask
    baseline = (returns * mask).sum(dim=0) / mask.sum(dim=0).clamp(min=1.0)
    return ((returns - baseline) * mask).numpy()


_REWARD_MISTAKES = [
    (lambda r, m, g: baselined_reward_to_go(r, m, 1.0).numpy(),
     "you ignore γ: discount the later rewards, G_t = r_t + γ·G_{t+1}."),
    (_from_the_start, "every step gets the whole episode's discounted return; a step's "
                      "weight should be the reward *to go* from it, G_t = Σ_{t'≥t} γ^{t'−t} "
                      "r_{t'} (earlier rewards only add noise)."),
    (_all_k_baseline, "your baseline averages over all K trajectories at step t, ended ones "
                      "(reward-to-go 0) included; average over the trajectories still "
                      "running then: Σ_k m·G / Σ_k m."),
    (lambda r, m, g: reward_to_go(r, g, m).numpy(),
     "you return the reward-to-go itself: subtract the time-indexed baseline."),
    (_no_mask_on_output, "after an episode's end your advantages are −baseline instead of 0: "
                         "multiply by the mask, padded steps must carry no weight."),
]


def check_baselined_reward_to_go(
        fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> CheckResult:
    """Check ``fn(rewards, mask, gamma)`` on ``(K, H)`` trajectories of one goal."""

    def learner(rewards, mask, gamma):
        out = fn(rewards.clone(), mask.clone(), gamma)
        return out.detach().numpy() if isinstance(out, torch.Tensor) else out

    with single_threaded():
        return run_cases(learner, _reward_cases(), _REWARD_MISTAKES, "baselined_reward_to_go")
