"""The table value codec: orjson, registered with Faust as `orjson`.

State values are plain dicts/lists/numbers (streams.domain), so JSON is exact and orjson is
several times faster than the stdlib json Faust uses by default.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from faust.serializers import codecs

CODEC_NAME: Final = "orjson"


class OrjsonCodec(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


def register_codec() -> None:
    codecs.register(CODEC_NAME, OrjsonCodec())
