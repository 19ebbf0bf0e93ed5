"""Progress lines: steady rate, done/total, ETA; no bar in CI."""

import logging

from blendtalk.progress import Progress, track


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_logs_at_a_steady_rate_with_rate_and_eta(caplog, monkeypatch):
    monkeypatch.setenv("CI", "true")
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="blendtalk.progress"):
        progress = Progress(100, "work", unit="rows", every_s=10.0, clock=clock)
        for _ in range(50):  # 1 row per second for 50 s: a line every 10 s
            clock.t += 1.0
            progress.update()
        assert progress.bar is None
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 5
        assert lines[-1] == "work: 50/100 (50%), 1.0 rows/s, ETA 50 s"
        progress.close()
    assert caplog.records[-1].getMessage() == "work: 50/100 (50%), 1.0 rows/s, 50.0 s"


def test_track_counts_every_item_without_total(caplog):
    with caplog.at_level(logging.INFO, logger="blendtalk.progress"):
        assert list(track(range(7), None, "items")) == list(range(7))
    assert caplog.records[-1].getMessage().startswith("items: 7, ")


def test_note_ends_later_lines(caplog, monkeypatch):
    monkeypatch.setenv("CI", "true")
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="blendtalk.progress"):
        with Progress(4, "train", unit="epochs", every_s=1.0, clock=clock) as progress:
            clock.t = 2.0
            progress.update(note="val 0.5000")
    assert caplog.records[0].getMessage() == "train: 1/4 (25%), 0.5 epochs/s, ETA 6 s, val 0.5000"
