"""The legacy import's COPY text: what PostgreSQL reads back as the values given."""

from datetime import UTC, datetime

from common.legacy_import.bulk import _copy_text


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
