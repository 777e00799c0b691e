"""Every shipped program is in the formatter's canonical layout."""

from tts_dsl.lang.formatter import format_source

from conftest import PROGRAMS


def test_shipped_programs_are_canonical():
    for p in sorted(PROGRAMS.glob("*.tts")):
        text = p.read_text()
        assert format_source(text, str(p)) == text, f"run: tts-dsl fmt --write {p}"
