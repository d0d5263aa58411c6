"""Regenerate a cached artefact in ``data/``: ``python -m mini_lib.artefacts NAME``.

``python -m mini_lib.artefacts --list`` lists the names. The command sits above every artefact
module, so it imports them directly; each generator takes ``workers`` and returns
``(payload, description)``, which :func:`mini_lib.artefacts.store.save` writes with its
manifest entry.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from mini_lib.artefacts import (
    a3c_scaling,
    a3c_sweep,
    actuator_nav,
    alphazero_ttt,
    dqn_sweep,
    families_nav,
    fewshot_glyphs,
    fewshot_part3,
    maml_nav,
    maml_weights,
    model_based_nav,
    pg_sweep,
    rl2_bandit,
)
from mini_lib.artefacts.store import save

#: artefact name -> generator ``(workers) -> (payload, description)``
GENERATORS: dict[str, Callable[..., tuple[dict, str]]] = {
    "dqn_sweep": dqn_sweep.generate_sweep,
    "dqn_ablations": dqn_sweep.generate_ablations,
    "pg_sweep": pg_sweep.generate_sweep,
    "maml_weights": maml_weights.generate,
    "a3c_sweep": a3c_sweep.generate_sweep,
    "a3c_scaling": a3c_scaling.generate,
    "maml_nav": maml_nav.generate,
    "rl2_bandit": rl2_bandit.generate,
    "families_nav": families_nav.generate,
    "actuator_nav": actuator_nav.generate,
    "model_based_nav": model_based_nav.generate,
    "fewshot_glyphs": fewshot_glyphs.generate,
    "fewshot_part3": fewshot_part3.generate,
    "alphazero_ttt": alphazero_ttt.generate,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mini_lib.artefacts",
                                     description="Regenerate a cached artefact in data/.")
    parser.add_argument("name", nargs="?", choices=sorted(GENERATORS))
    parser.add_argument("--list", action="store_true", help="list the artefacts")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args(argv)
    if args.list or args.name is None:
        for name, generator in sorted(GENERATORS.items()):
            print(f"{name:16s} {generator.__module__}.{generator.__name__}")
        return
    start = time.perf_counter()
    payload, description = GENERATORS[args.name](workers=args.workers)
    path = save(args.name, payload, description)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) in "
          f"{time.perf_counter() - start:.0f} s; manifest updated")


if __name__ == "__main__":
    main()
