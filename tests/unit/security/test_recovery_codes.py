"""Recovery codes: random, readable, normalized before hashing."""

from __future__ import annotations

import pytest

from backend.security.recovery_codes import digest, new_codes, normalize


def test_ten_distinct_codes_in_groups_of_four() -> None:
    # when
    codes = new_codes()
    # then
    assert len(set(codes)) == 10
    assert all(len(code) == 19 and code.count("-") == 3 for code in codes)


def test_case_spaces_and_dashes_do_not_matter() -> None:
    # given
    code = new_codes(1)[0]
    # when
    variants = {normalize(code), normalize(code.upper()), normalize(code.replace("-", " "))}
    # then
    assert len(variants) == 1
    assert digest(variants.pop() or "") == digest(normalize(code) or "")


@pytest.mark.parametrize("code", ["", "abcd", "abcd-efgh-ijkl-mno1", "abcd-efgh-ijkl-mnop-q"])
def test_malformed_codes(code: str) -> None:
    assert normalize(code) is None
