"""Chapter 09's runs: AlphaZero on tic-tac-toe, and the contrast source article 004 gets wrong.

Stored in ``data/alphazero_ttt.pt``::

    python -m mini_lib.artefacts alphazero_ttt      # about 2 min with 2 workers on 2 cores

Runs, for training seeds :data:`SEEDS`:

* ``selfplay.s`` — AlphaGo Zero's recipe: the AlphaZero loop (:data:`SELF_PLAY`) from random
  weights, no expert anywhere;
* ``pretrained.s`` — AlphaGo's (2016) first stage: supervised learning on the games of a
  mediocre expert (:mod:`~mini_lib.games.expert`, :data:`PRETRAIN`);
* ``pretrained_selfplay.s`` — that network, then improved by the same self-play loop;
* ``selfplay_finetuned.s`` — the article's description taken literally ("pretrain by
  self-play, then fine-tune on expert games"): ``selfplay.s`` fine-tuned on the expert's games.

Keys: ``<run>.<parameter>`` (weights), ``<run>.value_error`` and ``<run>.policy_optimal`` (per
iteration for the self-play runs, one number otherwise), ``<run>.losses``, ``<run>.seconds``,
and ``<run>.card.<entry>``, the exact :func:`~mini_lib.games.scorecard.scorecard`.
"""

from __future__ import annotations

import torch

from mini_lib.artefacts.store import load_tensors
from mini_lib.games.alphazero import AlphaZeroConfig, train_alphazero
from mini_lib.games.expert import PretrainConfig, pretrain
from mini_lib.games.network import PolicyValueNet, position_table
from mini_lib.games.scorecard import scorecard
from mini_lib.parallel import run_jobs

__all__ = ["NAME", "PRETRAIN", "RUNS", "SEEDS", "SELF_PLAY", "generate", "load", "network",
           "train_run"]

NAME = "alphazero_ttt"
SEEDS = (0, 1, 2)
SELF_PLAY = AlphaZeroConfig()
PRETRAIN = PretrainConfig()
#: run kind -> (what it starts from, or None, and its label)
RUNS = {"selfplay": (None, "self-play only (AlphaGo Zero)"),
        "pretrained": (None, "expert games only (supervised)"),
        "pretrained_selfplay": ("pretrained", "expert games, then self-play (AlphaGo)"),
        "selfplay_finetuned": ("selfplay", "self-play, then expert games (article 004)")}


def _parse(run: str) -> tuple[str, int]:
    kind, _, seed = run.rpartition(".")
    if kind not in RUNS or not seed.isdigit():
        raise ValueError(f"run must be <kind>.<seed> with kind one of {sorted(RUNS)}, got "
                         f"{run!r}")
    return kind, int(seed)


def train_run(run: str, start: dict[str, torch.Tensor] | None = None
              ) -> dict[str, torch.Tensor]:
    """Train one run (``start``: the weights its kind starts from) and score it."""
    torch.set_num_threads(1)
    kind, seed = _parse(run)
    if (RUNS[kind][0] is None) != (start is None):
        raise ValueError(f"run {run!r} {'needs' if start is None else 'takes no'} start weights")
    if kind in ("selfplay", "pretrained_selfplay"):
        result = train_alphazero(SELF_PLAY, seed, initial_state=start)
    else:
        result = pretrain(PRETRAIN, seed, initial_state=start)
    curves = {"value_error": torch.tensor(result.value_error),
              "policy_optimal": torch.tensor(result.policy_optimal)}
    out = {f"{run}.{key}": value.detach().clone() for key, value in result.net.state_dict().items()}
    out.update({f"{run}.{key}": value for key, value in curves.items()})
    out[f"{run}.losses"] = torch.tensor(result.losses)
    out[f"{run}.seconds"] = torch.tensor(result.seconds)
    for key, value in scorecard(position_table(result.net)).items():
        out[f"{run}.card.{key}"] = torch.as_tensor(value)
    return out


def _weights(stored: dict[str, torch.Tensor], run: str) -> dict[str, torch.Tensor]:
    names = PolicyValueNet().state_dict().keys()
    missing = [n for n in names if f"{run}.{n}" not in stored]
    if missing:
        raise KeyError(f"no weights of run {run!r} stored")
    return {n: stored[f"{run}.{n}"] for n in names}


def network(stored: dict[str, torch.Tensor], run: str) -> PolicyValueNet:
    """The stored network of ``run`` (e.g. ``selfplay.0``), in eval mode."""
    _parse(run)
    net = PolicyValueNet(SELF_PLAY.hidden)
    net.load_state_dict(_weights(stored, run))
    return net.eval()


def _job(job: tuple[str, dict[str, torch.Tensor] | None]) -> dict[str, torch.Tensor]:
    return train_run(*job)


def generate(workers: int = 2) -> tuple[dict[str, torch.Tensor], str]:
    """The runs from scratch first, then the ones that start from them."""
    stored: dict[str, torch.Tensor] = {}
    first = [(f"{kind}.{s}", None) for s in SEEDS for kind in RUNS if RUNS[kind][0] is None]
    for part in run_jobs(_job, first, workers, "from scratch"):
        stored.update(part)
    second = [(f"{kind}.{s}", _weights(stored, f"{RUNS[kind][0]}.{s}"))
              for s in SEEDS for kind in RUNS if RUNS[kind][0] is not None]
    for part in run_jobs(_job, second, workers, "from a start"):
        stored.update(part)
    return stored, (f"Tic-tac-toe policy/value networks, seeds {SEEDS}: AlphaZero self-play "
                    f"({SELF_PLAY.iterations} iterations of {SELF_PLAY.games} games, "
                    f"{SELF_PLAY.simulations} simulations a move), supervised on "
                    f"{PRETRAIN.games} games of a one-move-lookahead expert, expert then "
                    f"self-play, self-play then expert; exact scorecards against minimax "
                    f"and random play")


def load() -> dict[str, torch.Tensor]:
    """The stored runs (checksum verified); regenerate as above."""
    return load_tensors(NAME)
