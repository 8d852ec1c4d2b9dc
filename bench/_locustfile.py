"""The deadline-day scenario for Locust, driven by ``bench/deadline_day.py`` (not run alone).

Closed loop (``Enterprise``, ``Approver``, ``Clerk``): enterprises file (create the draft, save
answers, upload the PDF, submit — with think time between the steps) and look at their list;
approvers work their to-do lists; clerks accept the submitted cases. Open loop (``OpenLoop``,
picked on the command line with its step in ``DEADLINE_OPEN``): cases arrive at a fixed rate
and each runs the same requests on a fixed schedule (``bench/_openloop.py``).

Every request that creates something carries an ``Idempotency-Key``, and a 503 or a cut
connection is retried with the same key until it is answered — what a real client of the API
is told to do — so the driver can reconcile what the clients saw acknowledged with the
database. Each acknowledgement and each unexpected answer is appended to ``DEADLINE_ACKS``,
and so is each answered request: its latency and the number of SQL statements it ran (the
server's ``X-Bench-SQL`` header).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import gevent
from gevent.pool import Group
from locust import FastHttpUser, between, task

from bench._client import multipart
from bench._openloop import CASE, pair
from bench._sql import HEADER as SQL_HEADER

PLAN: dict[str, Any] = json.loads(Path(os.environ["DEADLINE_PLAN"]).read_text(encoding="utf-8"))
ACKS = open(os.environ["DEADLINE_ACKS"], "a", encoding="utf-8", buffering=1)  # noqa: SIM115
OPEN: dict[str, Any] = json.loads(os.environ.get("DEADLINE_OPEN") or "{}")
THINK = (PLAN["think_min"], PLAN["think_max"])
RETRY_FOR_S = 120
KEY = "Idempotency-Key"
PDF = bytes.fromhex(PLAN["pdf_hex"])
_seats = {kind: itertools.count() for kind in ("enterprise", "approver", "clerk")}


class Slot(NamedTuple):
    """When an open-loop request was due, and when it could go: its due time, or its
    predecessor's answer if that came later (the case was behind its schedule)."""

    due: float
    ready: float


Pace = Callable[[], "Slot | None"]  # called before each request: waits for its turn


def log(kind: str, **fields: Any) -> None:
    record = {"kind": kind, "at": time.time(), **fields}
    if OPEN:
        record["step"] = OPEN["step"]
    ACKS.write(json.dumps(record, ensure_ascii=False) + "\n")


def at_once() -> Slot | None:
    return None


def thinking() -> Pace:
    """The closed loop's pace: the first request at once, each later one after think time."""
    first = True

    def pace() -> Slot | None:
        nonlocal first
        if not first:
            time.sleep(random.uniform(*THINK))
        first = False
        return None

    return pace


class Stopped(Exception):
    """The step's window is over: the case sends nothing more."""


def schedule(arrival: float, pause: float, end: float) -> Pace:
    """The open loop's pace: request k is due ``k × pause`` after the case arrived."""
    sent = itertools.count()

    def pace() -> Slot:
        due = arrival + next(sent) * pause
        if due >= end:
            raise Stopped
        ready = max(due, time.time())
        gevent.sleep(max(0.0, due - time.time()))
        return Slot(due, ready)

    return pace


class _Client(FastHttpUser):
    abstract = True
    seat_kind = ""
    network_timeout = connection_timeout = 60.0

    def on_start(self) -> None:
        self.seat = next(_seats[self.seat_kind])
        self.token = PLAN[f"{self.seat_kind}s"][self.seat % len(PLAN[f"{self.seat_kind}s"])]

    def call(
        self, method: str, path: str, name: str, expect: int, token: str, slot: Slot | None,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        """Send until answered: retry 503s and cut connections (same body, same key).

        The latency runs from when the request could go (``slot.ready``; without a slot, its
        first sending) to its final answer, retries included, as the client waited them: a
        client that is slow to send is no excuse.
        """
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        now = time.time()
        slot = slot or Slot(now, now)
        began = slot.ready
        timing = {"due": slot.due, "late_ms": (slot.ready - slot.due) * 1000}
        give_up, retried = time.monotonic() + RETRY_FOR_S, False
        while True:
            with self.client.request(
                method, path, name=name, headers=headers, catch_response=True, **kwargs
            ) as response:
                status = response.status_code
                if status == expect:
                    response.success()
                    statements = int(response.headers.get(SQL_HEADER, -1))
                    ms = (time.time() - began) * 1000
                    log("sql", name=name, statements=statements, ms=ms, **timing)
                    return response.json() if response.content else None
                body = (response.text or str(response.error or ""))[:300]
                if status in (0, 502, 503) and time.monotonic() < give_up:
                    response.failure(f"outage {status}")
                    log("outage", name=name, status=status, body=body)
                else:
                    response.failure(f"HTTP {status}: {body}")
                    log("error", name=name, status=status, body=body, **timing)
                    return None
            # A first cut connection is most likely a keep-alive connection the server closed
            # while idle (gunicorn's keep-alive is 2 s): sent again at once, as browsers do.
            if status != 0 or retried:
                time.sleep(0.5 + random.random())
            retried = True


# ---------------------------------------------------------------- what each person does


def file_case(client: _Client, token: str, rule: str, pace: Pace) -> int | None:
    """An enterprise's filing: draft, answers, the PDF, submit; the application, None if refused."""
    created = client.call(
        "POST", "/api/v1/applications", "create draft", 201, token, pace(),
        json={"rule": rule}, headers={KEY: str(uuid.uuid4())},
    )  # fmt: skip
    if created is None:
        return None
    pk = created["id"]
    saved = client.call(
        "PATCH", f"/api/v1/applications/{pk}", "save answers", 200, token, pace(),
        json={"answers": PLAN["answers"]},
    )  # fmt: skip
    if saved is None:
        return None
    boundary = uuid.uuid4().hex
    files = [("files", "研发费用专项审计报告.pdf", PDF, "application/pdf")]
    uploaded = client.call(
        "POST", f"/api/v1/applications/{pk}/materials", "upload PDF", 201, token, pace(),
        data=multipart(boundary, {"item": PLAN["file_item"]}, files),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            KEY: str(uuid.uuid4()),
        },
    )  # fmt: skip
    if uploaded is None:
        return None
    submitted = client.call(
        "POST", f"/api/v1/applications/{pk}/submit", "submit", 200, token, pace(),
        headers={KEY: str(uuid.uuid4())},
    )  # fmt: skip
    if submitted is None:
        return None
    log("submitted", application=pk, number=submitted["number"])
    return pk


def my_applications(client: _Client, token: str, pace: Pace) -> Any:
    return client.call(
        "GET", "/api/v1/applications?page_size=10", "my applications", 200, token, pace()
    )


def accept_case(client: _Client, token: str, pk: int, pace: Pace) -> bool:
    """A clerk opens the case and accepts it with every item checked complete."""
    case = client.call("GET", f"/api/v1/applications/{pk}", "case for intake", 200, token, pace())
    if case is None:
        return False
    checklist = [{"key": i["key"], "result": "complete"} for i in case["items"]]
    body = {"checklist": checklist, "expected_revision": case["revision"]}
    accepted = client.call(
        "POST", f"/api/v1/applications/{pk}/accept", "accept", 200, token, pace(), json=body
    )
    if accepted is not None:
        log("accepted", application=pk)
    return accepted is not None


def decide(client: _Client, token: str, item: dict[str, Any], pace: Pace) -> bool:
    """An approver approves one task of the to-do list (with an ``Idempotency-Key``)."""
    decided = client.call(
        "POST", f"/api/v1/tasks/{item['id']}/decision", "decide", 200, token, pace(),
        json={"action": "approve", "opinion": f"经审核，材料齐全，同意（{item['node']}）"},
        headers={KEY: str(uuid.uuid4())},
    )  # fmt: skip
    if decided is not None:
        log("decided", task=item["id"], application=item["application_id"])
    return decided is not None


def intake_queue(client: _Client, token: str, pace: Pace) -> Any:
    return client.call(
        "GET", "/api/v1/intake/queue?page_size=50", "intake queue", 200, token, pace()
    )


def todo(client: _Client, token: str, pace: Pace) -> Any:
    return client.call("GET", "/api/v1/tasks?page_size=20", "to-do list", 200, token, pace())


# ---------------------------------------------------------------- closed loop


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
        file_case(self, self.token, rule, thinking())
        return None

    @task(1)
    def look_at_my_applications(self) -> None:
        my_applications(self, self.token, at_once)


class Approver(_Client):
    """An approver deciding the to-do list, first come first served."""

    seat_kind = "approver"
    wait_time = between(1, 3)

    @task
    def work_the_queue(self) -> None:
        for item in (todo(self, self.token, at_once) or {}).get("items", []):
            decide(self, self.token, item, at_once)
            time.sleep(random.uniform(0.2, 1.0))


class Clerk(_Client):
    """A window clerk accepting the submitted cases that fall to them (id modulo clerks)."""

    seat_kind = "clerk"
    wait_time = between(1, 2)

    @task
    def accept_what_arrived(self) -> None:
        clerks = len(PLAN["clerks"])
        for item in (intake_queue(self, self.token, at_once) or {}).get("items", []):
            if item["id"] % clerks == self.seat % clerks:
                accept_case(self, self.token, item["id"], at_once)


Enterprise.fixed_count = int(os.environ.get("DEADLINE_ENTERPRISES", "500"))
Approver.fixed_count = int(os.environ.get("DEADLINE_APPROVERS", "50"))
Clerk.fixed_count = int(os.environ.get("DEADLINE_CLERKS", "5"))


# ---------------------------------------------------------------- open loop


class OpenLoop(_Client):
    """One user that lets cases arrive at ``DEADLINE_OPEN``'s rate, each in its own greenlet
    sharing one connection pool, then stops the test when the step's window and drain are over."""

    fixed_count = 1
    concurrency = 2000  # connections: never a client-side queue in front of the server

    def on_start(self) -> None:
        self.taken: set[int] = set()  # tasks some case of this step decides or decided

    @task
    def run_the_step(self) -> None:
        rate, cases = OPEN["rate"], Group()
        start = time.time() + 0.5
        end = start + OPEN["warm"] + OPEN["window"]
        log("window", start=start + OPEN["warm"], end=end)
        for n in range(round(rate * (OPEN["warm"] + OPEN["window"]))):
            arrival = start + n / rate
            gevent.sleep(max(0.0, arrival - time.time()))
            cases.spawn(self.case, OPEN["offset"] + n, schedule(arrival, OPEN["pause"], end))
        gevent.sleep(max(0.0, end - time.time()))
        cases.join(timeout=OPEN["drain"])
        log("drained", unfinished=len(cases))
        cases.kill(block=False)
        self.environment.runner.quit()

    def case(self, number: int, pace: Pace) -> None:
        """One case from filing to its second decision (``bench._openloop.CASE``)."""
        e, r = pair(number, len(PLAN["enterprises"]), len(PLAN["rules"]))
        enterprise, approver = PLAN["enterprises"][e], PLAN["approvers"][r]
        clerk = PLAN["clerks"][number % len(PLAN["clerks"])]
        try:
            pk = file_case(self, enterprise, PLAN["rules"][r], pace)
            if pk is None or my_applications(self, enterprise, pace) is None:
                return
            if intake_queue(self, clerk, pace) is None or not accept_case(self, clerk, pk, pace):
                return
            for _ in range(CASE.count("decide")):  # the workflow's two levels
                item = self.pick(todo(self, approver, pace), pk)
                if item is None or not decide(self, approver, item, pace):
                    return
        except Stopped:
            return

    def pick(self, listed: Any, application: int) -> dict[str, Any] | None:
        """This case's task if on the list's first page, else the first one no other case took
        (the same approver's cases share the list); None when nothing is left to decide."""
        items = [i for i in (listed or {}).get("items", []) if i["id"] not in self.taken]
        own = [i for i in items if i["application_id"] == application]
        item = (own or items or [None])[0]
        if item is None:
            if listed is not None:
                log("idle", name="decide")
            return None
        self.taken.add(item["id"])
        return item
