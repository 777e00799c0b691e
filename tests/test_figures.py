"""Figures: the frontier plot and the episode picture in PNG, SVG and PDF, with --dpi and
--size; the palette and markers stay distinct; the picture's x axis is episode time."""

from __future__ import annotations

import pytest

from tts_dsl.cli import main

from conftest import require

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_series_styles_distinct_beyond_ten():
    from tts_dsl.reporting.frontier import PALETTE, series_style

    styles = [tuple(series_style(i).values()) for i in range(56)]
    assert len(set(styles)) == 56
    assert "#E69F00" in PALETTE and "#0072B2" in PALETTE  # Okabe & Ito


def test_compare_plot_formats_dpi_size_and_note(tmp_path, capsys):
    require("matplotlib", "plot")
    from PIL import Image

    base = ["compare", "sc", "certaindex", "--beta", "0,1", "--seeds", "3", "--bootstrap", "100",
            "--permutations", "100", "-q", "-j", "1"]
    png = tmp_path / "f.png"
    assert main(base + ["--plot", str(png), "--dpi", "50", "--size", "8x4"]) == 0
    assert Image.open(png).size == (400, 200)
    for ext, magic in ((".svg", b"<?xml"), (".pdf", b"%PDF")):
        f = tmp_path / f"f{ext}"
        assert main(base + ["--plot", str(f)]) == 0
        assert f.read_bytes()[:5].startswith(magic)
    svg = (tmp_path / "f.svg").read_text()
    assert "numbers next to points: beta" in svg and "95% bootstrap intervals" in svg
    capsys.readouterr()
    assert main(base + ["--plot", str(tmp_path / "f.gif")]) == 2
    assert "must end in .png, .svg or .pdf" in capsys.readouterr().err
    assert main(base + ["--plot", str(png), "--size", "big"]) == 2


def test_plot_note_and_error_bars():
    from tts_dsl import compare
    from tts_dsl.reporting.compare import curves_for_plot, plot_note

    rep = compare(["sc", "certaindex"], beta=[0, 1], seeds=3, n_boot=100, n_perm=100, jobs=1)
    pts = curves_for_plot(rep)["synthetic/default"]["certaindex"]
    assert all(len(p) == 5 and p[3] <= p[1] <= p[4] for p in pts)
    assert plot_note(rep).startswith("numbers next to points: beta;")


def test_episode_picture_uses_episode_time(tmp_path):
    require("matplotlib", "plot")
    import tts_dsl
    from tts_dsl.reporting.picture import episode_cells

    rec = tts_dsl.trace("cmc", question=3, seed=0)
    cells, prunes, steps = episode_cells(rec)
    assert steps == rec["actions"]
    opened = {}
    for step, b, *_ in cells:
        opened.setdefault(b, step)
    assert sorted(opened.values()) == [opened[b] for b in sorted(opened)]  # branches open in time order
    assert max(opened.values()) > len(opened)  # a later branch opens later in the episode, not at x=0
    pp = tts_dsl.trace("parallel_probe", question=3, seed=0)
    assert episode_cells(pp)[1]  # the prune is placed at its step
    for colour_by in ("answer", "gold"):
        out = tmp_path / f"e-{colour_by}.svg"
        assert main(["trace", "asc", "--question", "1", "--png", str(out), "--colour-by", colour_by]) == 0
        text = out.read_text()
        assert "episode time (action number)" in text and "read whole" in text
        assert ("the gold answer" in text) == (colour_by == "gold")
