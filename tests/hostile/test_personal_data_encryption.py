"""Personal data at rest (issue 14, 密评): bank accounts, phones and mobiles are SM4-GCM
envelopes in the database, bound to their table, column and row; equality search goes through
the HMAC-SM3 blind index; the data key rotates (docs/security.md, docs/operations.md).

The attacker here has the application's database role (a dump, or SQL access) but not the keys.
"""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection

from policywindow.core import crypto, keys
from policywindow.core.codes import make_uscc
from policywindow.core.crypto import DecryptionFailed
from policywindow.core.encrypted import (
    EncryptedFieldMisuse,
    encrypt_existing,
    encrypted_columns,
    equals,
    key_usage,
    label,
)
from policywindow.core.models import AuditEvent
from policywindow.enterprises import services as enterprise_services
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import search_enterprises
from policywindow.notifications.models import Delivery
from policywindow.notifications.services import notify
from policywindow.system.models import User
from policywindow.system.selectors import search_users
from tests.applications.test_intake_factories import make_case, make_enterprise, make_version

pytestmark = pytest.mark.django_db

ACCOUNT = "6222020200112233445"  # what make_enterprise gives every enterprise
PHONE = "13912345678"
MOBILE = "13800138000"
# Every column that holds a person's number (or a document carrying one): encrypted.
EXPECTED_COLUMNS = {
    "enterprises_enterprise.bank_account",
    "enterprises_enterprise.contact_phone",
    "system_user.mobile",
    "finance_objection.phone",
    "notifications_delivery.address",
    "fundforms_fundform.content",
    "applications_application.answers",
}


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()[0]


def raw_row(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return repr(cursor.fetchone())


def write_raw(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {connection.ops.quote_name(column)} = %s WHERE id = %s",  # noqa: S608
            [value, pk],
        )


def fresh(model, pk: int):
    return model.objects.get(pk=pk)


def account_of(pk: int) -> str:
    return fresh(Enterprise, pk).bank_account


@pytest.fixture
def firm():
    enterprise = make_enterprise("沈阳加密测试有限公司")
    enterprise.contact_phone = PHONE
    enterprise.save()
    return enterprise


# ------------------------------------------------------------------ nothing readable at rest


def test_every_column_with_personal_numbers_is_encrypted():
    assert {label(model, field) for model, field in encrypted_columns()} == EXPECTED_COLUMNS


def test_the_raw_rows_hold_envelopes_and_keyed_hashes_never_the_numbers(firm, make_user):
    user = make_user("jiami", mobile=MOBILE)
    enterprise_row = raw_row("enterprises_enterprise", firm.pk)
    user_row = raw_row("system_user", user.pk)
    assert ACCOUNT not in enterprise_row and PHONE not in enterprise_row
    assert MOBILE not in user_row
    # Not even a recognisable part of them (the last four digits the masks show).
    assert ACCOUNT[-8:] not in enterprise_row and MOBILE[3:] not in user_row
    envelope = raw("enterprises_enterprise", "bank_account", firm.pk)
    version, key_id, body = envelope.split(":")
    assert (version, key_id) == ("pw1", crypto.current_key_id())
    assert len(base64.b64decode(body)) == 12 + len(ACCOUNT) + 16  # nonce ‖ ciphertext ‖ tag
    index = raw("enterprises_enterprise", "bank_account_index", firm.pk)
    assert len(index) == 64 and index == crypto.blind_index("account", ACCOUNT)
    # In Python the values are the plaintext again.
    assert (fresh(Enterprise, firm.pk).bank_account, fresh(User, user.pk).mobile) == (
        ACCOUNT,
        MOBILE,
    )


def test_the_same_number_twice_gives_two_different_ciphertexts(firm):
    other = make_enterprise("沈阳加密测试二有限公司")  # the same ACCOUNT
    first = raw("enterprises_enterprise", "bank_account", firm.pk)
    second = raw("enterprises_enterprise", "bank_account", other.pk)
    assert first != second  # random nonce, and bound to its row
    # Saving unchanged rewrites the same envelope (no churn); a change makes a new one.
    firm.save()
    assert raw("enterprises_enterprise", "bank_account", firm.pk) == first
    firm.bank_account = "6222029999888877776"
    firm.save()
    assert raw("enterprises_enterprise", "bank_account", firm.pk) != first


def test_answers_and_deliveries_are_encrypted_too(make_user, department):
    applicant = make_user("qiye_jiami", "enterprise", kind=User.Kind.ENTERPRISE)
    case = make_case(make_version(department), make_enterprise(), applicant)
    case.answers = {**case.answers, "contact_phone": PHONE}
    case.save()
    assert PHONE not in raw_row("applications_application", case.pk)
    loaded = fresh(type(case), case.pk)
    assert loaded.answers["contact_phone"] == PHONE
    loaded.answers["contact_phone"] = MOBILE  # changed in place, then saved
    loaded.save()
    assert fresh(type(case), case.pk).answers["contact_phone"] == MOBILE

    person = make_user("tongzhi", mobile=MOBILE, email="tongzhi@example.cn")
    notify([person], kind="test", subject="测试", dedupe_key="enc-test", sms=True)
    deliveries = Delivery.objects.filter(notification__recipient=person)
    assert sorted(d.address for d in deliveries) == [MOBILE, "tongzhi@example.cn"]
    for delivery in deliveries:
        row = raw_row("notifications_delivery", delivery.pk)
        assert MOBILE not in row and "tongzhi@example.cn" not in row


def test_the_operation_log_keeps_only_masks(make_user, firm):
    clerk = make_user("jiami_clerk", "window_clerk")
    enterprise_services.update_enterprise(
        clerk, firm, {"contact_phone": "13911112222", "bank_account": "6222020000111122223"}
    )
    event = AuditEvent.objects.filter(action="enterprise.update").latest("id")
    text = repr((event.before, event.after))
    for secret in (PHONE, "13911112222", ACCOUNT, "6222020000111122223"):
        assert secret not in text
    assert event.after["contact_phone"] == "139****2222"
    assert event.after["bank_account"].endswith("2223") and "银行账号已变更" in event.message


def test_a_phone_change_hidden_by_the_mask_is_still_saved(make_user, firm):
    clerk = make_user("jiami_clerk2", "window_clerk")
    lookalike = PHONE[:3] + "0000" + PHONE[-4:]  # masks to the same 139****5678
    enterprise_services.update_enterprise(clerk, firm, {"contact_phone": lookalike})
    assert fresh(Enterprise, firm.pk).contact_phone == lookalike


# ------------------------------------------------------------------ tampering and moving


def test_a_tampered_ciphertext_fails_with_a_clear_error(firm):
    envelope = raw("enterprises_enterprise", "bank_account", firm.pk)
    prefix, body = envelope.rsplit(":", 1)
    data = bytearray(base64.b64decode(body))
    data[15] ^= 0x01  # one bit of the ciphertext
    write_raw(
        "enterprises_enterprise",
        "bank_account",
        firm.pk,
        f"{prefix}:{base64.b64encode(data).decode()}",
    )
    loaded = fresh(Enterprise, firm.pk)
    assert loaded.name == firm.name  # the row loads; the value refuses to decrypt
    with pytest.raises(DecryptionFailed, match=rf"enterprises_enterprise\.bank_account#{firm.pk}"):
        getattr(loaded, "bank_account")  # noqa: B009 (reading is what fails)


@pytest.mark.parametrize("how", ["other row", "other column", "plaintext", "other key id"])
def test_a_value_moved_or_replaced_does_not_decrypt(firm, how):
    victim = make_enterprise("沈阳被调包企业有限公司")
    mine = raw("enterprises_enterprise", "bank_account", firm.pk)
    forged = {
        # The attacker's own account, copied onto the enterprise about to be paid.
        "other row": mine,
        # A value of the same row from another column (the phone into the account).
        "other column": raw("enterprises_enterprise", "contact_phone", firm.pk),
        "plaintext": "6222020000999988887",
        "other key id": mine.replace(f":{crypto.current_key_id()}:", ":data-9:"),
    }[how]
    write_raw("enterprises_enterprise", "bank_account", victim.pk, forged)
    with pytest.raises(DecryptionFailed):
        account_of(victim.pk)


# ------------------------------------------------------------------ search and misuse


def test_search_by_blind_index_finds_whole_numbers_only(make_user, firm):
    clerk = make_user("jiami_search", "window_clerk")
    assert list(search_enterprises(clerk, q=PHONE)) == [firm]
    assert list(search_enterprises(clerk, q="139 1234-5678")) == [firm]  # normalised
    assert list(search_enterprises(clerk, q=ACCOUNT)) != []
    assert list(search_enterprises(clerk, q=PHONE[:7])) == []  # no substring search
    person = make_user("jiami_person", mobile=MOBILE)
    admin = make_user("jiami_admin", "sys_admin")
    assert list(search_users(admin, q=MOBILE)) == [person]
    assert list(search_users(admin, q=MOBILE[-4:])) == []
    assert list(Enterprise.objects.filter(equals(Enterprise, "bank_account", ACCOUNT))) != []


def test_plaintext_queries_and_bulk_writes_are_refused_not_silently_wrong(firm):
    assert list(Enterprise.objects.filter(pk=firm.pk, bank_account="")) == []  # '' may be asked
    with pytest.raises(EncryptedFieldMisuse):
        list(Enterprise.objects.filter(bank_account=ACCOUNT))
    with pytest.raises(FieldError):
        list(User.objects.filter(mobile__icontains="138"))
    with pytest.raises(EncryptedFieldMisuse):
        Enterprise.objects.filter(pk=firm.pk).update(bank_account=ACCOUNT)
    firm.contact_phone = "13700000000"
    with pytest.raises(EncryptedFieldMisuse):
        Enterprise.objects.bulk_update([firm], ["contact_phone"])


def test_bulk_create_encrypts_each_row_for_its_own_key():
    template = make_enterprise("模板企业")
    made = Enterprise.objects.bulk_create(
        Enterprise(
            credit_code=make_uscc(f"91210100BK{n:07d}"),
            name=f"批量企业{n}",
            legal_representative="王",
            industry_id=template.industry_id,
            region_id=template.region_id,
            bank_account=f"62220200000000000{n:02d}",
        )
        for n in range(3)
    )
    for n, enterprise in enumerate(made):
        assert f"62220200000000000{n:02d}" not in raw_row("enterprises_enterprise", enterprise.pk)
        assert fresh(Enterprise, enterprise.pk).bank_account == f"62220200000000000{n:02d}"


# ------------------------------------------------------------------ the data migration


def test_the_migration_encrypts_plain_rows_and_its_reverse_restores_them(firm):
    operation = encrypt_existing("enterprises", "Enterprise", batch_size=1)
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    other = make_enterprise("沈阳迁移测试有限公司")
    operation.reverse_code(apps, editor)  # back to plaintext, as before the migration
    assert raw("enterprises_enterprise", "bank_account", firm.pk) == ACCOUNT
    assert raw("enterprises_enterprise", "contact_phone", firm.pk) == PHONE
    write_raw("enterprises_enterprise", "bank_account_index", other.pk, "")
    operation.code(apps, editor)
    operation.code(apps, editor)  # a second run leaves encrypted rows as they are
    for pk in (firm.pk, other.pk):
        assert crypto.is_envelope(raw("enterprises_enterprise", "bank_account", pk))
        assert account_of(pk) == ACCOUNT
        assert raw("enterprises_enterprise", "bank_account_index", pk) == crypto.blind_index(
            "account", ACCOUNT
        )
    assert fresh(Enterprise, firm.pk).contact_phone == PHONE


# ------------------------------------------------------------------ key rotation


@pytest.fixture
def key_dir(settings, tmp_path) -> Path:
    """A key directory of the test's own (the ring is read again when it changes)."""
    settings.POLICYWINDOW_KEY_DIR = tmp_path / "keys"
    return tmp_path / "keys"


def test_rotation_reencrypts_everything_and_the_old_key_can_go(key_dir, make_user, capsys):
    firm = make_enterprise("沈阳轮换测试有限公司")
    firm.contact_phone = PHONE
    firm.save()
    person = make_user("lunhuan", mobile=MOBILE)
    assert crypto.current_key_id() == "data-1" and (key_dir / "data-1.key").exists()

    with pytest.raises(CommandError, match="当前数据密钥"):
        call_command("rotate_data_key", "--retire", "data-1")
    call_command("rotate_data_key")
    assert (key_dir / "data-2.key").exists() and crypto.current_key_id() == "data-2"
    assert oct((key_dir / "data-2.key").stat().st_mode & 0o777) == "0o600"
    usage = key_usage()
    assert usage["enterprises_enterprise.bank_account"] == {"data-2": 1}
    assert usage["system_user.mobile"] == {"data-2": 1}
    assert not any(counts["data-1"] for counts in usage.values())
    assert raw("enterprises_enterprise", "bank_account", firm.pk).startswith("pw1:data-2:")

    call_command("rotate_data_key", "--retire", "data-1")
    assert not (key_dir / "data-1.key").exists()
    crypto.reset()  # a process started after the old key was removed
    assert account_of(firm.pk) == ACCOUNT
    assert fresh(Enterprise, firm.pk).contact_phone == PHONE
    assert fresh(User, person.pk).mobile == MOBILE
    assert list(Enterprise.objects.filter(equals(Enterprise, "contact_phone", PHONE))) == [firm]
    assert "data-2" in capsys.readouterr().out


def test_an_old_key_still_in_use_cannot_be_retired(key_dir, make_user):
    person = make_user("lunhuan2", mobile=MOBILE)
    keys.create_key("data-2", length=crypto.SM4_KEY_BYTES)
    crypto.reset()
    # A process that did not see the new key yet wrote with data-1: the retirement waits.
    with pytest.raises(CommandError, match="仍有 1 个值由 data-1 加密"):
        call_command("rotate_data_key", "--retire", "data-1")
    call_command("rotate_data_key", "--resume")
    call_command("rotate_data_key", "--retire", "data-1")
    crypto.reset()
    assert fresh(User, person.pk).mobile == MOBILE


def test_a_missing_key_is_named_and_never_made_up(firm, key_dir):
    # ``firm`` was encrypted under the default key directory's data-1, absent from this one.
    crypto.reset()
    keys.create_key("data-1", length=crypto.SM4_KEY_BYTES)  # a different key, same name
    with pytest.raises(DecryptionFailed, match="密钥 data-1 不是加密时的密钥"):
        account_of(firm.pk)
    (key_dir / "data-1.key").unlink()
    crypto.reset()
    keys.create_key("data-2", length=crypto.SM4_KEY_BYTES)
    with pytest.raises(DecryptionFailed, match="无法取得数据密钥 data-1"):
        account_of(firm.pk)
    assert not (key_dir / "data-1.key").exists()
