"""Pieces of the legacy import that need no service: COPY text and progress output."""

import io
from datetime import UTC, datetime

from common.legacy_import import Progress, _copy_text


def test_a_copy_line_is_tab_separated_with_nulls_and_booleans_spelled_out():
    moment = datetime(2019, 1, 1, 0, 0, 37, tzinfo=UTC)
    assert _copy_text([(1, "a@example.com", None, True, False, moment, "")]) == (
        "1\ta@example.com\t\\N\tt\tf\t2019-01-01T00:00:37+00:00\t\n"
    )


def test_tabs_newlines_and_backslashes_in_text_are_escaped():
    assert _copy_text([(1, "Ada\tLovelace\nLine two\r", "C:\\path", None)]) == (
        "1\tAda\\tLovelace\\nLine two\\r\tC:\\\\path\t\\N\n"
    )


def test_a_name_that_looks_like_null_stays_text():
    assert _copy_text([("\\N", "")]) == "\\\\N\t\n"


def test_each_line_ends_with_the_tail_and_a_column_mixes_values_and_nulls():
    moment = datetime(2019, 1, 1, 0, 0, 37, tzinfo=UTC)
    rows = [(1, None, "plain", moment), (None, "Tab\there", None, None), (3, "x", "", moment)]

    assert _copy_text(rows, "\tactive\n") == (
        "1\t\\N\tplain\t2019-01-01T00:00:37+00:00\tactive\n"
        "\\N\tTab\\there\t\\N\t\\N\tactive\n"
        "3\tx\t\t2019-01-01T00:00:37+00:00\tactive\n"
    )


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
