import pytest

from service.pii import PIIMasker, id_checksum_ok, luhn_ok

VALID_ID = "11010519491231002X"
VALID_CARD = "6222021234567890128"  # Luhn-valid 19 digits


@pytest.fixture
def masker() -> PIIMasker:
    return PIIMasker({"ORDER": r"XL\d{16}"})


def test_checksum_helpers():
    assert id_checksum_ok(VALID_ID)
    assert not id_checksum_ok("110105194912310021")
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert luhn_ok(VALID_CARD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的手机13812345678", "我的手机[PHONE]"),
        ("电话 +86 138 1234 5678 谢谢", "电话 [PHONE] 谢谢"),
        ("打 0086-13812345678", "打 [PHONE]"),
        ("座机010-12345678转123", "座机[PHONE]"),
        ("座机(0755)1234567", "座机[PHONE]"),
        ("座机02112345678", "座机[PHONE]"),
        ("call +1 415 555 0100 please", "call [PHONE] please"),
        ("call +44 20 7946 0958", "call [PHONE]"),
        ("身份证11010519491231002X", "身份证[ID]"),
        ("身份证 11010519491231002x。", "身份证 [ID]。"),
        ("卡号4111 1111 1111 1111", "卡号[CARD]"),
        ("卡号4111-1111-1111-1111", "卡号[CARD]"),
        (f"卡号{VALID_CARD}", "卡号[CARD]"),
        ("mail me: li.wei+cs@example.com.cn", "mail me: [EMAIL]"),
        ("订单XL2026112300001234 没到", "订单[ORDER] 没到"),
        ("订单 XL2026112300001234，手机13912345678", "订单 [ORDER]，手机[PHONE]"),
        ("手机１３９１１１１２２２２，谢谢", "手机[PHONE]，谢谢"),  # full-width digits; the comma stays as written
        ("手机 139.2222.3333 谢谢", "手机 [PHONE] 谢谢"),
        ("手机139 2222-3333", "手机[PHONE]"),
        ("手机 139–2222–3333", "手机 [PHONE]"),
        ("身份证 110105 19900307 1239 谢谢", "身份证 [ID] 谢谢"),
        ("身份证１１０１０５１９９００３０７１２３９", "身份证[ID]"),
        ("卡号 4111.1111.1111.1111", "卡号 [CARD]"),
        ("mail：li．wei＠example．com", "mail：[EMAIL]"),
        ("手机13811112222 100元", "手机[PHONE] 100元"),  # not joined into a longer run with the amount
        ("2026-11-23 13811112222", "2026-11-23 [PHONE]"),  # nor with a date before it
    ],
)
def test_pii_is_masked(masker, text, expected):
    assert masker.mask(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "身份证110105194912310021",  # 18 digits, wrong check digit (and not Luhn)
        "卡号4111111111111112",  # 16 digits failing Luhn
        "卡号 4111 1111 1111 1112",  # grouped, failing Luhn
        "号码12812345678",  # 11 digits but not a mobile prefix
        "退款 100 元，3–15 个工作日，400-820-6688 客服热线",  # amounts, durations, company hotline
        "订单XL12345",  # too short for the order pattern
        "version 2.0.1 released 2026-11-23",
        "1381234567890123456789",  # a long digit run: no rule matches inside it
        "身份证 110105 19491231 0021",  # grouped, wrong check digit
        "热线 400-820-6688 或 95588，4008-206-688",  # hotlines, however grouped
        "2026.11.23 下单，2026-11-23 发货，２０２６年１１月２３日",  # dates
        "退款 1,299.00 元，¥ 3 000.50，共 3–15 天",  # amounts and durations
        "订单号 20261123 0001",  # a 12-digit order number when joined: no rule
    ],
)
def test_lookalikes_are_left_alone(masker, text):
    assert masker.mask(text).text == text


def test_counts_per_label(masker):
    masked = masker.mask("13812345678 / 13912345678 / a@b.co")
    assert masked.counts == {"PHONE": 2, "EMAIL": 1}


def test_bad_configured_pattern_fails_fast():
    with pytest.raises(ValueError, match="KB_PII_PATTERNS"):
        PIIMasker({"BAD": "("})
