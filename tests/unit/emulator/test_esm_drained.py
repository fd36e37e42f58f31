"""The event source loop's end condition, against a stand-in SQS client (the race is moto's)."""

from __future__ import annotations

from typing import Any

from emulator.sqs_event_source import SqsEventSource


class FakeSqs:
    """Answers queue depths from a script; records nothing else."""

    def __init__(self, depths: list[int]) -> None:
        self.depths = depths

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        if AttributeNames == ["All"]:
            return {"Attributes": {"QueueArn": "arn:aws:sqs:ap-southeast-1:123456789012:q"}}
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.depths.pop(0))}}


def test_a_queue_is_empty_only_when_two_readings_a_moment_apart_say_so() -> None:
    # moto reads visible and in-flight counts at two instants: a message whose visibility
    # timeout ends between them reads as 0 once
    esm = SqsEventSource(object(), "q", sqs=FakeSqs([0, 1]))  # type: ignore[arg-type]
    assert not esm.empty()
    assert SqsEventSource(object(), "q", sqs=FakeSqs([0, 0])).empty()  # type: ignore[arg-type]
    assert not SqsEventSource(object(), "q", sqs=FakeSqs([2])).empty()  # type: ignore[arg-type]
