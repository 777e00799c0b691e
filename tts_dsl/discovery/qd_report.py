"""The quality-diversity archive as a report shows it: a markdown grid per island and a
table of cells, and the grid picture (PNG, matplotlib; left out cleanly when matplotlib is
missing). Everything is drawn from :meth:`tts_dsl.discovery.qd.QDArchive.to_dict`, so
``state.json`` and ``final.json`` alone can be rendered."""

from __future__ import annotations

from pathlib import Path

from .qd import DESCRIPTOR_TEXT, QDArchive, _cell


def _labels(d: dict) -> tuple[list, list]:
    a = QDArchive(d["windows"], cost_bands=d["cost_bands"], behaviour_edges=d["behaviour_edges"],
                  islands=d["islands"])
    return ([a.cost_band_label(i) for i in range(d["cost_bands"])],
            [a.behaviour_band_label(i) for i in range(len(d["behaviour_edges"]) + 1)])


def _merged(d: dict, island) -> dict:
    if island is not None:
        return {_cell(k): v for k, v in d["grids"][island].items()}
    best: dict = {}
    for g in d["grids"]:
        for k, v in g.items():
            c = _cell(k)
            if c not in best or (v["accuracy"], -v["cost"]) > (best[c]["accuracy"], -best[c]["cost"]):
                best[c] = v
    return best


def grid_text(d: dict, island) -> str:
    cl, bl = _labels(d)
    g = _merged(d, island)
    head = "| adaptivity \\ tokens | " + " | ".join(cl) + " |"
    lines = [head, "|---|" + "---|" * len(cl)]
    for bb in reversed(range(len(bl))):
        cells = []
        for cb in range(len(cl)):
            v = g.get((cb, bb))
            cells.append("-" if v is None else f"{v['program']} {v['accuracy']:.2f}%")
        lines.append(f"| {bl[bb]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_markdown(d: dict, picture: str | None = None) -> str:
    """The archive (its :meth:`QDArchive.to_dict`) as markdown: what a cell is, the grid per
    island, and one row per occupied cell."""
    desc = DESCRIPTOR_TEXT.get(d["descriptor"], d["descriptor"])
    out = ["## Quality-diversity archive", "",
           f"Cells: {d['cost_bands']} cost bands (log cost over each store's score window, mean over stores) "
           f"x {len(d['behaviour_edges']) + 1} behaviour bands ({desc}). "
           f"A cell keeps its most accurate point (search part, mean over stores; ties: lower cost). "
           f"{d['islands']} island(s), ring migration every {d['migrate_every']} candidates "
           f"({d['migrations']} so far, {d['added']} candidates added); * = arrived by migration.", ""]
    if picture:
        out += [f"![archive]({picture})", ""]
    for i in range(d["islands"]):
        out += [f"Island {i}:", "", grid_text(d, i), ""]
    out += ["| island | tokens | adaptivity | program | beta | accuracy | cost | descriptor |",
            "|---:|---|---|---|---:|---:|---:|---:|"]
    cl, bl = _labels(d)
    for i, g in enumerate(d["grids"]):
        for k, v in sorted(g.items(), key=lambda kv: _cell(kv[0])):
            cb, bb = _cell(k)
            mig = "*" if v["origin"] != i else ""
            beta = "-" if v["beta"] is None else f"{v['beta']:g}"
            desc = "-" if v["descriptor"] is None else f"{v['descriptor']:.3f}"
            out.append(f"| {i} | {cl[cb]} | {bl[bb]} | {v['program']}{mig} | {beta} | {v['accuracy']:.2f} | "
                       f"{v['cost']:,.0f} | {desc} |")
    return "\n".join(out) + "\n"


def plot_archive(d: dict, path) -> Path | None:
    """Draw the archive's grids (one panel per island): colour = the elite's accuracy, text
    = program, accuracy and beta; empty cells blank. None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    cl, bl = _labels(d)
    n = d["islands"]
    accs = [v["accuracy"] for g in d["grids"] for v in g.values()]
    vmin, vmax = (min(accs), max(accs)) if accs else (0.0, 100.0)
    if vmax <= vmin:
        vmin, vmax = vmin - 1, vmax + 1
    fig, axes = plt.subplots(1, n, figsize=(1.9 * len(cl) * n + 1.5, 1.1 * len(bl) + 1.6), squeeze=False)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.95")
    im = None
    for i, ax in enumerate(axes.flat):
        grid = [[float("nan")] * len(cl) for _ in bl]
        for k, v in d["grids"][i].items():
            cb, bb = _cell(k)
            grid[bb][cb] = v["accuracy"]
            beta = "" if v["beta"] is None else f"\nβ={v['beta']:g}"
            mig = "*" if v["origin"] != i else ""
            z = (v["accuracy"] - vmin) / (vmax - vmin)
            ax.text(cb, bb, f"{v['program']}{mig}\n{v['accuracy']:.1f}%{beta}", ha="center", va="center",
                    fontsize=7, color="black" if z > 0.6 else "white")
        import numpy as np

        im = ax.imshow(np.ma.masked_invalid(np.array(grid)), origin="lower", cmap=cmap, vmin=vmin, vmax=vmax,
                       aspect="auto")
        ax.set_xticks(range(len(cl)), cl, fontsize=7)
        ax.set_yticks(range(len(bl)), bl, fontsize=7)
        ax.set_xticks([x - 0.5 for x in range(1, len(cl))], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, len(bl))], minor=True)
        ax.grid(which="minor", color="white", linewidth=2)
        ax.tick_params(which="minor", length=0)
        ax.set_xlabel("tokens per question (mean over stores)", fontsize=8)
        if i == 0:
            ax.set_ylabel(d["descriptor"], fontsize=8)
        ax.set_title(f"island {i}", fontsize=9)
    fig.colorbar(im, ax=list(axes.flat), label="search accuracy (%)", shrink=0.9)
    fig.suptitle("quality-diversity archive (* = migrated)", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def render_archive(source: dict, out_dir, name: str = "archive.png") -> str:
    """For the report: the archive held by ``source`` (``final.json`` or ``state.json`` content
    with an ``archive`` key, or an archive dict itself) as markdown, with the grid picture
    written to ``out_dir/name`` (left out when matplotlib is missing). "" if there is none."""
    d = source.get("archive", source) if isinstance(source, dict) else None
    if not d or "grids" not in d:
        return ""
    pic = None
    try:
        p = plot_archive(d, Path(out_dir) / name)
        pic = p.name if p is not None else None
    except Exception:  # noqa: BLE001 - a failed picture must not lose the table
        pic = None
    return render_markdown(d, pic)
