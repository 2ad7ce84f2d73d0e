"""load_reference(): upsert by person, counts, term frequencies, the source hash."""

from __future__ import annotations

import duckdb
import polars as pl
from test_match_support import frame, person

from doisoat.reference import load_reference, reference_is_current

A = person("049090001234", "Nguyễn Văn An", "1990-05-12", "M")
B = person("049190005678", "Huỳnh Thị Mỹ", "1990-03-04", "F")
C = person("049085000111", "Nguyễn Văn An", "1985-07-20", "M")


def test_first_load_inserts_everyone_and_records_the_hash():
    con = duckdb.connect()
    stats = load_reference(con, frame([A, B, C]), "sha-1")
    assert (stats.total, stats.inserted, stats.updated, stats.deleted, stats.unchanged) == (3, 3, 0, 0, 0)
    assert reference_is_current(con, "sha-1") and not reference_is_current(con, "sha-2")
    ids = con.sql("SELECT person_id, id_right6 FROM reference_person ORDER BY person_id").fetchall()
    assert ids[0] == ("049085000111", "000111")


def test_newer_extract_updates_only_what_changed():
    con = duckdb.connect()
    load_reference(con, frame([A, B, C]), "sha-1")
    b2 = dict(B, phone_std="0905000000")
    d = person("049095000999", "Lê Thị Hoa", "1995", "F")
    stats = load_reference(con, frame([A, b2, d]), "sha-2")
    assert (stats.inserted, stats.updated, stats.deleted, stats.unchanged) == (1, 1, 1, 1)
    rows = con.sql("SELECT person_id, phone_std FROM reference_person ORDER BY person_id").fetchall()
    assert rows == [("049090001234", None), ("049095000999", None), ("049190005678", "0905000000")]
    assert reference_is_current(con, "sha-2")


def test_rows_without_id_or_with_a_repeated_id_are_dropped_and_counted():
    con = duckdb.connect()
    stats = load_reference(con, frame([A, dict(A), person(None, "Ai Đó", "1990")]), "sha")
    assert (stats.total, stats.dropped_no_id, stats.dropped_duplicate_id) == (1, 1, 1)


def test_term_frequency_tables_count_names_across_the_population():
    con = duckdb.connect()
    load_reference(con, frame([A, B, C]), "sha")
    tf = con.sql("SELECT value, count, frequency FROM tf_name ORDER BY value").fetchall()
    assert tf == [("huỳnh thị mỹ", 1, 1 / 3), ("nguyễn văn an", 2, 2 / 3)]
    ny = con.sql("SELECT value, count FROM tf_name_year ORDER BY value").fetchall()
    assert ny[1:] == [("nguyễn văn an|1985", 1), ("nguyễn văn an|1990", 1)]
    assert con.sql("SELECT count FROM tf_surname WHERE value = 'nguyễn'").fetchall() == [(2,)]


def test_death_date_text_becomes_a_date_and_marks_the_person_dead():
    con = duckdb.connect()
    df = frame([A, B]).with_columns(pl.Series("death_date", ["12/03/2021", None]))
    load_reference(con, df, "sha")
    rows = con.sql(
        "SELECT person_id, death_date::VARCHAR, is_dead FROM reference_person ORDER BY 1"
    ).fetchall()
    assert rows == [("049090001234", "2021-03-12", True), ("049190005678", None, False)]


def test_reloading_the_same_people_changes_nothing():
    con = duckdb.connect()
    load_reference(con, frame([A, B, C]), "sha-1")
    stats = load_reference(con, frame([C, A, B]), "sha-1b")
    assert (stats.inserted, stats.updated, stats.deleted, stats.unchanged) == (0, 0, 0, 3)


def test_an_extract_with_other_columns_is_reloaded_whole():
    con = duckdb.connect()
    load_reference(con, frame([A, B]), "sha-1")
    stats = load_reference(con, frame([A, B]).with_columns(pl.lit("x").alias("ethnicity")), "sha-2")
    assert (stats.inserted, stats.deleted, stats.unchanged) == (2, 2, 0)
    assert con.sql("SELECT count(*) FROM reference_person WHERE ethnicity = 'x'").fetchall() == [(2,)]
