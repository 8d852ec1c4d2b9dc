"""Model fields encrypted at rest (``core.crypto``), their blind indexes, and key rotation.

A model declares::

    class Enterprise(EncryptedModel, models.Model):
        bank_account = EncryptedCharField("银行账号", max_length=32, blank=True, kind="account")
        bank_account_index = BlindIndexField(source="bank_account")

        objects = EncryptedManager()  # only where rows are bulk-created

In Python the attribute is the plaintext, so validators, forms and masking work unchanged. The
column (``text``) holds ``''`` for an empty value and otherwise an envelope bound to the table,
the column and the row's primary key: a value copied to another row or column does not decrypt.
Values are decrypted when first read from an instance (a list that never shows them never
decrypts them); a value that does not decrypt raises ``DecryptionFailed`` naming its place.

What the database can no longer do, by design:

- compare or search the plaintext. Equality goes through the blind index (``equals``); substring
  search (``icontains``) is impossible — a ciphertext reveals nothing about its substrings, and an
  index of every substring would give the plaintext away. Other lookups raise ``FieldError``.
- write a plaintext without its row: ``QuerySet.update(field=…)`` and ``bulk_update`` raise
  ``EncryptedFieldMisuse`` (only the row knows its key); ``save()`` the instance instead.
- hand out plaintext through ``values()`` / ``values_list()``: they give ``Envelope`` objects.

A new row's primary key is unknown before its INSERT, so ``EncryptedModel.save`` (and
``EncryptedQuerySet.bulk_create``) insert it with its encrypted columns empty and fill them right
after, in the same transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import FieldDoesNotExist
from django.db import DEFAULT_DB_ALIAS, migrations, models, router, transaction
from django.db.models.query_utils import DeferredAttribute, Q

from . import crypto, masking

_AFTER_INSERT = "_encrypt_after_insert"
_ROW = "_encrypted_row"  # the primary key of the row the instance was read from
_READ = "_encrypted_read"  # attname -> (envelope, dumped plaintext) as stored in that row
_LOOKUPS = {"exact", "isnull"}  # exact: '' or a stored Envelope (rotation), never a plaintext


class EncryptedFieldMisuse(TypeError):
    """Code that asked the database to handle the plaintext of an encrypted column."""


class Envelope:
    """A value of an encrypted column as stored (``crypto`` envelope text)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<Envelope {self.text.split(':')[1] if crypto.is_envelope(self.text) else '?'}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Envelope) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def key_id(self) -> str:
        return crypto.key_id_of(self.text)


class EncryptedAttribute(DeferredAttribute):
    """Decrypts the stored envelope the first time the instance's attribute is read."""

    def __get__(self, instance: Any, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Envelope):
            row = instance.__dict__.get(_ROW, instance.pk)
            envelope, value = value, self.field.decrypt(value, row)
            instance.__dict__[self.field.attname] = value
            _remember(instance, self.field, envelope, value)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedField:
    """What the encrypted fields share; mixed in before a Django field class."""

    descriptor_class = EncryptedAttribute
    kind = "text"

    def get_internal_type(self) -> str:
        return "TextField"  # an envelope is longer than its plaintext

    def context(self, pk: Any) -> str:
        return f"{self.model._meta.db_table}.{self.column}#{pk}"

    def dump(self, value: Any) -> bytes:
        raise NotImplementedError

    def load(self, data: bytes) -> Any:
        raise NotImplementedError

    def empty_value(self) -> Any:
        return ""

    def is_empty(self, value: Any) -> bool:
        return value is None or value == "" or value == {} or value == []

    def mask(self, value: Any) -> str:
        """The value as the operation log keeps it."""
        return "" if self.is_empty(value) else "（已加密）"

    def encrypt(self, value: Any, pk: Any) -> Envelope:
        return Envelope(crypto.encrypt(self.dump(value), self.context(pk)))

    def decrypt(self, envelope: Envelope, pk: Any) -> Any:
        return self.load(crypto.decrypt(envelope.text, self.context(pk)))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return self.empty_value() if value is None or value == "" else Envelope(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        pk, state = model_instance.pk, model_instance.__dict__
        same_row = pk is not None and pk == state.get(_ROW)
        stored = state.get(self.attname)
        if same_row and isinstance(stored, Envelope):
            return stored  # never read, so unchanged
        value = getattr(model_instance, self.attname)
        if self.is_empty(value):
            return ""
        envelope, dumped = state.get(_READ, {}).get(self.attname, (None, None))
        if same_row and envelope is not None and dumped == self.dump(value):
            return envelope  # unchanged: the same envelope, not a new ciphertext on every save
        if pk is None:
            if getattr(model_instance, _AFTER_INSERT, False):
                return ""  # encrypted right after the INSERT, once the row has its key
            raise EncryptedFieldMisuse(
                f"{self.model.__name__}.{self.name} 是加密字段：新行须通过 save() 或 "
                "EncryptedQuerySet.bulk_create 写入"
            )
        envelope = self.encrypt(value, pk)
        if state.setdefault(_ROW, pk) == pk:
            _remember(model_instance, self, envelope, value)
        return envelope

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Envelope):
            return value.text
        if value is None or value == "":
            return value
        raise EncryptedFieldMisuse(
            f"{self.model.__name__}.{self.name} 是加密字段：不能按明文查询或批量更新，"
            "等值查询请用盲索引（core.encrypted.equals），修改请 save() 实例"
        )

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return value if prepared else self.get_prep_value(value)

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name in _LOOKUPS else None

    def get_transform(self, name: str) -> Any:
        return None


_MASKS: dict[str, Callable[[str], str]] = {
    "account": masking.mask_account,
    "phone": masking.mask_phone,
    "id_number": masking.mask_id_number,
}


class EncryptedCharField(EncryptedField, models.CharField):
    """A short identifier; ``kind`` (account, phone, id_number, text) says how it is masked in
    the operation log and what its blind index compares; ``max_length`` limits the plaintext."""

    def __init__(self, *args: Any, kind: str = "text", **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        return name, path, args, kwargs

    def dump(self, value: Any) -> bytes:
        return str(value).encode()

    def load(self, data: bytes) -> str:
        return data.decode()

    def mask(self, value: Any) -> str:
        return _MASKS[self.kind](value or "") if self.kind in _MASKS else super().mask(value)


class EncryptedJSONField(EncryptedField, models.TextField):
    """A JSON document kept whole in one envelope (so never queried by key in the database)."""

    kind = "json"

    def dump(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    def load(self, data: bytes) -> Any:
        return json.loads(data)

    def empty_value(self) -> Any:
        return self.get_default()

    def to_python(self, value: Any) -> Any:
        return value  # already a document: TextField would turn it into its repr


class BlindIndexField(models.CharField):
    """HMAC-SM3 of the normalised plaintext of ``source`` ('' when empty), kept in step on save."""

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        # db_default: rows written by raw SQL without the index (bulk loaders) stay valid.
        kwargs.update(max_length=64, blank=True, editable=False, db_index=True, db_default="")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for fixed in ("max_length", "blank", "editable", "db_index", "db_default"):
            kwargs.pop(fixed, None)
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def compute(self, plaintext: str) -> str:
        kind = self.model._meta.get_field(self.source).kind
        return crypto.blind_index(kind, plaintext) if plaintext else ""

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = self.compute(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


# --------------------------------------------------------------------------- models and queries


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]


def _index_fields(model: type[models.Model]) -> list[BlindIndexField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]


def _has_plaintext(instance: models.Model) -> bool:
    return any(
        not f.is_empty(getattr(instance, f.attname)) for f in encrypted_fields(type(instance))
    )


def _with_indexes(model: type[models.Model], update_fields: Iterable[str]) -> set[str]:
    """``update_fields`` plus the blind index of every encrypted field named in it."""
    names = set(update_fields)
    return names | {f.name for f in _index_fields(model) if f.source in names}


def _remember(instance: Any, field: EncryptedField, envelope: Envelope, plain: Any) -> None:
    """What the row of ``instance`` stores, so saving it unchanged rewrites the same envelope.
    The plaintext is kept serialised: a document changed in place must not look unchanged."""
    instance.__dict__.setdefault(_READ, {})[field.attname] = (envelope, field.dump(plain))


def _insert_then_encrypt(objs: list[models.Model], using: str, insert: Callable[[], Any]) -> Any:
    for obj in objs:
        setattr(obj, _AFTER_INSERT, True)
    try:
        result = insert()
    finally:
        for obj in objs:
            delattr(obj, _AFTER_INSERT)
    for obj in objs:
        if obj.pk is None:
            raise EncryptedFieldMisuse("插入后没有得到主键，无法加密（如 ignore_conflicts）")
        obj.__dict__.update({_ROW: obj.pk, _READ: {}})  # every value was read by pre_save
        values = {}
        for field in encrypted_fields(type(obj)):
            if not field.is_empty(value := getattr(obj, field.attname)):
                values[field.attname] = field.encrypt(value, obj.pk)
                _remember(obj, field, values[field.attname], value)
        type(obj)._base_manager.using(using).filter(pk=obj.pk).update(**values)
    return result


class EncryptedModel:
    """Mixin (before ``models.Model``) for models with encrypted fields: remembers the row an
    instance was read from, inserts new rows in two steps, and keeps blind indexes in step with
    ``save(update_fields=…)``."""

    @classmethod
    def from_db(cls, db: str, field_names: list[str], values: list[Any]) -> Any:
        instance = super().from_db(db, field_names, values)
        instance.__dict__[_ROW] = instance.pk
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = _with_indexes(type(self), kwargs["update_fields"])
        if self.pk is not None or not _has_plaintext(self):
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        parent = super().save
        with transaction.atomic(using=using):
            _insert_then_encrypt([self], using, lambda: parent(*args, **kwargs))


class EncryptedQuerySet(models.QuerySet):
    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list:
        objs = list(objs)
        waiting = [obj for obj in objs if obj.pk is None and _has_plaintext(obj)]
        parent = super().bulk_create
        if not waiting:
            return parent(objs, *args, **kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            return _insert_then_encrypt(waiting, self.db, lambda: parent(objs, *args, **kwargs))


EncryptedManager = models.Manager.from_queryset(EncryptedQuerySet)


def _index_of(model: type[models.Model], name: str) -> BlindIndexField:
    index = next((f for f in _index_fields(model) if f.source == name), None)
    if index is None:
        raise FieldDoesNotExist(f"{model.__name__}.{name} 没有盲索引，不能做等值查询")
    return index


def equals(model: type[models.Model], name: str, value: str, *, prefix: str = "") -> Q:
    """Rows whose encrypted field ``name`` equals ``value`` once normalised (blind index)."""
    index = _index_of(model, name)
    if not crypto.normalize(value):
        return Q(pk__in=[])
    return Q(**{f"{prefix}{index.name}": index.compute(value)})


def stored_value(model: type[models.Model], name: str, value: Any, pk: int) -> str:
    """What the column of ``model.name`` holds for ``value`` in row ``pk``: for loaders that
    write rows in SQL (the benchmarks' COPY), so they store what ``save()`` would."""
    field = model._meta.get_field(name)
    return "" if field.is_empty(value) else field.encrypt(value, pk).text


def stored_index(model: type[models.Model], name: str, value: str) -> str:
    """The blind index of ``value`` for ``model.name`` (see ``stored_value``)."""
    return _index_of(model, name).compute(value)


def audit_value(instance: models.Model, name: str, value: Any) -> Any:
    """``value`` of ``instance.name`` as the operation log may keep it: masked if encrypted."""
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    return field.mask(value) if isinstance(field, EncryptedField) else value


# --------------------------------------------------------------------------- keys and rotation


def encrypted_columns() -> list[tuple[type[models.Model], EncryptedField]]:
    return [
        (model, field)
        for model in global_apps.get_models()
        if not model._meta.proxy
        for field in encrypted_fields(model)
    ]


def label(model: type[models.Model], field: EncryptedField) -> str:
    return f"{model._meta.db_table}.{field.column}"


def _stored(
    model: type[models.Model], field: EncryptedField, using: str, batch_size: int
) -> Iterator[list[tuple[Any, Envelope]]]:
    """The non-empty stored envelopes of a column, by primary key, one batch at a time."""
    rows = model._base_manager.using(using).exclude(**{field.attname: ""}).order_by("pk")
    batch = list(rows.values_list("pk", field.attname)[:batch_size])
    while batch:
        yield batch
        after = rows.filter(pk__gt=batch[-1][0])
        batch = list(after.values_list("pk", field.attname)[:batch_size])


def key_usage(using: str = DEFAULT_DB_ALIAS, batch_size: int = 1000) -> dict[str, Counter]:
    """For each encrypted column, how many values each key id encrypted (a full scan)."""
    usage: dict[str, Counter] = {}
    for model, field in encrypted_columns():
        counts = usage[label(model, field)] = Counter()
        for batch in _stored(model, field, using, batch_size):
            counts.update(envelope.key_id for _, envelope in batch)
    return usage


def reencrypt(
    using: str = DEFAULT_DB_ALIAS,
    batch_size: int = 500,
    progress: Callable[[str, int], None] | None = None,
) -> int:
    """Re-encrypt with the current key every value encrypted with another; returns the count.

    Each batch is one transaction and a row is rewritten only if unchanged meanwhile (a
    concurrent save wrote a fresh envelope), so this may run while the system is in use."""
    current, total = crypto.current_key_id(), 0
    for model, field in encrypted_columns():
        manager, done = model._base_manager.using(using), 0
        for batch in _stored(model, field, using, batch_size):
            with transaction.atomic(using=using):
                for pk, envelope in batch:
                    if envelope.key_id == current:
                        continue
                    context = field.context(pk)
                    fresh = crypto.encrypt(crypto.decrypt(envelope.text, context), context)
                    done += manager.filter(pk=pk, **{field.attname: envelope}).update(
                        **{field.attname: Envelope(fresh)}
                    )
            if progress:
                progress(label(model, field), done)
        total += done
    return total


def undecryptable(using: str = DEFAULT_DB_ALIAS, sample: int = 10) -> list[str]:
    """Problems decrypting the first and last ``sample`` values of each encrypted column: after
    a restore, whether the keys at hand are the ones the data was encrypted with."""
    problems = []
    for model, field in encrypted_columns():
        rows = model._base_manager.using(using).exclude(**{field.attname: ""})
        values = rows.values_list("pk", field.attname)
        for pk, envelope in [*values.order_by("pk")[:sample], *values.order_by("-pk")[:sample]]:
            try:
                field.decrypt(envelope, pk)
            except crypto.DecryptionFailed as exc:
                problems.append(str(exc))
                break
    return problems


# --------------------------------------------------------------------------- migrations


def encrypt_existing(
    app_label: str, model_name: str, batch_size: int = 500
) -> migrations.RunPython:
    """A data migration that encrypts the plaintext of every encrypted field of a model and
    fills its blind indexes, in batches; reversed, it writes the plaintext back. It works in
    SQL on the historical model's table, so later model code does not change what it does."""

    def forward(apps: Any, schema_editor: Any) -> None:
        _rewrite(apps.get_model(app_label, model_name), schema_editor, batch_size, _encrypted_row)

    def backward(apps: Any, schema_editor: Any) -> None:
        _rewrite(apps.get_model(app_label, model_name), schema_editor, batch_size, _plain_row)

    return migrations.RunPython(forward, backward, elidable=False)


def _encrypted_row(model: Any, pk: Any, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in encrypted_fields(model):
        text = values[field.column] or ""
        if crypto.is_envelope(text):  # a second run: already encrypted
            plain = field.decrypt(Envelope(text), pk)
            out[field.column] = text
        else:
            plain = json.loads(text) if isinstance(field, EncryptedJSONField) and text else text
            out[field.column] = "" if field.is_empty(plain) else field.encrypt(plain, pk).text
        for index in _index_fields(model):
            if index.source == field.name:
                out[index.column] = index.compute(plain)
    return out


def _plain_row(model: Any, pk: Any, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in encrypted_fields(model):
        text = values[field.column] or ""
        plain = field.decrypt(Envelope(text), pk) if text else field.empty_value()
        out[field.column] = json.dumps(plain) if isinstance(field, EncryptedJSONField) else plain
    return out


def _rewrite(model: Any, schema_editor: Any, batch_size: int, convert: Callable) -> None:
    connection, quote = schema_editor.connection, schema_editor.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = [f.column for f in encrypted_fields(model)]
    # Identifiers from the model's metadata, quoted; values are always parameters.
    select = f"SELECT {pk}, {', '.join(quote(c) for c in columns)} FROM {table}"  # noqa: S608
    last: Any = None
    with connection.cursor() as cursor:
        while True:
            after = "" if last is None else f" WHERE {pk} > %s"
            cursor.execute(
                f"{select}{after} ORDER BY {pk} LIMIT {int(batch_size)}",
                [] if last is None else [last],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            for row in rows:
                changes = convert(model, row[0], dict(zip(columns, row[1:], strict=True)))
                sets = ", ".join(f"{quote(c)} = %s" for c in changes)
                cursor.execute(
                    f"UPDATE {table} SET {sets} WHERE {pk} = %s",  # noqa: S608
                    [*changes.values(), row[0]],
                )
            last = rows[-1][0]
