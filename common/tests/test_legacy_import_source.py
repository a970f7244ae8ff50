"""Reading the monolith's users.db: refusing what it is not, its values, its duplicate addresses."""

import sqlite3
from datetime import UTC, datetime

import pytest

from common.emails import canonical_email
from common.legacy_import.source import AddressKeepers, LegacyDatabase, LegacyDatabaseError, create_legacy_database
from common.legacy_import.values import is_bcrypt_hash, parse_created_at, row_checksum, text_value

HASH_2A = "$2a$10$" + "N9qo8uLOickgx2ZMRZoMye" + "IjZAgcfl7p92ldGxad68LJZdL17lhWy"


def legacy_file(tmp_path, rows):
    return create_legacy_database(tmp_path / "users.db", rows)


# created_at
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2019-01-01 00:00:37", "2019-01-01T00:00:37.000Z", "2019-01-01T00:00:37", " 2019-01-01 00:00:37 "],
)
def test_the_three_forms_the_monolith_wrote_are_the_same_utc_moment(text):
    assert parse_created_at(text) == datetime(2019, 1, 1, 0, 0, 37, tzinfo=UTC)


def test_milliseconds_and_offsets_are_kept_and_read_as_utc():
    assert parse_created_at("2019-01-01T00:00:37.123Z") == datetime(2019, 1, 1, 0, 0, 37, 123000, tzinfo=UTC)
    assert parse_created_at("2019-01-01T02:00:37+02:00") == datetime(2019, 1, 1, 0, 0, 37, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "yesterday", "2019-13-01 00:00:00", 1546300837, b"2019-01-01"])
def test_anything_else_is_not_a_date(value):
    assert parse_created_at(value) is None


# passwords, text, checksums
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_hashes_are_recognised(prefix):
    assert is_bcrypt_hash(HASH_2A.replace("$2a$", prefix))


@pytest.mark.parametrize(
    "value",
    [None, "", "sha1$abc$def", HASH_2A[:-1], HASH_2A + "x", HASH_2A.replace("$10$", "$99$"), "bcrypt$" + HASH_2A],
)
def test_anything_else_is_not_a_bcrypt_hash(value):
    assert not is_bcrypt_hash(value)


def test_text_is_kept_as_it_is():
    assert text_value("  Zoë 山田 🎉  ") == ("  Zoë 山田 🎉  ", False)
    assert text_value(None) == (None, False)
    assert text_value("") == ("", False)


def test_what_a_database_refuses_becomes_a_replacement_character():
    assert text_value("a\x00b") == ("a\ufffdb", True)
    assert text_value(b"caf\xe9") == ("caf\ufffd", True)
    assert text_value("caf\udce9") == ("caf\ufffd", True)  # how a non-UTF-8 byte is read from SQLite
    assert text_value(b"plain") == ("plain", False)


def test_checksums_tell_fields_apart():
    assert row_checksum(1, "a", None) != row_checksum(1, "a", "")
    assert row_checksum(1, "a", None) != row_checksum(1, "a", "None")
    assert row_checksum(1, "a|b", "c") != row_checksum(1, "a", "b|c")
    assert row_checksum(12, "x") != row_checksum(1, "2x")
    assert -(2**63) <= row_checksum("anything") < 2**63


def test_a_checksum_is_the_same_in_every_process_and_version():
    # Checksums are stored between runs: the same fields must always give this number.
    assert row_checksum(1, "alice@example.com", None, "2019-01-01T00:00:37+00:00") == 4418440769661841490


# opening
# ------------------------------------------------------------------------------


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(LegacyDatabaseError, match=r"users.db: no such file$"):
        LegacyDatabase.open(tmp_path / "users.db")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(LegacyDatabaseError, match="is a directory"):
        LegacyDatabase.open(tmp_path)


@pytest.mark.parametrize("content", [b"", b"id,email\n1,a@example.com\n", b"\x00" * 4096])
def test_a_file_that_is_not_sqlite_is_refused(tmp_path, content):
    path = tmp_path / "users.db"
    path.write_bytes(content)
    with pytest.raises(LegacyDatabaseError, match="not a SQLite database$"):
        LegacyDatabase.open(path)


def test_a_database_without_the_users_table_is_refused(tmp_path):
    path = tmp_path / "users.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    connection.close()
    with pytest.raises(LegacyDatabaseError, match="no users table"):
        LegacyDatabase.open(path)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("id INTEGER PRIMARY KEY, email TEXT, password TEXT, name TEXT", r"missing created_at\)"),
        (
            "id INTEGER PRIMARY KEY, email TEXT, password TEXT, name TEXT, created_at TEXT, role TEXT",
            r"unexpected role\)",
        ),
        ("id INTEGER PRIMARY KEY, mail TEXT, password TEXT, name TEXT, created_at", "missing email; unexpected mail"),
        ("id TEXT, email TEXT, password TEXT, name TEXT, created_at TEXT", "not the table's INTEGER PRIMARY KEY"),
    ],
)
def test_a_users_table_with_other_columns_is_refused(tmp_path, schema, message):
    path = tmp_path / "users.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE users ({schema})")
    connection.close()
    with pytest.raises(LegacyDatabaseError, match=message):
        LegacyDatabase.open(path)


def test_a_locked_database_is_refused_once_the_wait_is_over(tmp_path):
    path = legacy_file(tmp_path, [(1, "a@example.com", HASH_2A, None, "2019-01-01 00:00:00")])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LegacyDatabaseError, match="locked by another process"):
            LegacyDatabase.open(path, busy_timeout=0)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_corrupt_database_is_refused(tmp_path):
    rows = [(i, f"user{i}@example.com", HASH_2A, "x" * 200, "2019-01-01 00:00:00") for i in range(1, 2000)]
    path = legacy_file(tmp_path, rows)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size * 3 : page_size * 6] = b"\xa5" * (page_size * 3)  # pages of the table and its index
    path.write_bytes(bytes(data))
    with pytest.raises(LegacyDatabaseError, match="corrupt"):
        LegacyDatabase.open(path)


def test_an_error_message_is_one_line(tmp_path):
    path = tmp_path / "users.db"
    path.write_text("not\na\ndatabase\n")
    with pytest.raises(LegacyDatabaseError) as raised:
        LegacyDatabase.open(path)
    assert "\n" not in str(raised.value)


# reading
# ------------------------------------------------------------------------------


def test_rows_come_in_id_order_in_batches_gaps_and_all(tmp_path):
    ids = [-5, 0, 3, 7, 8, 20, 21, 1000]
    path = legacy_file(tmp_path, [(i, f"u{i}@example.com", HASH_2A, None, "2019-01-01") for i in reversed(ids)])
    database = LegacyDatabase.open(path)
    try:
        batches = list(database.batches(batch_size=3))
        assert [[row.id for row in batch] for batch in batches] == [[-5, 0, 3], [7, 8, 20], [21, 1000]]
        assert batches[0][0].email == "u-5@example.com"
        assert database.stats() == (8, 1000)
    finally:
        database.close()


def test_text_that_is_not_utf8_is_read_and_can_be_repaired(tmp_path):
    path = legacy_file(tmp_path, [(1, "a@example.com", HASH_2A, "ok", "2019-01-01")])
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO users VALUES (2, 'b@example.com', ?, CAST(X'436166E9' AS TEXT), '2019')", [HASH_2A]
        )
    connection.close()
    database = LegacyDatabase.open(path)
    try:
        (batch,) = database.batches()
    finally:
        database.close()
    assert text_value(batch[1].name) == ("Caf\ufffd", True)
    assert batch[0].name == "ok"


# duplicate addresses
# ------------------------------------------------------------------------------


def duplicates(tmp_path, emails: dict[int, str]) -> dict[int, int]:
    """``{loser: keeper}`` over the whole file, read in batches of two as an import reads it."""
    path = legacy_file(tmp_path, [(i, email, HASH_2A, None, "2019-01-01") for i, email in emails.items()])
    database = LegacyDatabase.open(path)
    keepers = AddressKeepers(database)
    losers = {}
    try:
        for batch in database.batches(batch_size=2):
            losers.update(keepers.losers((row.id, row.email, canonical_email(row.email)) for row in batch))
    finally:
        database.close()
    return losers


def test_the_row_in_canonical_form_keeps_the_address_whatever_its_id(tmp_path):
    found = duplicates(tmp_path, {3: "User5@EXAMPLE.com", 5: "user5@example.com", 9: "USER5@example.com"})
    assert found == {3: 5, 9: 5}


def test_without_a_row_in_canonical_form_the_lowest_id_keeps_it(tmp_path):
    assert duplicates(tmp_path, {10: "Mixed@Example.com", 4: "MIXED@example.com", 12: "mixed@EXAMPLE.com"}) == {
        10: 4,
        12: 4,
    }


def test_gmail_variants_are_one_address(tmp_path):
    assert duplicates(tmp_path, {1: "new.person@gmail.com", 2: "newperson@gmail.com"}) == {1: 2}


def test_distinct_addresses_and_empty_ones_are_no_duplicates(tmp_path):
    assert duplicates(tmp_path, {1: "a@example.com", 2: "B@example.com", 3: "", 4: "not-an-address"}) == {}
