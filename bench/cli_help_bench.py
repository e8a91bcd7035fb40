"""How long ``lorapilot --help`` takes (goal: under 0.3 s), beside ``python -c pass`` as the floor.

    python bench/cli_help_bench.py [runs]

Prints the median wall time of each over ``runs`` runs (default 10).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

GOAL_S = 0.3


def median_run(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    floor = median_run([sys.executable, "-c", "pass"], runs)
    helped = median_run([sys.executable, "-m", "lorapilot", "--help"], runs)
    print(f"{'python -c pass (floor)':<28} {floor:6.3f} s")
    print(f"{'lorapilot --help':<28} {helped:6.3f} s   goal < {GOAL_S} s: {'met' if helped < GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
