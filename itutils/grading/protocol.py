"""Frames between the grader and a submission's harness: requests and replies.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON (one
object). The grader writes requests on one pipe and reads replies from
another; the submission's printed output travels on a third, so nothing it
prints can look like a reply. This module is imported on both sides (the
harness copies it into the sandbox), so it uses the standard library only.

On the grader's side :class:`FrameReader` never holds more than one frame of
at most ``max_frame`` bytes: a length over the limit is refused as soon as
its 4 bytes arrive, so a 1.5 GB "line" costs nothing.
"""

from __future__ import annotations

import json
import os
import struct

__all__ = [
    "HEADER",
    "ProtocolError",
    "encode",
    "FrameReader",
    "read_frame",
    "write_frame",
]

HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The other side broke the framing; the message says how."""


def encode(message: dict) -> bytes:
    """One frame holding ``message`` as JSON.

    Examples
    --------
    >>> encode({"op": "end"})
    b'\\x00\\x00\\x00\\r{"op": "end"}'
    """
    body = json.dumps(message, allow_nan=False).encode("utf-8")
    return HEADER.pack(len(body)) + body


class FrameReader:
    """Split a byte stream into frames, each at most ``max_frame`` bytes.

    Examples
    --------
    >>> reader = FrameReader(100)
    >>> reader.feed(encode({"a": 1})[:3])
    []
    >>> reader.feed(encode({"a": 1})[3:] + encode({"b": 2}))
    [b'{"a": 1}', b'{"b": 2}']
    >>> try:
    ...     reader.feed(b"\\xff\\xff\\xff\\xff")
    ... except ProtocolError as exc:
    ...     print(exc)
    a frame of 4294967295 bytes, over the limit of 100
    """

    def __init__(self, max_frame: int):
        self.max_frame = max_frame
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list:
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buffer)
            if size > self.max_frame:
                self._buffer.clear()
                raise ProtocolError(
                    f"a frame of {size} bytes, over the limit of {self.max_frame}"
                )
            if len(self._buffer) < HEADER.size + size:
                break
            frames.append(bytes(self._buffer[HEADER.size : HEADER.size + size]))
            del self._buffer[: HEADER.size + size]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that do not complete a frame yet."""
        return len(self._buffer)


def _read_exactly(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ProtocolError("the pipe closed in the middle of a frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, max_frame: int) -> dict:
    """Block until one whole frame arrives on ``fd``; return its object."""
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size))
    if size > max_frame:
        raise ProtocolError(f"a frame of {size} bytes, over the limit of {max_frame}")
    return json.loads(_read_exactly(fd, size))


def write_frame(fd: int, frame: bytes) -> None:
    """Write all of ``frame`` to ``fd`` (blocking)."""
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view) :]
