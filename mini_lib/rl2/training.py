r"""Training RL²: advantage actor-critic on whole trials of freshly sampled bandits.

Every update samples ``tasks_per_update`` bandits from the task sampler, plays one trial on
each (:func:`~mini_lib.rl2.trials.play_trials`), and takes one Adam step on the
policy-gradient floor's loss (:func:`~mini_lib.policy_gradient.losses.combine_losses`):
GAE(λ) advantages over the ``n`` pulls of a trial (:func:`~mini_lib.policy_gradient.advantages.
gae_advantages`), the critic's squared error, an entropy bonus decayed linearly to
``entropy_final``, and the one clipped update with a divergence stop
(:func:`~mini_lib.policy_gradient.updates.gradient_step`). A trial is one episode: its last
pull is terminal, and the memory is never carried into the next trial.

Nothing here knows the task distribution: the sampler, ``k`` and ``n`` are arguments, so the
same trainer learns other priors (dependent arms, say) by being given another sampler.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.distributions import Categorical
from tqdm.auto import tqdm

from mini_lib.checks import check_in_range, check_int, check_positive, check_probability
from mini_lib.envs.bernoulli_bandit import TaskSampler, sample_tasks, uniform_arms
from mini_lib.policy_gradient.advantages import gae_advantages
from mini_lib.policy_gradient.config import PolicyGradientConfig
from mini_lib.policy_gradient.losses import PolicyGradientLoss, combine_losses
from mini_lib.policy_gradient.updates import gradient_step
from mini_lib.rl2.policy import RecurrentActorCritic
from mini_lib.rl2.trials import Trials, play_trials

__all__ = ["RL2Config", "RL2Result", "rl2_loss", "train_rl2", "trial_advantages"]


@dataclass(frozen=True)
class RL2Config:
    """Hyperparameters of an RL² run, validated on creation.

    The task: ``n_arms`` ≥ 2 arms, ``n_pulls`` ≥ 1 pulls per trial. Training: ``updates``
    Adam steps at ``learning_rate`` on ``tasks_per_update`` trials each; GRU width
    ``hidden``; ``gamma`` and ``gae_lambda`` of the advantages (within a trial); the entropy
    bonus falls linearly from ``entropy_coef`` to ``entropy_final``; ``value_coef`` weighs
    the critic, which shares the GRU with the policy (keep it small: its squared error on
    returns of up to ``n`` would otherwise dominate the clipped step); gradient norm clipped to
    ``max_grad_norm``.

    The defaults are Wang et al. (2016)'s settings for bandits (γ 0.9, λ 1, critic weight
    0.05, entropy 0.05; here decayed to 0 so the last updates exploit) with Adam 3e-3 on 64
    trials an update: of the settings we tried on 10-pull trials they learned fastest, and
    the same recipe at Adam 2e-3 learned 100-pull trials. With γ = 1, λ = 0.3, critic weight
    0.5 and entropy 0.01, 10-pull agents reached 6.29-6.32 after 1500-2000 updates (6.50
    with these defaults). Fine-tuning a 10-pull agent on 100-pull trials with γ = 1, λ = 0.3,
    critic weight 0.05 and no entropy bonus collapsed it onto one arm (66 → 50 in 400
    updates).
    """

    n_arms: int = 5
    n_pulls: int = 10
    updates: int = 2000
    tasks_per_update: int = 64
    hidden: int = 64
    learning_rate: float = 3e-3
    gamma: float = 0.9
    gae_lambda: float = 1.0
    entropy_coef: float = 0.05
    entropy_final: float = 0.0
    value_coef: float = 0.05
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        check_int("n_arms", self.n_arms, 2)
        check_int("n_pulls", self.n_pulls, 1)
        check_int("updates", self.updates, 1)
        check_int("tasks_per_update", self.tasks_per_update, 2)
        check_int("hidden", self.hidden, 1)
        check_positive("learning_rate", self.learning_rate)
        check_probability("gamma", self.gamma)
        check_probability("gae_lambda", self.gae_lambda)
        check_in_range("entropy_coef", self.entropy_coef, 0.0)
        check_in_range("entropy_final", self.entropy_final, 0.0)
        check_in_range("value_coef", self.value_coef, 0.0)
        check_positive("max_grad_norm", self.max_grad_norm)

    def loss_config(self, update: int = 0) -> PolicyGradientConfig:
        """The policy-gradient floor's config for update ``update`` (its entropy weight)."""
        fraction = update / max(self.updates - 1, 1)
        entropy = self.entropy_coef + fraction * (self.entropy_final - self.entropy_coef)
        return PolicyGradientConfig(
            total_steps=self.updates * self.tasks_per_update * self.n_pulls,
            learning_rate=self.learning_rate, value_learning_rate=self.learning_rate,
            gamma=self.gamma, normalize_advantages=True, entropy_coef=max(entropy, 0.0),
            value_coef=self.value_coef, max_grad_norm=self.max_grad_norm,
            hidden=(self.hidden,), advantage="gae", gae_lambda=self.gae_lambda)


@dataclass
class RL2Result:
    """A trained model and its curves, one entry per update: the training trials' mean
    total reward and the policy's mean entropy (nats)."""

    model: RecurrentActorCritic
    returns: list[float]
    entropies: list[float]
    seconds: float


@torch.no_grad()
def trial_advantages(rewards: torch.Tensor, values: torch.Tensor, gamma: float,
                     lam: float) -> torch.Tensor:
    """GAE(λ) over whole trials ``(n, B)``: the trial is the episode, so its last pull is
    terminal (nothing follows it; the memory is reset) and ``V`` after it is 0."""
    next_values = torch.cat([values[1:], torch.zeros_like(values[:1])])
    terminated = torch.zeros_like(rewards, dtype=torch.bool)
    terminated[-1] = True
    return gae_advantages(rewards, values, next_values, terminated,
                          torch.zeros_like(terminated), gamma, lam)


def rl2_loss(model: RecurrentActorCritic, trials: Trials,
             config: PolicyGradientConfig) -> PolicyGradientLoss:
    """The actor-critic loss of a batch of trials: the model re-reads every input sequence
    (one GRU call, with a graph); :func:`trial_advantages`; the critic fitted to ``Â + V``."""
    out = model(trials.inputs)
    dist = Categorical(logits=out.logits)
    values = out.values
    advantages = trial_advantages(trials.rewards, values.detach(), config.gamma,
                                  config.gae_lambda)
    targets = advantages + values.detach()
    value_loss = ((values - targets) ** 2).mean()
    return combine_losses(dist.log_prob(trials.actions), advantages, dist.entropy(),
                          value_loss, None, config)


def train_rl2(config: RL2Config, seed: int = 0, sampler: TaskSampler = uniform_arms,
              model: RecurrentActorCritic | None = None, progress: bool = False,
              stop_after: int | None = None) -> RL2Result:
    """Train an RL² agent on bandits from ``sampler`` (``config.n_arms`` arms,
    ``config.n_pulls`` pulls a trial); ``model`` continues training a given network.

    Seeded by ``seed`` in [0, 999]: the initial weights (``torch.manual_seed``), the tasks
    of update ``u`` (``sample_tasks(seed=seed · 10⁶ + u)``, always below 10⁹: the course
    evaluates on task seeds ≥ 10⁹) and the arm and reward draws (a torch generator).
    ``stop_after=u`` stops after ``u`` updates of the same schedule: exactly the first ``u``
    updates of the full run (a shorter ``config.updates`` would decay the entropy faster).
    """
    seed = check_int("seed", seed, 0, 999)
    if model is None:
        torch.manual_seed(seed)
        model = RecurrentActorCritic(config.n_arms, config.hidden)
    elif model.n_arms != config.n_arms:
        raise ValueError(f"model has {model.n_arms} arms, config.n_arms is {config.n_arms}")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    returns, entropies = [], []
    start = time.perf_counter()
    n_updates = config.updates if stop_after is None else check_int(
        "stop_after", stop_after, 1, config.updates)
    bar = tqdm(range(n_updates), disable=not progress, desc="RL²", unit="update")
    for update in bar:
        probs = sample_tasks(config.tasks_per_update, seed=seed * 1_000_000 + update,
                             k=config.n_arms, sampler=sampler)
        trials = play_trials(model, probs, config.n_pulls, generator)
        loss_config = config.loss_config(update)
        loss = rl2_loss(model, trials, loss_config)
        gradient_step(loss, optimizer, loss_config, update)
        returns.append(float(trials.totals.mean()))
        entropies.append(float(loss.entropy))
        if progress and update % 50 == 0:
            bar.set_postfix(total=f"{np.mean(returns[-50:]):.2f}")
    return RL2Result(model, returns, entropies, time.perf_counter() - start)
