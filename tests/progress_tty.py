"""Runs `gradekit score` with stderr on an 80-column pseudo-terminal and checks the bar.

Usage: python3 tests/progress_tty.py GRADEKIT_BIN
"""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios

COLUMNS = 80


STRING_CHECK = ('{"type": "string_check", "name": "same", "operation": "eq",'
                ' "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}')
BLEU = ('{"type": "text_similarity", "name": "b", "evaluation_metric": "bleu",'
        ' "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"}')


def redraws_of(text):
    """The progress redraws: separated by \\r; the summary lines by \\r\\n (the pty's ONLCR)."""
    return [seg for seg in re.split(r"\r\n|\r|\n", text) if "rows" in seg and "%" in seg]


def in_place(text):
    """Whether the bar redrew on one line before the summary (at least two redraws there)."""
    return text.split("\r\n", 1)[0].count("rows/s") >= 2


def run(binary, grader, data):
    """`gradekit score` with stderr on an 80-column pty: (exit code, everything it drew)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    proc = subprocess.Popen(
        [binary, "score", "--grader", grader, "--threads", "1", data, "-o", os.devnull],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
        env={**os.environ, "COLUMNS": "300"},  # the pty's size must win over COLUMNS
    )
    os.close(slave)
    captured = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            sys.exit("no output from gradekit score within 60 s")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not chunk:
            break
        captured += chunk
    os.close(master)
    return proc.wait(), captured


def main(binary):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "in.jsonl")
        with open("fixtures/bench/pairs-10k.jsonl", "rb") as src:
            block = src.read()
        with open(data, "wb") as out:
            for _ in range(60):  # 600k lines: long enough for several redraws
                out.write(block)
        # string_check first; a release binary may finish 600k lines before two redraws
        # (one per 200 ms), so then bleu, which takes seconds there (a debug build never
        # needs it).
        for name, grader_json in (("string_check", STRING_CHECK), ("bleu", BLEU)):
            grader = os.path.join(tmp, "grader.json")
            with open(grader, "w") as out:
                out.write(grader_json)
            code, captured = run(binary, grader, data)
            text = captured.decode("utf-8", "replace").replace("\x1b[2K", "")
            if code != 0 or (len(redraws_of(text)) >= 2 and in_place(text)):
                break
    if code != 0:
        sys.exit(f"gradekit score exited {code}:\n{text}")
    redraws = redraws_of(text)
    if len(redraws) < 2:
        sys.exit(f"expected several progress redraws, got {len(redraws)}:\n{text!r}")
    too_long = [seg for seg in redraws if len(seg) >= COLUMNS]
    if too_long:
        sys.exit(f"{len(too_long)} redraws do not fit {COLUMNS} columns, e.g. {too_long[0]!r}")
    if not in_place(text):
        sys.exit(f"the bar did not redraw in place on one line:\n{text!r}")
    print(f"progress bar ({name}): {len(redraws)} redraws, all < {COLUMNS} columns, redrawn in place")


if __name__ == "__main__":
    main(sys.argv[1])
