"""Answers to a procedure's form: every kind accepts what residents type and refuses the rest,
naming every bad field at once, in Japanese and English."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import msgspec
import pytest

from contracts.catalog import Choice, FieldDef
from contracts.errors import ErrorCode, FieldError, ServiceFailure
from services.procedures.answers import validate_answers
from services.runtime.files import Uploaded

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 28
PDF = b"%PDF-1.7\n" + b"\x00" * 23

TEXT = FieldDef(name="dog_name", kind="text", label_ja="犬の名前", label_en="Dog's name", max_length=5)
NUMBER = FieldDef(name="participants", kind="number", label_ja="利用人数", label_en="Number of people", minimum=1, maximum=500)
DATE = FieldDef(name="use_date", kind="date", label_ja="利用日", label_en="Date of use")
CHOICE = FieldDef(
    name="time_slot",
    kind="choice",
    label_ja="利用時間帯",
    label_en="Time slot",
    choices=[Choice(value="morning", label_ja="午前", label_en="Morning"), Choice(value="evening", label_ja="夜間", label_en="Evening")],
)
ADDRESS = FieldDef(name="owner_address", kind="address", label_ja="住所", label_en="Address", max_length=200)
POSTAL = FieldDef(name="postal_code", kind="postal_code", label_ja="郵便番号", label_en="Postal code")
PHONE = FieldDef(name="phone", kind="phone", label_ja="連絡先電話番号", label_en="Phone number")
ATTACHMENT = FieldDef(
    name="certificate",
    kind="attachment",
    label_ja="注射済証",
    label_en="Certificate",
    max_bytes=64,
    media_types=["image/jpeg", "image/png", "application/pdf"],
)


def upload(content: bytes, media_type: str = "image/png", filename: str = "証明書.png") -> dict[str, str]:
    return {"filename": filename, "media_type": media_type, "content_base64": base64.b64encode(content).decode()}


def errors_of(fields: list[FieldDef], answers: dict[str, Any], uploaded: dict | None = None, kept: dict | None = None) -> list[FieldError]:
    with pytest.raises(ServiceFailure) as raised:
        validate_answers(fields, answers, uploaded, kept=kept)
    envelope = raised.value.envelope
    assert envelope.code is ErrorCode.VALIDATION
    assert raised.value.status == 422
    for error in envelope.fields:
        assert error.message_ja and JAPANESE.search(error.message_ja), error
        assert error.message_en and not JAPANESE.search(error.message_en), error
    return envelope.fields


GOOD = [
    (TEXT, "  ポチ  ", "ポチ"),
    (TEXT, "あいうえお", "あいうえお"),  # five characters, fifteen bytes: the limit counts characters
    (TEXT, "か\u3099", "が"),  # a separate voiced mark (as a Mac sends it) joins its kana
    (TEXT, "ポチ\r\nタロ", "ポチ\nタロ"),
    (NUMBER, 3, 3),
    (NUMBER, "３", 3),
    (NUMBER, " 500 ", 500),
    (NUMBER, "１２.５", 12.5),
    (NUMBER, 1.5, 1.5),
    (DATE, "2024-04-01", "2024-04-01"),
    (DATE, "2024/4/1", "2024-04-01"),
    (DATE, "２０２４／０４／０１", "2024-04-01"),
    (DATE, "2024年4月1日", "2024-04-01"),
    (DATE, "令和6年4月1日", "2024-04-01"),
    (DATE, "令和 元年 5月 1日", "2019-05-01"),
    (DATE, "㋿６年４月１日", "2024-04-01"),
    (DATE, "平成31年4月30日", "2019-04-30"),
    (DATE, "昭和64年1月7日", "1989-01-07"),
    (DATE, "大正15年12月24日", "1926-12-24"),
    (DATE, "1900-01-01", "1900-01-01"),
    (DATE, "2100-12-31", "2100-12-31"),
    (CHOICE, "morning", "morning"),
    (CHOICE, " evening ", "evening"),
    (ADDRESS, "  福島県会津若松市東栄町3番46号　", "福島県会津若松市東栄町3番46号"),
    (ADDRESS, "会津若松市" * 40, "会津若松市" * 40),
    (POSTAL, "966-0001", "966-0001"),
    (POSTAL, "9660001", "966-0001"),
    (POSTAL, "〒９６６－０００１", "966-0001"),
    (POSTAL, "〒 966ー0001", "966-0001"),
    (PHONE, "0242-39-1111", "0242391111"),
    (PHONE, "090 1234 5678", "09012345678"),
    (PHONE, "（０２４２）３９－１１１１", "0242391111"),
    (PHONE, "０９０ー１２３４ー５６７８", "09012345678"),
    (PHONE, "+81 90-1234-5678", "09012345678"),
    (PHONE, "+81 (0)242-39-1111", "0242391111"),
]


@pytest.mark.parametrize(("field", "given", "stored"), GOOD, ids=[f"{f.kind}-{g!r}" for f, g, _ in GOOD])
def test_good_answers_are_normalised(field: FieldDef, given: Any, stored: Any) -> None:
    valid = validate_answers([field], {field.name: given})
    assert valid.values == {field.name: stored}
    assert type(valid.values[field.name]) is type(stored)
    assert valid.attachments == []


UNREADABLE = "読み取れません"
BAD = [
    (TEXT, ["ポチ"], "文字で入力"),
    (TEXT, 5, "文字で入力"),
    (TEXT, "あいうえおか", "5 文字以内"),
    (TEXT, "ポ\x00チ", "特殊な文字"),
    (TEXT, "ポ\tチ", "特殊な文字"),
    (TEXT, "ポ\ud800チ", "特殊な文字"),
    (NUMBER, True, "数字で入力"),
    (NUMBER, "three", "数字で入力"),
    (NUMBER, "1e3", "数字で入力"),
    (NUMBER, "1.2.3", "数字で入力"),
    (NUMBER, float("nan"), "数字で入力"),
    (NUMBER, 10**400, "数字で入力"),
    (NUMBER, "9" * 5000, "数字で入力"),
    (NUMBER, [1], "数字で入力"),
    (NUMBER, 0, "1 以上 500 以下"),
    (NUMBER, 501, "1 以上 500 以下"),
    (NUMBER, "５０１", "1 以上 500 以下"),
    (DATE, "2024-02-30", "カレンダーにない"),
    (DATE, "2023-02-29", "カレンダーにない"),
    (DATE, "1899-12-31", "1900年1月1日 から"),
    (DATE, "2101-01-01", "1900年1月1日 から"),
    (DATE, "04/01/2024", "年・月・日の順"),
    (DATE, "20240401", "年・月・日の順"),
    (DATE, "2024-04/01", "年・月・日の順"),
    (DATE, 20240401, "年・月・日の順"),
    (DATE, "明治45年1月1日", "年・月・日の順"),
    (DATE, "平成32年1月1日", "年を確かめて"),
    (DATE, "昭和64年1月8日", "年を確かめて"),
    (DATE, "令和元年4月30日", "年を確かめて"),
    (DATE, "令和0年5月1日", "年を確かめて"),
    (CHOICE, "MORNING", "「午前」、「夜間」"),
    (CHOICE, "night", "「午前」、「夜間」"),
    (CHOICE, 1, "「午前」、「夜間」"),
    (CHOICE, ["morning"], "「午前」、「夜間」"),
    (ADDRESS, "会" * 201, "200 文字以内"),
    (ADDRESS, "会津若松市\n東栄町", "1 行で"),
    (ADDRESS, 123, "文字で入力"),
    (POSTAL, "966-000", "7 桁"),
    (POSTAL, "96600011", "7 桁"),
    (POSTAL, "966-00O1", "7 桁"),
    (POSTAL, "966--0001", "7 桁"),
    (POSTAL, 9660001, "7 桁"),
    (PHONE, "0242-39-111", "10 桁または 11 桁"),
    (PHONE, "024239111111", "10 桁または 11 桁"),
    (PHONE, "1242391111", "10 桁または 11 桁"),
    (PHONE, "0024239111", "10 桁または 11 桁"),
    (PHONE, "090.1234.5678", "10 桁または 11 桁"),
    (PHONE, "tel:0242391111", "10 桁または 11 桁"),
    (PHONE, "+1 555 123 4567", "10 桁または 11 桁"),
    (PHONE, 9012345678, "10 桁または 11 桁"),
    (ATTACHMENT, "iVBORw0KGgo=", UNREADABLE),
    (ATTACHMENT, {"filename": "a.png", "media_type": "image/png"}, UNREADABLE),
    (ATTACHMENT, {"filename": "a.png", "media_type": "image/png", "content_base64": "@@@@"}, UNREADABLE),
    (ATTACHMENT, {"filename": "a.png", "media_type": "image/png", "content_base64": "ＡＡＡＡ"}, UNREADABLE),
    (ATTACHMENT, upload(PNG, filename="../a.png"), "ファイル名"),
    (ATTACHMENT, upload(PNG, filename="C:\\a.png"), "ファイル名"),
    (ATTACHMENT, upload(PNG, filename="a" * 252 + ".png"), "ファイル名"),
    (ATTACHMENT, upload(PNG, filename="a\x00.png"), "ファイル名"),
    (ATTACHMENT, upload(b"GIF89a" + b"\x00" * 10, media_type="image/gif"), "JPEG、PNG、PDF のファイルを添付して"),
    # The declared type is the client's word; the first bytes of the file decide.
    (ATTACHMENT, upload(JPEG, media_type="image/png"), "中身が PNG ではありません"),
    (ATTACHMENT, upload(PNG, media_type="application/pdf"), "中身が PDF ではありません"),
    (ATTACHMENT, upload(b"<html>not a jpeg</html>", media_type="image/jpeg"), "中身が JPEG ではありません"),
    (ATTACHMENT, upload(PNG + b"\x00" * 33), "64 B 以下"),
    (ATTACHMENT, upload(PNG * 1000), "64 B 以下"),
    # Too long to hold 64 bytes, so refused for its size before any decoding is tried.
    (ATTACHMENT, {"filename": "a.png", "media_type": "image/png", "content_base64": "@" * 100_000}, "64 B 以下"),
    (ATTACHMENT, upload(b""), "空です"),
]


@pytest.mark.parametrize(("field", "given", "reason"), BAD, ids=[f"{f.kind}-{str(g)[:40]!r}" for f, g, _ in BAD])
def test_bad_answers_are_refused_with_both_messages(field: FieldDef, given: Any, reason: str) -> None:
    (error,) = errors_of([field], {field.name: given})
    assert error.field == f"$.answers.{field.name}"
    assert reason in error.message_ja


def test_every_failing_field_is_reported_at_once() -> None:
    fields = [TEXT, NUMBER, DATE, CHOICE, POSTAL, PHONE]
    answers = {
        "dog_name": "ポチ",
        "participants": "たくさん",
        "use_date": "2024-13-01",
        "time_slot": "morning",
        "postal_code": "96600",
        "phone": "03",
        "colour": "白",
    }
    errors = errors_of(fields, answers)
    assert [e.field for e in errors] == [
        "$.answers.participants",
        "$.answers.use_date",
        "$.answers.postal_code",
        "$.answers.phone",
        "$.answers.colour",
    ]
    postal = errors[2]
    assert postal.message_ja == "郵便番号は 7 桁の数字で入力してください（例: 966-0000）。"


def test_unknown_answer_names_are_refused() -> None:
    errors = errors_of([TEXT], {"dog_name": "ポチ", "favourite_food": "ほね", "blank_extra": ""})
    assert [e.field for e in errors] == ["$.answers.favourite_food", "$.answers.blank_extra"]
    assert "favourite_food" in errors[0].message_ja and "favourite_food" in errors[0].message_en


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000"])
def test_required_blank_is_refused_and_optional_blank_is_omitted(blank: Any) -> None:
    optional = msgspec.structs.replace(CHOICE, required=False)
    (error,) = errors_of([TEXT, optional], {"dog_name": blank, "time_slot": blank})
    assert error.field == "$.answers.dog_name"
    assert error.message_ja == "犬の名前を入力してください。"
    assert validate_answers([optional], {"time_slot": blank}).values == {}


def test_missing_required_answers_say_what_to_do_per_kind() -> None:
    errors = errors_of([TEXT, CHOICE, ATTACHMENT], {})
    assert [e.field for e in errors] == ["$.answers.dog_name", "$.answers.time_slot", "$.answers.certificate"]
    assert "選んで" in errors[1].message_ja
    assert "添付" in errors[2].message_ja


def test_number_range_message_names_the_bounds() -> None:
    (error,) = errors_of([NUMBER], {"participants": 501})
    assert "1 以上 500 以下" in error.message_ja
    assert "at least 1 and at most 500" in error.message_en
    assert error.message_ja == "利用人数は 1 以上 500 以下の数で入力してください。"


def test_ended_era_message_gives_the_era_span() -> None:
    (error,) = errors_of([DATE], {"use_date": "平成32年1月1日"})
    assert "2019年4月30日まで" in error.message_ja
    assert "Heisei" in error.message_en


@pytest.mark.parametrize(("content", "media_type"), [(PNG, "image/png"), (JPEG, "IMAGE/JPEG"), (PDF, "application/pdf")])
def test_attachment_is_kept_with_its_content_hash(content: bytes, media_type: str) -> None:
    valid = validate_answers([ATTACHMENT], {"certificate": upload(content, media_type, filename=" 証明書.png ")})
    digest = hashlib.sha256(content).hexdigest()
    assert valid.values == {"certificate": digest}
    (stored,) = valid.attachments
    assert stored.field == "certificate"
    assert stored.filename == "証明書.png"
    assert stored.media_type == media_type.lower()
    assert stored.size == len(content) == 32
    assert stored.sha256 == digest
    assert stored.content == content


def test_attachment_at_the_size_limit_passes_and_one_byte_more_is_refused() -> None:
    at_limit = PNG + b"\x01" * 32
    assert len(at_limit) == ATTACHMENT.max_bytes
    assert validate_answers([ATTACHMENT], {"certificate": upload(at_limit)}).attachments[0].content == at_limit
    (error,) = errors_of([ATTACHMENT], {"certificate": upload(at_limit + b"\x01")})
    assert error.field == "$.answers.certificate"
    assert "64 B" in error.message_ja and "64 B" in error.message_en


def test_attachment_base64_wrapped_in_lines_is_accepted() -> None:
    content = PNG + b"\x02" * 30
    wrapped = base64.encodebytes(content).decode()
    assert "\n" in wrapped
    answer = {"filename": "a.png", "media_type": "image/png", "content_base64": wrapped}
    assert validate_answers([ATTACHMENT], {"certificate": answer}).attachments[0].content == content


def test_an_uploaded_file_is_checked_like_one_sent_in_the_answers() -> None:
    uploaded = {
        "u1": Uploaded(filename="証明書.png", media_type="image/png", size=len(PNG), content=PNG),
        "u2": Uploaded(filename="写真.png", media_type="image/png", size=10_000_000, content=None),  # over the limit: not read
        "u3": Uploaded(filename="photo.png", media_type="image/png", size=6, content=b"GIF89a"),
    }
    valid = validate_answers([ATTACHMENT], {"certificate": {"upload": "u1"}}, uploaded)
    assert valid.values == {"certificate": hashlib.sha256(PNG).hexdigest()} and valid.attachments[0].filename == "証明書.png"
    for answer, reason in (({"upload": "u2"}, "64 B 以下"), ({"upload": "u3"}, "PNG ではありません"),
                           ({"upload": "gone"}, "保存期間が過ぎました"), ({"upload": 7}, UNREADABLE)):
        (error,) = errors_of([ATTACHMENT], {"certificate": answer}, uploaded)
        assert error.field == "$.answers.certificate" and reason in error.message_ja, (answer, error)


def test_a_filed_attachment_stands_when_other_answers_are_corrected() -> None:
    filed = hashlib.sha256(PNG).hexdigest()
    valid = validate_answers([TEXT, ATTACHMENT], {"dog_name": "ポチ", "certificate": filed}, kept={"certificate": filed})
    assert valid.values == {"dog_name": "ポチ", "certificate": filed} and valid.attachments == []
    (error,) = errors_of([ATTACHMENT], {"certificate": "0" * 64}, {}, kept={"certificate": filed})
    assert UNREADABLE in error.message_ja  # only the file that was filed stands, not any hash


def test_valid_values_encode_as_json() -> None:
    fields = [TEXT, NUMBER, DATE, POSTAL, ATTACHMENT]
    answers = {"dog_name": "ポチ", "participants": "１２", "use_date": "令和6年4月1日", "postal_code": "９６６０００１", "certificate": upload(PDF, "application/pdf")}
    valid = validate_answers(fields, answers)
    assert msgspec.json.decode(msgspec.json.encode(valid.values)) == valid.values


def test_juminhyo_copy_passes_with_its_optional_choices_left_empty(region) -> None:
    procedure = region.standard("juminhyo-copy")
    assert procedure is not None
    answers = {
        "applicant_name": "会津 太郎",
        "applicant_address": "福島県会津若松市東栄町3番46号",
        "birthdate": "昭和25年4月1日",
        "scope": "",
        "copies": None,
        "include_honseki": "",
    }
    valid = validate_answers(procedure.fields, answers)
    assert valid.values == {
        "applicant_name": "会津 太郎",
        "applicant_address": "福島県会津若松市東栄町3番46号",
        "birthdate": "1950-04-01",
    }
    errors = errors_of(procedure.fields, {**answers, "copies": "10"})
    assert [e.field for e in errors] == ["$.answers.copies"]


def test_dog_registration_normalises_a_counter_filing(region) -> None:
    procedure = region.standard("dog-registration")
    assert procedure is not None
    answers = {
        "owner_name": "会津 花子",
        "owner_postal_code": "〒965-0872",
        "owner_address": "福島県会津若松市東栄町3番46号",
        "phone": "（0242）39-1111",
        "dog_name": "ポチ",
        "breed": "柴",
        "coat_colour": "赤",
        "dog_sex": "female",
        "vaccination_date": "2024/5/10",
        "vaccination_certificate": upload(PDF, "application/pdf", "注射済証.pdf"),
    }
    valid = validate_answers(procedure.fields, answers)
    assert valid.values["owner_postal_code"] == "965-0872"
    assert valid.values["phone"] == "0242391111"
    assert valid.values["vaccination_date"] == "2024-05-10"
    assert valid.values["vaccination_certificate"] == hashlib.sha256(PDF).hexdigest()
    assert "dog_birthdate" not in valid.values


def test_a_file_name_that_turns_text_around_is_refused() -> None:
    """``report\u202egpj.exe`` shows as ``reportexe.jpg``: a bidi control in a file name misleads."""
    (error,) = errors_of([ATTACHMENT], {"certificate": upload(PNG, "image/png", filename="report\u202egnp.exe")})
    assert error.field == "$.answers.certificate" and "ファイル名" in error.message_ja


def _days(n: int) -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return (dt.datetime.now(ZoneInfo("Asia/Tokyo")).date() + dt.timedelta(days=n)).isoformat()


BIRTHDATE = FieldDef(name="birthdate", kind="date", label_ja="生年月日", label_en="Date of birth", to_days=0)
MOVE = FieldDef(name="move_date", kind="date", label_ja="転出予定日", label_en="Planned moving date", from_days=-14, to_days=14)


@pytest.mark.parametrize(("field", "days", "words"), [
    (BIRTHDATE, 1, "今日より後の日付は入力できません"),
    (MOVE, -15, "までの日付を入力してください"),
    (MOVE, 15, "までの日付を入力してください"),
])
def test_a_date_outside_the_procedures_window_is_refused(field: FieldDef, days: int, words: str) -> None:
    (error,) = errors_of([field], {field.name: _days(days)})
    assert error.field == f"$.answers.{field.name}" and words in error.message_ja, error


@pytest.mark.parametrize(("field", "days"), [(BIRTHDATE, 0), (BIRTHDATE, -30_000), (MOVE, -14), (MOVE, 14), (MOVE, 0)])
def test_a_date_inside_the_window_is_kept(field: FieldDef, days: int) -> None:
    assert validate_answers([field], {field.name: _days(days)}).values == {field.name: _days(days)}


def test_the_catalog_states_the_windows_of_its_dated_procedures(region) -> None:
    dated = [f for p in region.catalog.procedures for f in p.fields if f.kind == "date"]
    assert dated and all(f.to_days == 0 for f in dated if f.prefill == "birthdate")
    moving_out = {f.name: f for f in region.standard("moving-out").fields}["move_date"]
    assert (moving_out.from_days, moving_out.to_days) == (-14, 14)  # 14日前から、14日以内まで
