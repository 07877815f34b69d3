"""Parsing and USPS Publication 28 normalization: one group of tests per table."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
import usaddress

from cyclemap.geocode.normalize import (
    MAX_ADDRESS_LENGTH,
    ParsedAddress,
    clean_text,
    normalize_name,
    normalize_number,
    normalize_street,
    normalize_unit,
    normalize_zip,
    parse_address,
    parse_street,
    read_table,
    street_readings,
    tables,
)

DATA = Path(__file__).parent / "data" / "addresses"
PLACES = ["CAPE GIRARDEAU"]


# -- the tables themselves ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, columns",
    [
        ("usps_suffixes", {"primary", "variant", "standard"}),
        ("usps_directionals", {"variant", "standard"}),
        ("usps_units", {"name", "variant", "standard", "requires_id"}),
        ("usps_states", {"name", "abbreviation"}),
        ("number_words", {"word", "value", "ordinal"}),
        ("highways", {"variant", "canonical"}),
        ("name_words", {"variant", "standard"}),
        ("suffix_variants", {"variant", "standard"}),
    ],
)
def test_every_table_reads_with_its_columns_and_no_blank_cells(name, columns):
    rows = read_table(name)
    assert rows, name
    for row in rows:
        assert set(row) == columns
        assert all(row[c] for c in columns), row


def test_suffix_variants_are_forms_c1_lacks_of_its_standard_abbreviations():
    c1 = read_table("usps_suffixes")
    standards = {r["standard"] for r in c1}
    listed = {r["variant"] for r in c1}
    for row in read_table("suffix_variants"):
        assert row["standard"] in standards, row
        assert row["variant"] not in listed, row  # C1's own reading wins: nothing to add
        assert tables().suffixes[row["variant"]] == row["standard"]


def test_suffix_table_is_appendix_c1():
    rows = read_table("usps_suffixes")
    primaries = {r["primary"] for r in rows}
    # Appendix C1 lists about 200 primary suffix names; every one maps to itself as a variant
    assert len(primaries) >= 195
    assert all(any(r["variant"] == p for r in rows) for p in primaries)
    # every standard abbreviation stands for itself
    t = tables()
    assert all(t.suffixes[r["standard"]] == r["standard"] for r in rows)


@pytest.mark.parametrize(
    "variants, standard",
    [
        ("AVENUE AVE AV AVEN AVENU AVN AVNUE", "AVE"),
        ("STREET STRT ST STR", "ST"),
        ("BOULEVARD BLVD BOUL BOULV", "BLVD"),
        ("DRIVE DR DRIV DRV", "DR"),
        ("TERRACE TER TERR", "TER"),
        ("PARKWAY PARKWY PKWAY PKWY PKY PARKWAYS PKWYS", "PKWY"),
        ("CIRCLE CIR CIRC CIRCL CRCL CRCLE", "CIR"),
        ("HIGHWAY HIGHWY HIWAY HIWY HWAY HWY", "HWY"),
        ("CROSSING CRSSNG XING", "XING"),
        ("MOUNTAIN MNTAIN MNTN MOUNTIN MTIN MTN", "MTN"),
        ("TURNPIKE TRNPK TURNPK TPKE", "TPKE"),
    ],
)
def test_suffix_variants(variants, standard):
    for variant in variants.split():
        assert tables().suffixes[variant] == standard
        assert parse_street(f"Elm {variant.lower()}").suffix == standard


@pytest.mark.parametrize(
    "variant, standard",
    [
        ("NORTH", "N"), ("N", "N"), ("N.", "N"), ("NO", "N"), ("SOUTH", "S"), ("SO", "S"),
        ("EAST", "E"), ("WEST", "W"), ("NORTHEAST", "NE"), ("N.E.", "NE"), ("SOUTHWEST", "SW"),
        ("NORTE", "N"), ("OESTE", "W"),
    ],
)  # fmt: skip
def test_directionals(variant, standard):
    assert parse_street(f"{variant} Elm St").predir == standard
    assert parse_street(f"Elm St {variant}").postdir == standard


def test_a_directional_word_alone_is_the_name():
    assert parse_street("North St") == parse_street("NORTH STREET")
    assert (parse_street("North St").name, parse_street("North St").predir) == ("NORTH", "")
    assert parse_street("West").name == "WEST"


@pytest.mark.parametrize(
    "text, unit",
    [
        ("Apartment 5", "APT 5"), ("apt. 5", "APT 5"), ("APT #5", "APT 5"), ("# 5", "# 5"),
        ("#5b", "# 5B"), ("Unit B", "UNIT B"), ("Suite 200", "STE 200"), ("ste 200", "STE 200"),
        ("Building 3", "BLDG 3"), ("Floor 2", "FL 2"), ("Room 101", "RM 101"), ("Rear", "REAR"),
        ("Penthouse", "PH"), ("Space 12", "SPC 12"), ("Lot 7", "LOT 7"), ("5", "5"),
    ],
)  # fmt: skip
def test_unit_designators(text, unit):
    assert normalize_unit(text) == unit


@pytest.mark.parametrize(
    "text, name",
    [
        ("First", "1ST"), ("SECOND", "2ND"), ("third", "3RD"), ("Twelfth", "12TH"),
        ("Twenty-First", "21ST"), ("twenty first", "21ST"), ("Thirtieth", "30TH"),
        ("Ninety Ninth", "99TH"), ("21st", "21ST"), ("2nd", "2ND"), ("103rd", "103RD"),
        ("One", "ONE"),  # a cardinal word in a name stays a word
    ],
)  # fmt: skip
def test_ordinal_and_spelled_out_numbers(text, name):
    assert parse_street(f"{text} Street").name == name


@pytest.mark.parametrize(
    "text, street",
    [
        ("US HWY 61", "US HIGHWAY 61"), ("US Highway 61", "US HIGHWAY 61"),
        ("U.S. Hwy 61", "US HIGHWAY 61"), ("US 61", "US HIGHWAY 61"), ("US-61", "US HIGHWAY 61"),
        ("Highway 61", "HIGHWAY 61"), ("Hwy 61", "HIGHWAY 61"), ("HWY 61 N", "HIGHWAY 61 N"),
        ("STATE HWY 74", "STATE HIGHWAY 74"), ("State Highway 74", "STATE HIGHWAY 74"),
        ("MO 74", "STATE HIGHWAY 74"), ("MO-74", "STATE HIGHWAY 74"),
        ("Missouri Highway 74", "STATE HIGHWAY 74"), ("State Route 74", "STATE HIGHWAY 74"),
        ("SR 74", "STATE HIGHWAY 74"), ("Route 74", "HIGHWAY 74"), ("Rte 74", "HIGHWAY 74"),
        ("Route K", "HIGHWAY K"), ("I-55", "INTERSTATE 55"), ("Interstate 55", "INTERSTATE 55"),
        ("County Road 312", "COUNTY ROAD 312"), ("CR 312", "COUNTY ROAD 312"),
    ],
)  # fmt: skip
def test_highway_forms(text, street):
    assert normalize_street(text) == street


def test_highway_words_elsewhere_are_ordinary_words():
    assert parse_street("Highway Dr") == parse_street("HIGHWAY DRIVE")
    assert parse_street("Highway Dr").name == "HIGHWAY"
    assert parse_street("Kings Hwy").key == "KINGS HWY"


@pytest.mark.parametrize(
    "a, b",
    [
        ("n. kingshighway", "N KINGSHIGHWAY"), ("N  KINGSHIGHWAY ", "n kingshighway"),
        ("S. Sprigg St.", "SOUTH SPRIGG STREET"), ("O'Neil Ave", "ONEIL AVENUE"),
        ("Saint Louis St", "ST LOUIS ST"), ("Mount Auburn Rd", "Mt. Auburn Road"),
        ("Niño Ct", "NINO COURT"), ("West End Blvd", "W End Blvd"),
    ],
)  # fmt: skip
def test_punctuation_case_and_name_words_do_not_matter(a, b):
    assert normalize_street(a) == normalize_street(b)


def test_kingshighway_is_a_name_not_a_suffix():
    assert parse_street("N Kingshighway").key == "N KINGSHIGHWAY"
    st = parse_street("N Kingshighway St")
    assert (st.predir, st.name, st.suffix) == ("N", "KINGSHIGHWAY", "ST")


def test_street_readings_offer_directional_and_suffix_words_as_part_of_the_name():
    assert [r.name for r in street_readings("Cherry Hills")] == ["CHERRY", "CHERRY HLS"]
    assert "W END" in [r.name for r in street_readings("West End Blvd")]
    assert [r.name for r in street_readings("Cape West")] == ["CAPE", "CPE W"]


def test_normalize_name_in_several_words():
    assert normalize_name(["MOUNTAIN", "VIEW"]) == "MTN VW"
    assert normalize_name(["MARTIN", "LUTHER", "KING"]) == "MLK"


@pytest.mark.parametrize(
    "text, number, value",
    [
        ("12", "12", 12), ("12A", "12A", 12), ("12-a", "12A", 12), ("58 1/2", "58 1/2", 58),
        ("58-1/2", "58 1/2", 58), ("157 1/2A", "157 1/2A", 157), ("12-1", "12-1", 12),
        ("58 H1", "58-H1", 58), ("0012", "12", 12), ("12.0", "12", 12),
    ],
)  # fmt: skip
def test_house_numbers(text, number, value):
    assert normalize_number(text) == (number, value)


@pytest.mark.parametrize("text", ["", "ABC", "12 13 14", "1/2", "-", "N12"])
def test_not_house_numbers(text):
    assert normalize_number(text) is None


def test_zip_codes():
    assert normalize_zip("63701-1234") == "63701"
    assert normalize_zip("637011234") == "63701"
    assert normalize_zip("2139") == "02139"  # read from a numeric column
    assert normalize_zip("2139.0") == "02139"
    assert normalize_zip("MO") == ""


def test_clean_text_drops_what_is_not_an_address():
    assert clean_text("1 Main\tSt 🏠\x00") == "1 MAIN ST"
    assert clean_text("Çà Street") == "CA STREET"


# -- whole addresses ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "1234 north kingshighway apt 5",
            ParsedAddress(number="1234", predir="N", name="KINGSHIGHWAY", unit="APT 5"),
        ),
        (
            "1234 N. KINGSHIGHWAY #5",
            ParsedAddress(number="1234", predir="N", name="KINGSHIGHWAY", unit="# 5"),
        ),
        (
            "1234 Kingshighway St, Cape Girardeau MO 63701",
            ParsedAddress(
                number="1234", name="KINGSHIGHWAY", suffix="ST", city="CAPE GIRARDEAU",
                state="MO", zip="63701",
            ),
        ),
        (
            "1234 N Kingshighway Cape Girardeau MO 63701-4411",
            ParsedAddress(
                number="1234", predir="N", name="KINGSHIGHWAY", city="CAPE GIRARDEAU",
                state="MO", zip="63701",
            ),
        ),
        ("12 S Sprigg", ParsedAddress(number="12", predir="S", name="SPRIGG")),
        (
            "2505 Veterans Memorial Dr",
            ParsedAddress(number="2505", name="VETERANS MEMORIAL", suffix="DR"),
        ),
        ("58 1/2 William St", ParsedAddress(number="58 1/2", name="WILLIAM", suffix="ST")),
        ("100 US Hwy 61 N", ParsedAddress(number="100", name="US HIGHWAY 61", postdir="N")),
        ("1442 U.S. HWY 61", ParsedAddress(number="1442", name="US HIGHWAY 61")),
        ("15 St Sauveur Ct", ParsedAddress(number="15", name="ST SAUVEUR", suffix="CT")),
        ("2271 Texas 63701", ParsedAddress(number="2271", name="TEXAS", zip="63701")),
        (
            "750 state route 74 apartment 4",
            ParsedAddress(number="750", name="STATE HIGHWAY 74", unit="APT 4"),
        ),
        ("1234, N Kingshighway", ParsedAddress(number="1234", predir="N", name="KINGSHIGHWAY")),
        ("william st", ParsedAddress(name="WILLIAM", suffix="ST")),
        ("1234", ParsedAddress(number="1234")),
    ],
)  # fmt: skip
def test_parse_address(text, expected):
    assert parse_address(text, PLACES) == expected


@pytest.mark.parametrize(
    "text, kind",
    [
        ("", "empty"), ("   ", "empty"), ("!!!", "empty"), ("🏠🏠", "empty"), ("63701", "empty"),
        ("PO Box 123", "po_box"), ("P.O. Box 9, Cape Girardeau MO", "po_box"),
        ("x" * (MAX_ADDRESS_LENGTH + 1), "too_long"),
    ],
)  # fmt: skip
def test_what_is_not_a_street_address(text, kind):
    assert parse_address(text, PLACES).kind == kind


def test_repeated_label_error_strings_are_parsed_not_raised():
    lines = (DATA / "usaddress_repeated_label.txt").read_text().splitlines()
    assert len(lines) >= 30
    for line in lines:
        with pytest.raises(usaddress.RepeatedLabelError):
            usaddress.tag(line)
        parsed = parse_address(line)
        if " box " in f" {line.lower()} ":
            assert parsed.kind == "po_box", line
            continue
        assert parsed.kind == "street", line
        if line[0].isdigit():  # mostly an address written twice: the first copy's number
            digits = parsed.number_value
            assert digits is not None and line.startswith(str(digits)), line
        assert parsed.name.split()[0] in line.upper().replace("-", " "), line


def test_messy_strings_never_raise():
    for line in (DATA / "usaddress_messy.txt").read_text().splitlines():
        assert isinstance(parse_address(line), ParsedAddress)


def test_random_text_never_raises():
    rng = random.Random(5)
    alphabet = string.printable + "#/-.,'&éß🏠\u200b\x00"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        parse_address(text, PLACES)
        normalize_street(text)
        normalize_unit(text)
        normalize_number(text)


@pytest.mark.parametrize(
    ("text", "number", "street"),
    [
        ("165½ Bessie St", "165 1/2", "BESSIE ST"),  # never 1651 (NFKD's 1⁄2 lost its slash)
        ("165 ½ Bessie St", "165 1/2", "BESSIE ST"),  # never a street named "1 2 BESSIE"
        ("12½ S Sprigg St", "12 1/2", "S SPRIGG ST"),  # never 121-2
        ("165 1\u20442 Bessie St", "165 1/2", "BESSIE ST"),  # the fraction slash
        ("165¾ Bessie St", "165 3/4", "BESSIE ST"),
        ("165 3/4 Bessie St", "165 3/4", "BESSIE ST"),  # usaddress puts 3/4 in the street
        ("165 1/4 Bessie St", "165 1/4", "BESSIE ST"),
        ("58 1/2 William St", "58 1/2", "WILLIAM ST"),
    ],
)
def test_fractions_belong_to_the_house_number(text, number, street):
    p = parse_address(text)
    assert (p.number, p.street_key, p.raw_name) == (number, street, street)
    assert p.number_value == int(number.split()[0])


def test_vulgar_fractions_are_cleaned_to_ascii_fractions():
    assert clean_text("58½") == "58 1/2"
    assert clean_text("58 ¼ x ⅓") == "58 1/4 X 1/3"
    assert clean_text("Niño ½") == "NINO 1/2"


def test_a_suffix_that_is_also_a_state_ends_the_street_before_a_zip():
    p = parse_address("2360 Dogwood Ct 63701")  # CT: court, not Connecticut
    assert (p.street_key, p.state, p.zip) == ("DOGWOOD CT", "", "63701")
    p = parse_address("2360 Dogwood Ct CT 06001")
    assert (p.street_key, p.state, p.zip) == ("DOGWOOD CT", "CT", "06001")
