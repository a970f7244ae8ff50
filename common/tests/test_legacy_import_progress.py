"""The legacy import's progress output: a bar on a terminal, plain lines elsewhere."""

import io

from common.legacy_import.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_a_bar_with_rate_and_time_left():
    stream = Terminal()
    progress = Progress(stream, label="users: importing", total=200, terminal=True)

    progress.advance(100)
    progress.finish()

    output = stream.getvalue()
    assert output.startswith("\rusers: importing [##############--------------]  50% 100/200 rows, ")
    assert "rows/s" in output and "left" in output
    assert output.endswith("\n")


def test_elsewhere_progress_is_plain_lines_and_the_last_one_is_not_repeated():
    stream = io.StringIO()
    progress = Progress(stream, label="auth: importing", total=20, terminal=False)

    progress.advance(10)
    progress.advance(10)  # within LINE_EVERY of the first: not shown until finish
    progress.finish()

    lines = stream.getvalue().splitlines()
    assert [line.split(" rows,")[0] for line in lines] == ["auth: importing: 50% 10/20", "auth: importing: 100% 20/20"]
    assert "\r" not in stream.getvalue()


def test_without_a_stream_nothing_is_written():
    progress = Progress(None, label="users", total=10, terminal=False)
    progress.advance(10)
    progress.finish()
