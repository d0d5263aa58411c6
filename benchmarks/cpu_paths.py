"""Run a benchmark script on both of torch's CPU code paths, one after the other.

Stored notebook outputs are made on the pinned path (importing ``mini_lib`` sets
``ATEN_CPU_CAPABILITY=avx2``). A learner on Apple silicon or an x86 CPU without AVX2 runs
torch's default kernels instead; ``ATEN_CPU_CAPABILITY=default`` reproduces that path on this
machine (a stand-in, not the real thing). Training runs differ between the two paths in the
last bits and then in their curves, so every claim a notebook asserts is measured on both.

Usage::

    python benchmarks/cpu_paths.py benchmarks/dqn_seeds.py [its arguments]
    make bench-paths      # the seed tables behind every asserted training result
"""

from __future__ import annotations

import os
import subprocess
import sys

PATHS = {"pinned (avx2)": None, "default": "default"}


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    script, *arguments = sys.argv[1:]
    for label, capability in PATHS.items():
        env = dict(os.environ)
        if capability is None:
            env.pop("ATEN_CPU_CAPABILITY", None)
        else:
            env["ATEN_CPU_CAPABILITY"] = capability
        print(f"=== {script} on the {label} path", flush=True)
        subprocess.run([sys.executable, script, *arguments], env=env, check=True)


if __name__ == "__main__":
    main()
