"""JSON output that keeps decimal precision ("1.50" stays 1.50) and key order, byte for byte."""
from __future__ import annotations

from typing import Any

import msgspec

# msgspec writes Decimal as a JSON number with its exact digits; the stdlib json cannot, and
# orjson refuses Decimal (DESIGN.md, measured facts).
_encoder = msgspec.json.Encoder(decimal_format="number")


def dumps(value: Any, indent: int = 2) -> bytes:
    """`value` as UTF-8 JSON, indented (indent=0 gives one line, for NDJSON)."""
    raw = _encoder.encode(value)
    if indent:
        return msgspec.json.format(raw, indent=indent) + b"\n"
    return raw + b"\n"


def loads(data: bytes | str) -> Any:
    """Parse JSON keeping decimals as Decimal, so a Bundle read back writes out unchanged."""
    import json
    from decimal import Decimal

    return json.loads(data, parse_float=Decimal)
