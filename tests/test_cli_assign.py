"""``cyclemap assign``: real CSV files in tmp_path through click's runner (and one real process)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cyclemap.batch import FIELDS, fork_available
from cyclemap.cli import main

from .conftest import ROOT, write_city
from .test_city import ROWS


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    return write_city(tmp_path_factory.mktemp("assign-cli-city"), addresses=ROWS)


def run(city_dir, *args):
    url = f"sqlite:///{city_dir / 'live.sqlite'}"
    args = [str(a) for a in args]
    return CliRunner().invoke(
        main, ["--city", str(city_dir), "--database-url", url, "assign", *args]
    )


def read_csv(path, encoding="utf-8"):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.reader(f))


SIMPLE = (
    "account,name,service_address,amount\n"
    "1001,Ann Lee,101 S MAIN ST,52.10\n"
    "1002,Bo Diaz,201 ELM ST,17.00\n"
    "1003,Cy Ng,500 FAR RD,9.99\n"
    "1004,Di Orr,9999 NOWHERE BLVD,0\n"
    "1005,Ed Poe,101 s  main st,52.10\n"
    "1006,Flo Ray,,3.50\n"
)


def test_round_trip_keeps_rows_and_columns_byte_for_byte(city_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(SIMPLE.encode())
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out)
    assert result.exit_code == 0, result.output
    rows_in = read_csv(src)
    rows_out = read_csv(out)
    assert rows_out[0] == rows_in[0] + list(FIELDS)
    assert len(rows_out) == len(rows_in)
    for a, b in zip(rows_in, rows_out, strict=True):
        assert b[: len(a)] == a
    # the raw text of the original columns is untouched, line for line (same line ending)
    raw_in = src.read_bytes().decode().splitlines(keepends=True)
    raw_out = out.read_bytes().decode().splitlines(keepends=True)
    for a, b in zip(raw_in, raw_out, strict=True):
        assert b.startswith(a.rstrip("\n") + ",") and b.endswith("\n") and not b.endswith("\r\n")
    by_account = {r[0]: dict(zip(rows_out[0], r, strict=True)) for r in rows_out[1:]}
    assert by_account["1001"]["cycle"] == "1" and by_account["1001"]["status"] == "matched"
    assert by_account["1005"]["cycle"] == "1"
    assert by_account["1002"]["status"] == "ambiguous"
    assert by_account["1003"]["status"] == "outside_service_area"
    assert by_account["1004"]["status"] == by_account["1006"]["status"] == "not_found"
    assert float(by_account["1001"]["lon"]) == pytest.approx(0.0051)


def test_summary_counts_statuses_and_match_types(city_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(SIMPLE)
    result = run(city_dir, src, "-o", tmp_path / "out.csv")
    err = result.stderr
    assert "Assigned 6 rows" in err and "service_address (guessed)" in err
    lines = {
        line.split("  ")[1].strip(): line
        for line in err.splitlines()
        if line.startswith("  ") and "  " in line[2:]
    }
    assert lines["matched"].split()[1] == "2"
    assert lines["not found"].split()[2] == "2"
    assert "by match type:" in err and "4 rows need a person" in err
    assert result.stdout == ""


def test_rejects_file_lists_rows_needing_a_person_with_reasons(city_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(SIMPLE)
    rejects = tmp_path / "rejects.csv"
    result = run(city_dir, src, "-o", tmp_path / "out.csv", "--rejects", rejects)
    assert result.exit_code == 0, result.output
    rows = read_csv(rejects)
    assert rows[0] == ["line", "account", "name", "service_address", "amount", "status", "reason"]
    got = {r[1]: (r[0], r[-2], r[-1]) for r in rows[1:]}
    assert set(got) == {"1002", "1003", "1004", "1006"}
    assert got["1002"][:2] == ("3", "ambiguous") and "cycle 3" in got["1002"][2]
    assert "outside every cycle zone" in got["1003"][2]
    assert got["1006"][2] == "the address is empty"
    assert "rows need a person: written to" in result.stderr


def test_windows_1252_export_with_accented_names(city_dir, tmp_path):
    text = (
        "Name;Service Address;Note\r\n"
        "Café Müller;101 S MAIN ST;Señor Peña’s shop\r\n"
        "Zoë Ødegård;303 OAK AVE;€ 12\r\n"
    )
    src = tmp_path / "export.csv"
    src.write_bytes(text.encode("cp1252"))
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out)
    assert result.exit_code == 0, result.output
    assert "input read as cp1252" in result.stderr
    data = out.read_bytes()
    # Excel reads UTF-8 as Windows-1252 unless a BOM says otherwise: the output has one
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").startswith("Name;Service Address;Note;cycle;status;")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][:3] == ["Café Müller", "101 S MAIN ST", "Señor Peña’s shop"]
    assert rows[2][0] == "Zoë Ødegård" and rows[2][2] == "€ 12"
    assert rows[1][3] == rows[2][3] == "1"
    assert data.splitlines(keepends=True)[1].endswith(b"\r\n")
    # the encoding can also be named; a wrong name or a wrong guess is exit 2
    assert run(city_dir, src, "-o", out, "--encoding", "windows-1252").exit_code == 0
    bad = run(city_dir, src, "-o", out, "--encoding", "klingon")
    assert bad.exit_code == 2 and "unknown encoding 'klingon'" in bad.stderr
    wrong = run(city_dir, src, "-o", out, "--encoding", "utf-8")
    assert wrong.exit_code == 2 and "is not valid utf-8" in wrong.stderr
    assert "Traceback" not in wrong.output


def test_utf8_with_bom_keeps_the_header_clean_and_the_bom(city_dir, tmp_path):
    src = tmp_path / "bom.csv"
    src.write_bytes(b"\xef\xbb\xbfaddress,owner\n101 S MAIN ST,Ren\xc3\xa9e\n")
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbfaddress,owner,cycle,")
    rows = read_csv(out, "utf-8-sig")
    assert rows[1][:3] == ["101 S MAIN ST", "Renée", "1"]


def test_quoted_fields_with_commas_and_newlines(city_dir, tmp_path):
    rows_in = [
        ["account", "name", "address", "comment"],
        ["1", "Lee, Ann", "101 S MAIN ST", 'said "hi"\nthen left'],
        ["2", "Orr, Di", "303 OAK AVE", "line one\r\nline two, with comma"],
        ["3", "Ng", "201 ELM ST", ""],
    ]
    src = tmp_path / "quoted.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows_in)
    out = tmp_path / "out.csv"
    rejects = tmp_path / "rejects.csv"
    result = run(city_dir, src, "-o", out, "--rejects", rejects)
    assert result.exit_code == 0, result.output
    rows_out = read_csv(out)
    assert len(rows_out) == len(rows_in)
    for a, b in zip(rows_in, rows_out, strict=True):
        assert b[:4] == a
    assert [r[4] for r in rows_out[1:]] == ["1", "1", ""]
    # the rejects file names the line where the row starts (row 3 starts on line 6)
    assert [r[0] for r in read_csv(rejects)[1:]] == ["6"]


def test_empty_file_is_bad_input(city_dir, tmp_path):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: empty.csv is empty: there is no header row and no data"
    assert not out.exists()


def test_header_only_file_gives_header_only_output(city_dir, tmp_path):
    src = tmp_path / "header.csv"
    src.write_text("account,service_address\n")
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_text() == "account,service_address," + ",".join(FIELDS) + "\n"
    assert "Assigned 0 rows" in result.stderr


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            "id,amount\n1,9.50\n2,3.00\n",
            [],
            "no column looks like an address; the columns are: id, amount",
        ),
        (SIMPLE, ["--address-column", "where"], "there is no column 'where'"),
        (SIMPLE, ["--lon-column", "x"], "give both --lon-column and --lat-column"),
        (SIMPLE, ["--lon-column", "x", "--lat-column", "y"], "there is no column 'x'"),
    ],
)
def test_no_usable_column_is_exit_2_with_one_clear_line(city_dir, tmp_path, content, args, message):
    src = tmp_path / "in.csv"
    src.write_text(content)
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out, *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (
        "Traceback" not in result.output
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    assert not out.exists()


def test_missing_input_file_is_exit_2(city_dir, tmp_path):
    result = run(city_dir, tmp_path / "nope.csv", "-o", tmp_path / "out.csv")
    assert result.exit_code == 2
    assert "cannot read" in result.stderr and "does not exist" in result.stderr


def test_columns_are_guessed_from_parts_and_clashing_names_kept(city_dir, tmp_path):
    src = tmp_path / "parts.csv"
    src.write_text(
        "status,House No,Street,cycle\nactive,101,S MAIN ST,old\nclosed,303,OAK AVE,old\n"
    )
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out)
    assert result.exit_code == 0, result.output
    assert "House No + Street (guessed)" in result.stderr
    rows = read_csv(out)
    assert rows[0] == ["status", "House No", "Street", "cycle", "cycle_1", "status_1", *FIELDS[2:]]
    assert [r[:4] for r in rows[1:]] == [
        ["active", "101", "S MAIN ST", "old"],
        ["closed", "303", "OAK AVE", "old"],
    ]
    assert [r[4] for r in rows[1:]] == ["1", "1"]


def test_rerun_on_an_earlier_output_replaces_its_cycle_columns(city_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(SIMPLE)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert run(city_dir, src, "-o", first).exit_code == 0
    result = run(city_dir, first, "-o", second)
    assert result.exit_code == 0, result.output
    assert second.read_bytes() == first.read_bytes()
    assert "were replaced" in result.stderr


def test_points_from_lon_lat_columns(city_dir, tmp_path):
    src = tmp_path / "meters.csv"
    src.write_text("meter,X,Y\nm1,0.005,0.015\nm2,5,5\nm3,,\n")
    out = tmp_path / "out.csv"
    result = run(city_dir, src, "-o", out, "--lon-column", "X", "--lat-column", "Y")
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert [r[3:6] for r in rows[1:]] == [
        ["2", "matched", "point"],
        ["", "outside_service_area", "point"],
        ["", "not_found", ""],
    ]


@pytest.mark.skipif(not fork_available(), reason="needs the 'fork' start method")
def test_parallel_and_serial_outputs_are_identical(city_dir, tmp_path):
    src = tmp_path / "big.csv"
    lines = ["account,address"]
    streets = ["S MAIN ST", "N MAIN ST", "OAK AVE", "ELM ST", "NOWHERE RD", "FAR RD"]
    for i in range(3000):
        street = streets[i % len(streets)]
        lines.append(f"{i},{100 + i % 320} {street.lower() if i % 3 else street}")
    src.write_text("\n".join(lines) + "\n")
    serial, parallel = tmp_path / "serial.csv", tmp_path / "parallel.csv"
    assert run(city_dir, src, "-o", serial, "--workers", "1").exit_code == 0
    result = run(city_dir, src, "-o", parallel, "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "2 worker processes" in result.stderr
    assert parallel.read_bytes() == serial.read_bytes()


def test_a_real_process_in_a_pipe_is_quiet_and_can_write_to_stdout(city_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(SIMPLE)
    env = {**os.environ, "CYCLEMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite'}"}
    command = [sys.executable, "-m", "cyclemap", "--city", str(city_dir), "assign", str(src)]
    proc = subprocess.run(
        [*command, "-o", "-"], capture_output=True, cwd=ROOT, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = list(csv.reader(io.StringIO(proc.stdout.decode())))
    assert out[0][-len(FIELDS) :] == list(FIELDS) and len(out) == 7
    err = proc.stderr.decode()
    assert "Assigning" not in err and "\r" not in err  # no progress bar in a pipe
    assert err.startswith("Assigned 6 rows")
    quiet = subprocess.run(
        [*command, "-o", str(tmp_path / "o.csv"), "-q"], capture_output=True, cwd=ROOT, env=env
    )
    assert quiet.returncode == 0 and quiet.stderr == b""


# -- issue 20: what Excel writes and what Excel reads ---------------------------------------------
def test_a_cp1252_input_gives_an_output_excel_reads(city_dir, tmp_path):
    src = tmp_path / "export.csv"
    src.write_bytes(
        "name,service_address\r\nJosé,101 S MAIN ST\r\nZoë,9999 NOWHERE\r\n".encode("cp1252")
    )
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = run(city_dir, src, "-o", out, "--rejects", rejects)
    assert result.exit_code == 0, result.output
    for path in (out, rejects):
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path  # Excel then shows "José", not "JosÃ©"
        assert "José" in data.decode("utf-8-sig") or "Zoë" in data.decode("utf-8-sig")
    assert "UTF-8 with a BOM, for Excel; input read as cp1252" in result.stderr
    # a plain UTF-8 input stays plain UTF-8 (its bytes are kept as they were)
    plain = tmp_path / "plain.csv"
    plain.write_bytes("name,service_address\nJosé,101 S MAIN ST\n".encode())
    result = run(city_dir, plain, "-o", out)
    assert not out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "Wrote " in result.stderr and "(UTF-8;" in result.stderr


def test_a_repeated_header_row_is_not_looked_up(city_dir, tmp_path):
    src = tmp_path / "joined.csv"
    src.write_text(
        "account,service_address\n"
        "1,101 S MAIN ST\n"
        "account,service_address\n"  # two exports pasted one after the other
        "2,303 OAK AVE\n"
    )
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = run(city_dir, src, "-o", out, "--rejects", rejects)
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert len(rows) == 4
    assert rows[2] == rows[0] == ["account", "service_address", *FIELDS]  # still a header
    assert rows[1][2] == rows[3][2] == "1"
    assert read_csv(rejects) == [read_csv(rejects)[0]]  # nothing needs a person
    assert "Assigned 2 rows" in result.stderr
    assert "1 repeated header row kept as a header (not looked up)" in result.stderr


def test_excels_sep_line_names_the_delimiter(city_dir, tmp_path):
    src = tmp_path / "excel.csv"
    src.write_text("sep=;\r\nname;service_address\r\nAnn, Lee;101 S MAIN ST\r\nBo;9999 NOWHERE\r\n")
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = run(city_dir, src, "-o", out, "--rejects", rejects)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "sep=;"  # kept, so that Excel opens the output the same way
    rows = list(csv.reader(lines[1:], delimiter=";"))
    assert rows[0] == ["name", "service_address", *FIELDS]
    assert rows[1][:3] == ["Ann, Lee", "101 S MAIN ST", "1"]
    rejected = list(csv.reader(rejects.read_text().splitlines()[1:], delimiter=";"))
    assert rejected[0][:2] == ["line", "name"] and rejected[1][0] == "4"  # the line in the file


def test_blank_rows_are_kept_in_place(city_dir, tmp_path):
    src = tmp_path / "gaps.csv"
    src.write_text(
        "account,service_address\n1,101 S MAIN ST\n\n2,303 OAK AVE\n,\n3,101 S MAIN ST\n"
    )
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = run(city_dir, src, "-o", out, "--rejects", rejects)
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert len(rows) == 6  # every row of the input, blank ones too, in their places
    assert [r[0] if r else None for r in rows[1:]] == ["1", None, "2", "", "3"]
    assert rows[2] == [] and rows[4] == ["", "", *[""] * len(FIELDS)]
    assert rows[5][2] == "1"
    assert len(read_csv(rejects)) == 1  # blank rows need no person
    assert "Assigned 3 rows" in result.stderr
    assert "2 blank rows kept as they were" in result.stderr


@pytest.mark.parametrize("with_rejects", [False, True])
def test_rows_kept_as_they_were_stay_in_place_across_chunks(city_dir, tmp_path, with_rejects):
    from cyclemap.batch.assign import CHUNK_ROWS

    # blank and header rows at the edges of chunks: the blank one ending the first chunk is
    # written before the second, all plain (taken whole, the quick way), then a header row
    n = 3 * CHUNK_ROWS
    special = {CHUNK_ROWS - 1: "", 2 * CHUNK_ROWS: "account,service_address", n - 1: ""}
    lines = ["account,service_address"]
    for i in range(n):
        lines.append(special.get(i, f"{i},{('101 S MAIN ST', '303 OAK AVE', '9 NOWHERE')[i % 3]}"))
    src = tmp_path / "long.csv"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    args = ["--rejects", tmp_path / "rejects.csv"] if with_rejects else []
    result = run(city_dir, src, "-o", out, *args)
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert len(rows) == n + 1
    cycles = {}
    for i, row in enumerate(rows[1:]):
        if i in special:
            assert row == ([] if not special[i] else ["account", "service_address", *FIELDS])
            continue
        assert row[:2] == lines[i + 1].split(",")
        assert cycles.setdefault(row[1], row[2:]) == row[2:]
    assert sorted(c[1] for c in cycles.values()) == ["matched", "matched", "not_found"]
    assert f"Assigned {n - len(special):,} rows" in result.stderr
