"""The width-depth picture of one episode: branches as rows (in opening order), intervals
as columns. Each revealed answer is a cell, green when it equals the episode's final
answer, red otherwise; a branch's final answer has a black outline; branches read whole
are one hatched bar over their length; when the episode's answer is wrong, cells holding
the gold answer get a white dot; a pruned branch gets an ``x`` after its last cell;
branches still running when the episode stopped get a ``|`` stop mark."""

from __future__ import annotations

import math

AGREE = "#4caf50"
DISAGREE = "#e57373"
NONE = "#bdbdbd"


def draw_episode(rec: dict, path, max_rows: int = 128) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    final = rec["answer"]
    gold = rec.get("gold")
    pf = rec.get("probe_freq") or 500
    branches = rec["branches"][:max_rows]
    ncols = 1
    for b in branches:
        if b["mode"] == "read":
            ncols = max(ncols, math.ceil(b["tokens"] / pf))
        else:
            ncols = max(ncols, len(b["revealed"]) + 1)
    nrows = max(1, len(branches))
    fig_h = min(14, 1.6 + 0.22 * nrows)
    fig_w = min(16, 3 + 0.18 * ncols)
    fig, ax = plt.subplots(figsize=(max(6, fig_w), max(3, fig_h)))

    def colour(a):
        if a is None:
            return NONE
        return AGREE if a == final else DISAGREE

    for r, b in enumerate(branches):
        y = r
        if b["mode"] == "read":
            a = b["revealed"][0] if b["revealed"] else None
            w = max(1, math.ceil(b["tokens"] / pf))
            ax.add_patch(Rectangle((0, y - 0.4), w, 0.8, facecolor=colour(a), edgecolor="black", hatch="//",
                                   linewidth=0.8))
            continue
        for c, a in enumerate(b["revealed"]):
            is_final = b["final_revealed"] and c == len(b["revealed"]) - 1
            ax.add_patch(Rectangle((c, y - 0.4), 0.92, 0.8, facecolor=colour(a),
                                   edgecolor="black" if is_final else "none", linewidth=1.4 if is_final else 0))
            if not rec["correct"] and gold is not None and a == gold:
                ax.plot([c + 0.46], [y], marker="o", color="white", markersize=2.5)
        end = len(b["revealed"])
        if b["pruned"]:
            at = b["pruned_after"] if b["pruned_after"] is not None else end
            ax.plot([at + 0.45], [y], marker="x", color="black", markersize=7, mew=2)
        elif not b["finished"]:
            ax.plot([end + 0.1], [y], marker="|", color="#1565c0", markersize=10, mew=2.5)
    ax.set_xlim(0, ncols + 0.5)
    ax.set_ylim(nrows - 0.5, -0.5)
    ax.set_xlabel(f"interval ({pf} tokens each)")
    ax.set_ylabel("branch (opening order)")
    if nrows <= 40:
        ax.set_yticks(range(nrows))
        ax.set_yticklabels([f"b{b['index']}" for b in branches], fontsize=7)
    verdict = "correct" if rec["correct"] else "wrong"
    beta = "" if rec.get("beta") is None else f", beta {rec['beta']:g}"
    ax.set_title(f"{rec['program']} on {rec['model']}/{rec['dataset']}, q{rec['question']} seed {rec['seed']}{beta}\n"
                 f"answer {rec['answer']} ({verdict}), {rec['cost']:,} tokens, ended: {rec['ended']}", fontsize=9)
    handles = [Patch(facecolor=AGREE, label="= final answer"), Patch(facecolor=DISAGREE, label="≠ final answer"),
               Patch(facecolor="white", edgecolor="black", label="branch's final answer"),
               Patch(facecolor="white", edgecolor="black", hatch="//", label="read whole"),
               Line2D([], [], marker="x", color="black", linestyle="none", label="pruned"),
               Line2D([], [], marker="o", color="white", markeredgecolor="0.3", linestyle="none",
                      label="gold (when the answer is wrong)"),
               Line2D([], [], marker="|", color="#1565c0", linestyle="none", markersize=10, mew=2.5,
                      label="running at stop")]
    height = fig.get_size_inches()[1]
    fig.legend(handles=handles, fontsize=7, loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, min(0.3, 0.6 / height), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
