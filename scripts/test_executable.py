"""Prints the path of the test executable that `cargo test --no-run --message-format=json` built
(read from stdin), so `make sanitize` can run it under valgrind."""

from __future__ import annotations

import json
import sys

for line in sys.stdin:
    if not line.startswith("{"):
        continue
    message = json.loads(line)
    if (
        message.get("reason") == "compiler-artifact"
        and message.get("executable")
        and message["profile"]["test"]
    ):
        print(message["executable"])
