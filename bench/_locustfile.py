"""The deadline-day scenario for Locust, driven by ``bench/deadline_day.py`` (not run alone).

Enterprises file (create the draft, save answers, upload the PDF, submit — with think time
between the steps) and look at their list; approvers work their to-do lists; clerks accept the
submitted cases. Every request that creates something carries an ``Idempotency-Key``, and a
503 or a cut connection is retried with the same key until it is answered — what a real client
of the API is told to do — so the driver can reconcile what the clients saw acknowledged with
the database. Each acknowledgement and each unexpected answer is appended to ``DEADLINE_ACKS``,
and so is the number of SQL statements each answered request ran (the server's
``X-Bench-SQL`` header).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, task

from bench._client import multipart
from bench._sql import HEADER as SQL_HEADER

PLAN: dict[str, Any] = json.loads(Path(os.environ["DEADLINE_PLAN"]).read_text(encoding="utf-8"))
ACKS = open(os.environ["DEADLINE_ACKS"], "a", encoding="utf-8", buffering=1)  # noqa: SIM115
THINK = (PLAN["think_min"], PLAN["think_max"])
RETRY_FOR_S = 120
KEY = "Idempotency-Key"
PDF = bytes.fromhex(PLAN["pdf_hex"])
_seats = {kind: itertools.count() for kind in ("enterprise", "approver", "clerk")}


def log(kind: str, **fields: Any) -> None:
    ACKS.write(json.dumps({"kind": kind, "at": time.time(), **fields}, ensure_ascii=False) + "\n")


class _Client(FastHttpUser):
    abstract = True
    seat_kind = ""
    network_timeout = connection_timeout = 60.0

    def on_start(self) -> None:
        self.seat = next(_seats[self.seat_kind])
        self.token = PLAN[f"{self.seat_kind}s"][self.seat % len(PLAN[f"{self.seat_kind}s"])]

    def call(self, method: str, path: str, name: str, expect: int, **kwargs: Any) -> Any:
        """Send until answered: retry 503s and cut connections (same body, same key)."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        give_up = time.monotonic() + RETRY_FOR_S
        while True:
            with self.client.request(
                method, path, name=name, headers=headers, catch_response=True, **kwargs
            ) as response:
                status = response.status_code
                if status == expect:
                    response.success()
                    log("sql", name=name, statements=int(response.headers.get(SQL_HEADER, -1)))
                    return response.json() if response.content else None
                body = (response.text or str(response.error or ""))[:300]
                if status in (0, 502, 503) and time.monotonic() < give_up:
                    response.failure(f"outage {status}")
                    log("outage", name=name, status=status, body=body)
                else:
                    response.failure(f"HTTP {status}: {body}")
                    log("error", name=name, status=status, body=body)
                    return None
            time.sleep(0.5 + random.random())


class Enterprise(_Client):
    """An enterprise's clerk filing one rule after another, thinking between the steps."""

    seat_kind = "enterprise"
    wait_time = between(*THINK)

    def on_start(self) -> None:
        super().on_start()
        self.filed = 0

    @task(4)
    def file_an_application(self) -> None:
        rules = PLAN["rules"]
        if self.filed >= len(rules):
            return self.look_at_my_applications()
        rule = rules[(self.seat + self.filed) % len(rules)]
        self.filed += 1
        created = self.call(
            "POST",
            "/api/v1/applications",
            "create draft",
            201,
            json={"rule": rule},
            headers={KEY: str(uuid.uuid4())},
        )
        if created is None:
            return None
        pk = created["id"]
        self.think()
        saved = self.call(
            "PATCH", f"/api/v1/applications/{pk}", "save answers", 200,
            json={"answers": PLAN["answers"]},
        )  # fmt: skip
        if saved is None:
            return None
        self.think()
        boundary = uuid.uuid4().hex
        files = [("files", "研发费用专项审计报告.pdf", PDF, "application/pdf")]
        uploaded = self.call(
            "POST",
            f"/api/v1/applications/{pk}/materials",
            "upload PDF",
            201,
            data=multipart(boundary, {"item": PLAN["file_item"]}, files),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                KEY: str(uuid.uuid4()),
            },
        )
        if uploaded is None:
            return None
        self.think()
        submitted = self.call(
            "POST",
            f"/api/v1/applications/{pk}/submit",
            "submit",
            200,
            headers={KEY: str(uuid.uuid4())},
        )
        if submitted is not None:
            log("submitted", application=pk, number=submitted["number"])
        return None

    @task(1)
    def look_at_my_applications(self) -> None:
        self.call("GET", "/api/v1/applications?page_size=10", "my applications", 200)

    def think(self) -> None:
        time.sleep(random.uniform(*THINK))


class Approver(_Client):
    """An approver deciding the to-do list, first come first served."""

    seat_kind = "approver"
    wait_time = between(1, 3)

    @task
    def work_the_queue(self) -> None:
        listed = self.call("GET", "/api/v1/tasks?page_size=20", "to-do list", 200)
        for item in (listed or {}).get("items", []):
            decided = self.call(
                "POST",
                f"/api/v1/tasks/{item['id']}/decision",
                "decide",
                200,
                json={"action": "approve", "opinion": f"经审核，材料齐全，同意（{item['node']}）"},
                headers={KEY: str(uuid.uuid4())},
            )
            if decided is not None:
                log("decided", task=item["id"], application=item["application_id"])
            time.sleep(random.uniform(0.2, 1.0))


class Clerk(_Client):
    """A window clerk accepting the submitted cases that fall to them (id modulo clerks)."""

    seat_kind = "clerk"
    wait_time = between(1, 2)

    @task
    def accept_what_arrived(self) -> None:
        queue = self.call("GET", "/api/v1/intake/queue?page_size=50", "intake queue", 200)
        clerks = len(PLAN["clerks"])
        for item in (queue or {}).get("items", []):
            if item["id"] % clerks != self.seat % clerks:
                continue
            case = self.call("GET", f"/api/v1/applications/{item['id']}", "case for intake", 200)
            if case is None:
                continue
            checklist = [{"key": i["key"], "result": "complete"} for i in case["items"]]
            body = {"checklist": checklist, "expected_revision": item["revision"]}
            accepted = self.call(
                "POST", f"/api/v1/applications/{item['id']}/accept", "accept", 200, json=body
            )
            if accepted is not None:
                log("accepted", application=item["id"])


Enterprise.fixed_count = int(os.environ.get("DEADLINE_ENTERPRISES", "500"))
Approver.fixed_count = int(os.environ.get("DEADLINE_APPROVERS", "50"))
Clerk.fixed_count = int(os.environ.get("DEADLINE_CLERKS", "5"))
