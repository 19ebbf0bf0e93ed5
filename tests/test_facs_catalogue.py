"""The AU catalogue: contents, aliases, incompatibilities and errors on bad files."""

import pytest

from blendtalk.facs import INTENSITY_LETTERS, load_catalogue

EXPECTED = (1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 20, 22, 23, 24, 25, 26, 27, 28,
            41, 42, 43, 44, 45, 61, 62, 63, 64)


def test_catalogue_numbers_and_aliases():
    cat = load_catalogue()
    assert cat.numbers == EXPECTED
    assert INTENSITY_LETTERS == "ABCDE"
    for alias, au in {"inner brow raiser": 1, "eye lid tightener": 7, "Mouth-Dimpler": 14,
                      "eyes wide": 5, "eyes slit": 42, "eyes squint": 44, "jaw drop": 26,
                      "lip suck": 28, "eye lid droop": 41, "eyes closed": 43,
                      "eyes turn left": 61, "Lip Corner Puller": 12}.items():
        assert cat.lookup(alias) == au, alias
    assert cat.lookup("smile harder") is None
    assert {u.region for u in cat.units} == {"brows", "eyes", "cheeks", "nose", "mouth", "jaw",
                                              "gaze"}


def test_incompatible_pairs_symmetric():
    cat = load_catalogue()
    assert cat.are_incompatible(5, 7) and cat.are_incompatible(7, 5)
    assert cat.are_incompatible(12, 15) and cat.are_incompatible(43, 5)
    assert not cat.are_incompatible(6, 12)


def test_bad_catalogue_names_line(tmp_path):
    bad = tmp_path / "aus.csv"
    bad.write_text("au,name,aliases,region,incompatible_with\n1,Inner Brow Raiser,x,brows,\n"
                   "2,Outer,y,forehead,\n")
    with pytest.raises(ValueError, match=r"aus.csv:3: region 'forehead'"):
        load_catalogue(bad)
    bad.write_text("au,name,aliases,region,incompatible_with\n1,A,x,brows,2\n2,B,y,brows,\n")
    with pytest.raises(ValueError, match="both rows"):
        load_catalogue(bad)
