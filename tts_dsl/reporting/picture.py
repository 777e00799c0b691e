"""The picture of one episode: branches as rows (in opening order), episode time as the x
axis (the action number: when each branch was opened, advanced, read or pruned).

Every action that revealed an answer is a cell. Its fill says whether that answer agrees
with the episode's final answer (blue) or not (orange), or, with ``colour_by="gold"``,
whether it is the gold answer; correctness is marked separately: a cell holding the gold
answer gets a small black dot. A branch's final answer has a black outline. A read-whole
action is a hatched cell labelled with the answer it returned; a pruned branch gets an
``x`` at the prune; branches still running when the episode stopped get a ``|`` after their
last action. Colours are from Okabe & Ito's colour-blind-safe palette."""

from __future__ import annotations

AGREE = "#0072B2"  # blue
DISAGREE = "#E69F00"  # orange
NONE = "#bdbdbd"
ACTIONS = ("open", "advance", "read", "probe")


def episode_cells(rec: dict) -> tuple[list, dict, int]:
    """``(cells, prunes, steps)``: cells are ``(step, branch, answer, kind, finished)`` for
    each action that touched a branch; prunes map a branch to its prune step."""
    cells, prunes, steps = [], {}, 0
    for e in rec["events"]:
        if e.get("branch") is None or e.get("step") is None:
            continue
        steps = max(steps, e["step"])
        if e["kind"] == "prune":
            prunes[e["branch"]] = e["step"]
        elif e["kind"] in ACTIONS:
            cells.append((e["step"], e["branch"], e.get("answer"), e["kind"], bool(e.get("finished"))))
    return cells, prunes, max(steps, rec.get("actions") or 0, 1)


def draw_episode(rec: dict, path, max_rows: int = 128, colour_by: str = "answer", dpi: int = 200,
                 size: tuple | None = None) -> None:
    """Draw ``rec`` (a trace record, docs/traces.md) to ``path`` (PNG, SVG or PDF by the
    name). ``colour_by``: ``"answer"`` (agreement with the episode's final answer) or
    ``"gold"`` (agreement with the gold answer)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    if colour_by not in ("answer", "gold"):
        raise ValueError(f"colour_by must be 'answer' or 'gold', not {colour_by!r}")
    final, gold = rec["answer"], rec.get("gold")
    ref = gold if colour_by == "gold" else final
    branches = rec["branches"][:max_rows]
    row = {b["index"]: r for r, b in enumerate(branches)}
    cells, prunes, steps = episode_cells(rec)
    nrows = max(1, len(branches))
    w, h = size or (min(16, max(6.5, 3 + 0.12 * steps)), min(14, max(3.2, 1.9 + 0.22 * nrows)))
    fig, ax = plt.subplots(figsize=(w, h), layout="constrained")
    last: dict = {}
    for step, b, a, kind, finished in cells:
        if b not in row:
            continue
        y = row[b]
        fill = NONE if a is None else AGREE if a == ref else DISAGREE
        is_final = finished and a is not None
        ax.add_patch(Rectangle((step - 0.46, y - 0.4), 0.92, 0.8, facecolor=fill,
                               edgecolor="black" if is_final else "none", linewidth=1.2 if is_final else 0,
                               hatch="//" if kind == "read" else None))
        if a is not None and a == gold:
            ax.plot([step], [y], marker="o", color="black", markersize=2.6, zorder=4)
        if kind == "read" and nrows <= 40 and a is not None:
            ax.annotate(str(a), (step + 0.55, y), fontsize=7, va="center", color="0.2")
        last[b] = step
    by_index = {b["index"]: b for b in branches}
    for b, y in row.items():
        info = by_index[b]
        if b in prunes:
            ax.plot([prunes[b]], [y], marker="x", color="black", markersize=7, mew=2)
        elif not info["finished"] and b in last:
            ax.plot([last[b] + 0.6], [y], marker="|", color="#CC79A7", markersize=10, mew=2.5)
    ax.set_xlim(0.3, steps + 1.2)
    ax.set_ylim(nrows - 0.5, -0.5)
    ax.set_xlabel("episode time (action number)")
    ax.set_ylabel("branch (opening order)")
    if nrows <= 40:
        ax.set_yticks(range(nrows))
        ax.set_yticklabels([f"b{b['index']}" for b in branches], fontsize=7)
    verdict = "correct" if rec["correct"] else f"wrong; gold {gold}"
    beta = "" if rec.get("beta") is None else f", beta {rec['beta']:g}"
    ax.set_title(f"{rec['program']} on {rec['model']}/{rec['dataset']}, q{rec['question']} seed {rec['seed']}{beta}\n"
                 f"answer {final} ({verdict}), {rec['cost']:,} tokens, ended: {rec['ended']}", fontsize=9)
    what = "the gold answer" if colour_by == "gold" else "the episode's answer"
    handles = [Patch(facecolor=AGREE, label=f"= {what}"), Patch(facecolor=DISAGREE, label=f"≠ {what}"),
               Patch(facecolor=NONE, label="no answer yet"),
               Line2D([], [], marker="o", color="black", markersize=3, linestyle="none", label="gold answer (correct)"),
               Patch(facecolor="white", edgecolor="black", label="branch's final answer"),
               Patch(facecolor="white", edgecolor="black", hatch="//", label="read whole (answer written)"),
               Line2D([], [], marker="x", color="black", linestyle="none", label="pruned"),
               Line2D([], [], marker="|", color="#CC79A7", linestyle="none", markersize=10, mew=2.5,
                      label="running at stop")]
    fig.legend(handles=handles, fontsize=7, loc="outside right upper", frameon=False)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
