"""The bench's picture: cold-start ratios per function and where a send's cost goes (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

from textgate_local.bench_cold import ColdStart
from textgate_local.bench_cost import Counts

COLD_START_GOAL = 1.15
COST_GOAL = 9.25  # the single send's goal (issue 17)


def draw(cold: list[ColdStart], cost: Counts, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 7), gridspec_kw={"width_ratios": [3, 2]})
    ordered = sorted(cold, key=lambda item: item.ratio)
    names = [item.function.removesuffix("Function") for item in ordered]
    ratios = [item.ratio for item in ordered]
    colours = ["tab:red" if ratio > COLD_START_GOAL else "tab:green" for ratio in ratios]
    left.barh(names, ratios, color=colours)
    left.axvline(1.0, color="black", linewidth=0.8)
    left.axvline(COLD_START_GOAL, color="tab:red", linestyle="--", linewidth=1, label=f"goal {COLD_START_GOAL}")
    left.set_xlim(0.9, max([*ratios, COLD_START_GOAL]) + 0.05)
    left.set_xlabel("handler import / floor (same modules without textgate)")
    left.set_title("Cold start against its floor")
    left.legend(loc="lower right")
    left.tick_params(axis="y", labelsize=8)

    costs = sorted(((name, usd * 1e6) for name, usd in cost.costs().items()), key=lambda pair: pair[1])
    right.barh([name for name, _ in costs], [usd for _, usd in costs], color="tab:blue")
    for index, (_, usd) in enumerate(costs):
        right.text(usd, index, f" \\${usd:.2f}", va="center", fontsize=8)
    total = cost.per_million()
    right.set_xlabel("USD per million sends (us-east-1 list prices)")
    right.set_title(f"Cost per million sends: \\${total:.2f} (goal \\${COST_GOAL:.2f})")
    right.set_xlim(0, max(usd for _, usd in costs) * 1.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
