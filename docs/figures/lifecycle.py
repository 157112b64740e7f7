"""Draw the exosome lifecycle as exotwin models it (docs/biogenesis.md), from lifecycle.yaml.

    PYTHONPATH=src python docs/figures/lifecycle.py [OUT.png]

Every number on the figure is read from the packaged lifecycle data; red labels are the scenario
intervention types and the step each acts at.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from exotwin.model.rules.lifecycle import Lifecycle, packaged_lifecycle

OUT = Path(__file__).with_suffix(".png")
RED, GREY, BLUE = "#b2182b", "#f0f0f0", "#2166ac"


def box(
    ax: plt.Axes, x: float, y: float, text: str, width: float = 2.6, colour: str = "white"
) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - 0.42), width, 0.84, boxstyle="round,pad=0.05", fc=colour, ec="black"
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5)


def arrow(
    ax: plt.Axes, a: tuple[float, float], b: tuple[float, float], label: str = "", dx: float = 0.15
) -> None:
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color="black"))
    if label:
        ax.text((a[0] + b[0]) / 2 + dx, (a[1] + b[1]) / 2, label, fontsize=7.5, va="center")


def step(ax: plt.Axes, x: float, y: float, text: str) -> None:
    ax.text(x, y, text, fontsize=7.5, color=RED, va="center", style="italic")


def donor(ax: plt.Axes, life: Lifecycle) -> None:
    rates = life.rates
    ax.add_patch(FancyBboxPatch((0.2, 0.3), 8.4, 9.2, boxstyle="round,pad=0.1", fc=GREY, ec="grey"))
    ax.text(0.4, 9.25, "donor cell (every secreting population)", fontsize=9, weight="bold")
    box(ax, 1.9, 8.4, "cargo made or\nendocytosed")
    box(ax, 1.9, 6.2, "early endosome E")
    box(ax, 1.9, 3.6, "late endosome / MVB M\n(intraluminal vesicles)")
    box(ax, 1.9, 1.1, "lysosome\n(cargo destroyed)")
    box(ax, 6.6, 3.6, "plasma membrane\n(release)")
    arrow(ax, (1.9, 7.95), (1.9, 6.65), "P: MVB production\n(calibrated: release = secretion)")
    step(ax, 4.4, 7.55, "mvb_blocker (rapamycin, U18666A)\nrelease_inhibitor = its shorthand")
    sorting = [f"k_sort {rates.ilv_sorting.value:g}/day"]
    for m in life.machinery:
        cargo = ", ".join(f"{c.cargo} {c.share.value:.0%}" for c in m.cargo)
        if m.bulk_share is None:
            sorting.append(f"{m.id} loads {cargo}")
        else:
            sorting.append(f"{m.id}: {m.bulk_share.value:.0%} of ILVs, sorts {cargo}")
    arrow(ax, (1.9, 5.75), (1.9, 4.05), "\n".join(sorting))
    step(ax, 5.2, 5.55, "machinery_depletion (escrt, alix)\nloader_knockdown (hnrnpa2b1)")
    arrow(ax, (1.9, 3.15), (1.9, 1.55), f"k_degradation\n{rates.mvb_degradation.value:g}/day")
    step(ax, 3.2, 2.05, "lysosome_inhibitor")
    arrow(ax, (3.2, 3.6), (5.3, 3.6), "", 0)
    ax.text(3.35, 3.25, f"k_release {rates.mvb_release.value:g}/day", fontsize=7.5)
    step(ax, 4.3, 2.75, "release_machinery_inhibitor\n(Rab27a knock-down)")
    arrow(ax, (7.9, 3.6), (9.6, 3.6))


def recipient(ax: plt.Axes, life: Lifecycle) -> None:
    box(ax, 10.5, 3.6, "exosome pool\n(compartment)", width=1.7, colour="#fddbc7")
    ax.add_patch(
        FancyBboxPatch((11.7, 0.3), 7.1, 9.2, boxstyle="round,pad=0.1", fc=GREY, ec="grey")
    )
    ax.text(11.9, 9.25, "recipient cell: uptake by route", fontsize=9, weight="bold")
    total = sum(r.share.value for r in life.routes)
    ys = [7.6, 5.4, 3.2, 1.0][: len(life.routes)]
    for route, y in zip(life.routes, ys, strict=True):
        text = (
            f"{route.id.replace('_', '-')}: {route.share.value / total:.0%} of capacity\n"
            f"half-saturation x{route.half_saturation.value:g} "
            f"[{route.half_saturation.low:g}-{route.half_saturation.high:g}]\n"
            f"cytoplasm {route.cytoplasm.value:.0%}, lysosome {1 - route.cytoplasm.value:.0%}"
        )
        box(ax, 14.1, y, text, width=3.6)
        arrow(ax, (11.35, 3.6), (12.3, y))
        arrow(ax, (15.9, y + 0.1), (16.85, 7.75))
        arrow(ax, (15.9, y - 0.1), (16.85, 2.65))
    box(ax, 17.6, 8.2, "cytoplasm:\nsignal", width=1.5, colour="#d1e5f0")
    box(ax, 17.6, 2.2, "lysosome:\nlost", width=1.5)
    step(ax, 12.0, 8.85, "uptake_blocker (route, receivers)")
    ax.text(
        12.0,
        0.45,
        "signal = cytoplasmic delivery / delivery of the nominal mix",
        fontsize=7,
        color=BLUE,
    )


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    life = packaged_lifecycle()
    fig, ax = plt.subplots(figsize=(13.5, 6.8))
    donor(ax, life)
    recipient(ax, life)
    ax.set_xlim(0, 18.9)
    ax.set_ylim(0, 9.8)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
