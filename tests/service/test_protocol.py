"""CorkedTransport: a response's head and body leave in one write; a head alone still leaves."""

import asyncio

from service.protocol import CorkedTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"extra {name}"


def corked() -> tuple[CorkedTransport, RecordingTransport]:
    inner = RecordingTransport()
    return CorkedTransport(inner, asyncio.get_running_loop()), inner  # type: ignore[arg-type]


def test_head_and_body_written_in_one_step_leave_in_one_write():
    async def run():
        transport, inner = corked()
        transport.write(HEAD)
        assert inner.writes == [] and transport.get_write_buffer_size() == len(HEAD)
        transport.write(b"{}")
        assert inner.writes == [HEAD + b"{}"]
        await asyncio.sleep(0)
        assert inner.writes == [HEAD + b"{}"]  # nothing sent twice

    asyncio.run(run())


def test_a_head_with_nothing_after_it_leaves_on_the_next_step_or_at_close():
    async def run():
        transport, inner = corked()
        transport.write(HEAD)
        await asyncio.sleep(0)
        assert inner.writes == [HEAD]
        transport.write(HEAD)
        transport.close()
        assert inner.writes == [HEAD, HEAD] and inner.closed

    asyncio.run(run())


def test_other_writes_and_attributes_go_straight_through():
    async def run():
        transport, inner = corked()
        transport.write(b"0\r\n\r\n")  # a chunked body's end is not a head
        assert inner.writes == [b"0\r\n\r\n"]
        assert transport.get_extra_info("peername") == "extra peername"

    asyncio.run(run())
