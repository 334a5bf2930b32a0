"""policy.ids: decision ids are version 7 UUIDs, unique and ordered by time."""

from __future__ import annotations

import time
import uuid

from policy import Facts, Subscription, evaluate
from policy.ids import new_decision_id, uuid7


def test_a_decision_id_is_a_version_7_uuid_string() -> None:
    text = new_decision_id()
    parsed = uuid.UUID(text)
    assert str(parsed) == text  # canonical: lowercase, hyphens
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_the_timestamp_leads_the_id() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid.UUID(new_decision_id()).int
    after = time.time_ns() // 1_000_000
    assert before <= value >> 80 <= after
    assert uuid.UUID(uuid7(1_700_000_000_123)).int >> 80 == 1_700_000_000_123


def test_ids_sort_by_time_and_never_repeat() -> None:
    ids = [uuid7(ms) for ms in range(1_700_000_000_000, 1_700_000_000_050)]
    assert ids == sorted(ids)
    many = [new_decision_id() for _ in range(20_000)]  # crosses many refills of the pool
    assert len(set(many)) == len(many)
    assert all(uuid.UUID(i).version == 7 for i in many[::997])


def test_random_bits_differ_within_one_millisecond() -> None:
    ms = 1_700_000_000_000
    values = {uuid.UUID(uuid7(ms)).int for _ in range(1000)}
    assert len(values) == 1000
    assert {v >> 80 for v in values} == {ms}
    assert len({v & ((1 << 62) - 1) for v in values}) == 1000  # the 62 bits after the variant


def test_evaluate_gives_each_decision_a_fresh_v7_id() -> None:
    facts = Facts(role="direct", subscriptions=[Subscription(source="ea", kind="usage")])
    first, second = evaluate(facts), evaluate(facts)
    assert first.decision_id != second.decision_id
    assert uuid.UUID(first.decision_id).version == 7
    assert evaluate(facts, decision_id="given").decision_id == "given"


def test_threads_and_forked_children_draw_different_bits() -> None:
    import os
    import threading

    from_threads: list[str] = []

    def draw() -> None:
        from_threads.extend(uuid7(0) for _ in range(500))

    workers = [threading.Thread(target=draw) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(set(from_threads)) == 2000

    before = [uuid7(0) for _ in range(5)]  # a block is in use when the process forks
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids go to the parent
        os.write(write, ",".join(uuid7(0) for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split(",")
    os.close(read)
    parent = [uuid7(0) for _ in range(5)]
    assert len(set(before + child + parent)) == 15


def test_decide_shares_one_decision_per_facts_without_an_id() -> None:
    from policy import decide

    facts = Facts(role="direct", subscriptions=[Subscription(source="ea", kind="usage")])
    shared = decide(facts)
    assert shared.decision_id == ""
    assert decide(Facts.model_validate(facts.model_dump())) is shared  # equal facts, same one
    with_id = evaluate(facts)
    assert with_id.model_copy(update={"decision_id": ""}) == shared
