"""Reference data shipped as files under ``data/``: GB/T 4754-2017 industries and the
GB/T 2260 divisions of Liaoning. Loaded by a data migration; safe to run again."""

from __future__ import annotations

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
FILES = {"industry": "industries.csv", "region": "regions.csv"}


def read_rows(filename: str) -> list[dict[str, str]]:
    """Rows in file order, parents before children."""
    with (DATA_DIR / filename).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sync_table(model, filename: str) -> None:
    """Create missing rows and correct changed names, levels or parents; delete nothing."""
    existing = {row.code: row for row in model.objects.all()}
    missing = []
    for row in read_rows(filename):
        values = {"name": row["name"], "level": row["level"], "parent_id": row["parent"] or None}
        current = existing.get(row["code"])
        if current is None:
            missing.append(model(code=row["code"], **values))
        elif any(getattr(current, field) != value for field, value in values.items()):
            model.objects.filter(code=row["code"]).update(**values)
    model.objects.bulk_create(missing)


def load_reference_data(apps, schema_editor=None) -> None:
    """``RunPython`` entry point: uses the historical models of the migration."""
    for model_name, filename in FILES.items():
        sync_table(apps.get_model("enterprises", model_name), filename)
