"""Progress on stderr: a live bar with rate and ETA on a terminal, few whole lines in a log."""

from __future__ import annotations

import io
import re

from leadforge.progress import NullProgress, StderrProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frames(text: str) -> list[str]:
    """What a terminal shows, one entry per redraw (``\\r``) or finished line (``\\n``)."""
    return [f.rstrip() for f in re.split(r"[\r\n]", text) if f.strip()]


def test_terminal_bar_shows_counts_rate_and_eta() -> None:
    stream, clock = Terminal(), Clock()
    p = StderrProgress(stream, clock=clock)
    assert p.tty
    for done in range(1, 11):
        clock.now += 0.5  # 2 units per second
        p.update("simulating shards", done, 40)
    shown = frames(stream.getvalue())
    last = shown[-1]
    assert last.startswith("leadforge: simulating shards [")
    assert "10/40 (25%)" in last
    assert "2.00/s" in last, last
    assert "ETA 0:15" in last, last  # 30 units left at 2 per second
    assert "\n" not in stream.getvalue(), "a running stage redraws one line in place"
    clock.now += 15
    p.update("simulating shards", 40, 40)
    out = stream.getvalue()
    assert out.endswith("\n") and out.count("\n") == 1
    final = frames(out)[-1]
    assert "40/40 (100%)" in final and "in 0:20" in final and "2.00/s" in final and "ETA" not in final


def test_terminal_redraws_are_throttled_so_update_stays_cheap() -> None:
    stream, clock = Terminal(), Clock()
    p = StderrProgress(stream, clock=clock, refresh=0.1)
    for done in range(1, 10_001):
        clock.now += 0.00001  # 10,000 updates in 0.1 s
        p.update("hashing", done, 20_000)
    assert stream.getvalue().count("\r") <= 3


def test_a_shorter_redraw_blanks_the_rest_of_the_longer_one() -> None:
    stream, clock = Terminal(), Clock()
    p = StderrProgress(stream, clock=clock)
    clock.now += 0.001
    p.update("s", 1, 1_000_000)  # a huge rate: a long line
    clock.now += 1000
    p.update("s", 2, 1_000_000)
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second) >= len(first)


def test_each_stage_gets_its_own_line_and_close_ends_an_open_bar() -> None:
    stream, clock = Terminal(), Clock()
    p = StderrProgress(stream, clock=clock)
    clock.now += 1
    p.update("simulating shards", 2, 2)
    clock.now += 1
    p.update("validating", 1, 3)
    p.close()
    lines = stream.getvalue().split("\n")
    assert len(lines) == 3 and lines[-1] == ""
    assert "simulating shards" in lines[0] and "2/2" in lines[0]
    assert "validating" in lines[1] and "1/3" in lines[1] and "simulating" not in lines[1]


def test_log_gets_one_line_per_finished_stage() -> None:
    stream, clock = io.StringIO(), Clock()
    p = StderrProgress(stream, clock=clock)
    assert not p.tty
    for done in range(1, 41):
        clock.now += 0.1
        p.update("simulating shards", done, 40)
    p.update("simulating shards", 40, 40)  # a repeated final count adds nothing
    assert stream.getvalue() == "leadforge: simulating shards: 40/40 (100%) in 4.0s, 10.0/s\n"


def test_long_stage_in_a_log_prints_at_most_every_interval() -> None:
    stream, clock = io.StringIO(), Clock()
    p = StderrProgress(stream, clock=clock, interval=10.0)
    for done in range(1, 351):
        clock.now += 0.1  # 35 s in all
        p.update("validating", done, 350)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4, lines  # at ~10 s, ~20 s, ~30 s, then the final line
    assert all("ETA" in line and "/s" in line for line in lines[:3])
    assert re.fullmatch(r"leadforge: validating: 10[0-2]/350 \(29%\), 10\.0/s, ETA 0:25", lines[0]), lines[0]
    assert lines[-1] == "leadforge: validating: 350/350 (100%) in 0:35, 10.0/s"


def test_a_log_skips_stages_that_finish_in_under_a_second() -> None:
    stream, clock = io.StringIO(), Clock()
    p = StderrProgress(stream, clock=clock)
    clock.now += 0.2
    p.update("validating", 3, 3)
    clock.now += 2.0
    p.update("writing tasks", 1, 1)
    assert stream.getvalue() == "leadforge: writing tasks: 1/1 (100%) in 2.0s, 0.50/s\n"


def test_a_stage_is_timed_from_the_end_of_the_one_before() -> None:
    stream, clock = io.StringIO(), Clock()
    p = StderrProgress(stream, clock=clock, quiet_under=0)
    clock.now += 3
    p.update("a", 1, 1)
    clock.now += 4  # stage b's first unit took 4 s; its first report comes when it is done
    p.update("b", 1, 2)
    clock.now += 4
    p.update("b", 2, 2)
    assert stream.getvalue().splitlines()[-1] == "leadforge: b: 2/2 (100%) in 8.0s, 0.25/s"


def test_null_progress_prints_nothing() -> None:
    p = NullProgress()
    p.update("x", 1, 2)
    p.close()


def test_generate_and_validate_draw_bars_on_a_terminal(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import leadforge.progress

    monkeypatch.setattr(leadforge.progress, "_isatty", lambda stream: True)
    out = tmp_path / "b"
    r = cli("generate", "-r", "toy_v1", "--out", str(out))
    assert r.exit_code == 0, r.stderr
    shown = frames(r.stderr)
    assert any(re.match(r"leadforge: validating \[#+\] \d+/\d+ \(100%\)", f) for f in shown), shown
    assert f"Validating {out} ..." in r.stdout, "the validation after generate is announced"
    stages = {f.split(" [")[0] for f in shown}
    assert len(stages) >= 2, f"writing and validating are separate bars: {stages}"
    r = cli("validate", str(out))
    assert any(re.match(r"leadforge: validating \[#+\]", f) for f in frames(r.stderr))
    r = cli("validate", str(out), "-q")
    assert r.stderr == "", "-q shows no progress"
