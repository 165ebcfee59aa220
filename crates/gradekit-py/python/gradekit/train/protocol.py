"""The trainer protocol's stdout: one JSON object per line, and nothing else.

`Protocol.capture()` takes the process's file descriptor 1 for itself and points fd 1 (and
`sys.stdout`) at stderr, so whatever TRL, transformers, tqdm, C extensions or a stray `print`
write lands on stderr: stdout carries only `event`, `metrics`, `checkpoint` and `result` lines
(DESIGN §8). Each line is written and flushed whole, so a reader never sees half a line.
"""

import json
import math
import os
import sys
import threading
from typing import Any, Dict, List, Optional


def _clean(v: Any) -> Any:
    """JSON-safe numbers: NaN/inf become null (JSON has neither)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


class Protocol:
    """Writes protocol lines to the stdout the trainer was started with."""

    def __init__(self, stream=None):
        self._out = stream
        self._lock = threading.Lock()

    @classmethod
    def capture(cls) -> "Protocol":
        """Keeps the original stdout for protocol lines; everything else goes to stderr."""
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(os.fdopen(fd, "w", buffering=1, encoding="utf-8"))

    def _write(self, obj: Dict[str, Any]) -> None:
        line = json.dumps(_clean(obj), separators=(",", ":"), allow_nan=False)
        with self._lock:
            if self._out is None:
                return
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except OSError:
                # The reader (the server) went away: nobody records this run any more and a
                # restarted server resumes the job from its last checkpoint with a new trainer,
                # so stop now rather than race it on the same output directory.
                sys.stderr.write("gradekit.train: error: stdout closed (the server went away); "
                                 "stopping\n")
                sys.stderr.flush()
                os._exit(3)

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                try:
                    self._out.close()
                except OSError:
                    pass
                self._out = None

    def event(self, message: str, level: str = "info") -> None:
        self._write({"type": "event", "level": level, "message": message})

    def metrics(self, step: int, total_steps: Optional[int], values: Dict[str, Any]) -> None:
        obj: Dict[str, Any] = {"type": "metrics", "step": int(step)}
        if total_steps:
            obj["total_steps"] = int(max(total_steps, step))
        obj.update(values)
        self._write(obj)

    def checkpoint(self, step: int, directory: str, metrics: Dict[str, Any]) -> None:
        self._write({"type": "checkpoint", "step": int(step), "dir": directory, "metrics": metrics})

    def result(self, model_dir: str, trained_tokens: int, result_files: List[str]) -> None:
        self._write({"type": "result", "model_dir": model_dir, "trained_tokens": int(trained_tokens),
                     "result_files": result_files})
