"""The GIL is released while a batch is graded; a forked child can grade."""

import os
import select
import threading
import time

import pytest

import gradekit

SLOW = {
    "type": "python",
    "name": "slow",
    "source": "import time\ndef grade(sample, item):\n    time.sleep(0.005)\n    return 1.0\n",
}


def test_gil_released_during_grade_batch():
    # A python grader in process mode with one worker: ~0.005 s per sample, so the batch
    # below takes well over half a second of wall time inside grade_batch.
    g = gradekit.Grader(SLOW, python_mode="process", python_workers=1)
    assert g.grade("warm-up").reward == 1.0
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    rewards = g.rewards(["x"] * 150)
    t1 = time.monotonic()
    stop.set()
    t.join()
    assert rewards == [1.0] * 150
    assert t1 - t0 > 0.3
    during = [x for x in ticks if t0 < x < t1]
    # With the GIL held for the whole batch the ticker could not append at all in between.
    assert len(during) >= 20, (len(during), t1 - t0)


def _fork_and_grade(fn, timeout=60.0):
    """Runs fn() in a forked child; returns its exit status (or fails after `timeout`)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 1
        try:
            code = 0 if fn() else 3
        except BaseException:  # noqa: BLE001  any failure is a non-zero exit
            import traceback

            os.write(w, traceback.format_exc().encode())
            code = 2
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + timeout
    out = b""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung (deadlock after fork)")
        ready, _, _ = select.select([r], [], [], 0.05)
        if ready:
            out += os.read(r, 65536)
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_batch_does_not_deadlock(exact):
    g = gradekit.Grader(exact, threads=2)
    samples = [str(i % 3) for i in range(20000)]
    items = [{"answer": "1"}] * 20000
    want = [1.0 if i % 3 == 1 else 0.0 for i in range(20000)]
    assert g.rewards(samples, items) == want  # the pool's threads now exist

    # A thread keeps grading while we fork, so the fork may land mid-batch.
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            g.rewards(samples[:2000], items[:2000])

    t = threading.Thread(target=busy)
    t.start()
    try:
        code, err = _fork_and_grade(lambda: g.rewards(samples, items) == want
                                    and gradekit.Grader(exact).rewards(samples, items) == want)
    finally:
        stop.set()
        t.join()
    assert code == 0, err
    assert g.rewards(samples, items) == want  # the parent's pool still works


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("mode", ["process", "sandboxed"])
def test_python_graders_work_in_a_child_forked_after_first_use(exact, mode):
    src = "def grade(s, i):\n    return len(s['output_text'])\n"
    g = gradekit.Grader({"type": "python", "name": "p", "source": src},
                        python_mode=mode, python_workers=1)
    first = g.grade("ab")
    if first.errors.get("python_grader_server_error_type") == "sandbox_unavailable":
        pytest.skip("the sandbox is unavailable on this kernel")
    assert g.rewards(["ab", "abc"]) == [2.0, 3.0]  # the parent's workers and spawner exist

    def child():
        # The grader made before the fork, a new one, and other grader types all work.
        fresh = gradekit.Grader({"type": "python", "name": "q", "source": src},
                                python_mode=mode, python_workers=1)
        return (g.rewards(["a", "abcd"]) == [1.0, 4.0]
                and fresh.rewards(["xyz"]) == [3.0]
                and gradekit.Grader(exact).rewards(["a"], [{"answer": "a"}]) == [1.0])

    code, err = _fork_and_grade(child)
    assert code == 0, err
    assert g.rewards(["ab"]) == [2.0]  # the parent is unaffected
