from textgate.sms import describe


def test_plain_text_is_gsm7_in_one_segment_up_to_160() -> None:
    assert describe("a" * 160).model_dump() == {"characters": 160, "encoding": "GSM-7", "segments": 1}


def test_gsm7_splits_at_153_per_segment() -> None:
    assert describe("a" * 161).segments == 2
    assert describe("a" * 306).segments == 2
    assert describe("a" * 307).segments == 3


def test_extended_characters_take_two_septets() -> None:
    info = describe("€" * 80)
    assert info.encoding == "GSM-7" and info.segments == 1
    assert describe("€" * 81).segments == 2


def test_anything_outside_gsm7_makes_it_ucs2() -> None:
    assert describe("Hello 👋").encoding == "UCS-2"
    assert describe("ç" * 70).model_dump() == {"characters": 70, "encoding": "UCS-2", "segments": 1}
    assert describe("ç" * 71).segments == 2
    assert describe("ç" * 134).segments == 2
    assert describe("ç" * 135).segments == 3


def test_emoji_counts_two_ucs2_units() -> None:
    assert describe("👋" * 35).segments == 1
    assert describe("👋" * 36).segments == 2
