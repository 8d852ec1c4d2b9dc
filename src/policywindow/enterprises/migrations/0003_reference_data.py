from django.db import migrations

from policywindow.enterprises.reference import load_reference_data


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0002_size_indicators_nullable")]

    operations = [migrations.RunPython(load_reference_data, migrations.RunPython.noop)]
