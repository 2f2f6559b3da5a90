"""Reading ``a=1&b=2``: the endpoint's own decoder gives what the standard library gives."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eusdp.errors import BadEncoding
from eusdp.web.protocol import parse_pairs


def stdlib(text: str) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict"):
        pairs.setdefault(name, []).append(value)
    return pairs


@pytest.mark.parametrize(
    "text",
    [
        "",
        "query=SELECT+%3Fs+%7B%7D",
        "a=1&a=2&b=&c",
        "&&a=%41&",
        "x=%zz&y=%4&z=%%41",  # not escapes: kept as they are
        "back=%5C%41\\%41\\n\\x41",  # backslashes in the text stay backslashes
        "plus=%2B+a+b",
        "eq=a=b=c&=v",
        "utf8=%C3%A9%E2%82%AC&raw=\u00e9",
        "nl=%0A%0d%00",
    ],
)
def test_the_same_pairs_as_parse_qsl(text: str) -> None:
    reads_as_parse_qsl(text)


@given(st.lists(st.tuples(st.text(), st.text()), max_size=4), st.booleans())
def test_any_encoded_pairs_read_back(pairs: list[tuple[str, str]], plus: bool) -> None:
    encode = quote_plus if plus else quote
    text = "&".join(f"{encode(n.encode('utf-8', 'surrogatepass'))}="
                    f"{encode(v.encode('utf-8', 'surrogatepass'))}" for n, v in pairs)  # fmt: skip
    reads_as_parse_qsl(text)


@given(st.text(alphabet="%+=&\\abcdefABCDEF0123456789xz\u00e9", max_size=40))
def test_any_text_reads_as_parse_qsl_reads_it(text: str) -> None:
    reads_as_parse_qsl(text)


def reads_as_parse_qsl(text: str) -> None:
    """The same pairs, or a BadEncoding where the standard library finds bad UTF-8."""
    try:
        expected = stdlib(text)
    except UnicodeDecodeError:
        with pytest.raises(BadEncoding):
            parse_pairs(text, "the URL")
        return
    assert parse_pairs(text, "the URL") == expected


def test_bad_utf8_is_a_bad_encoding() -> None:
    with pytest.raises(BadEncoding, match="not UTF-8"):
        parse_pairs("query=%FF%FE", "the URL")
