"""Batch workbooks saved before exports neutralised formula-like cells are dropped: the next
download makes them again from the forms' frozen content (they are unsigned working copies)."""

from django.core.files.storage import default_storage
from django.db import migrations


def drop_saved_workbooks(apps, schema_editor):
    FormBatch = apps.get_model("fundforms", "FormBatch")
    for batch in FormBatch.objects.exclude(xlsx=""):
        default_storage.delete(batch.xlsx.name)
    FormBatch.objects.exclude(xlsx="").update(xlsx="")


class Migration(migrations.Migration):
    dependencies = [("fundforms", "0003_encrypted_content")]

    operations = [migrations.RunPython(drop_saved_workbooks, migrations.RunPython.noop)]
