"""Python graders through the bindings leave nothing behind (issue 12 items 4 and 6): a dropped
Grader frees its workers, graders with distinct options share one process-wide worker budget,
distinct ``threads=`` values do not keep thread pools forever, and no process or forked child
leaves a ``gradekit-python-*`` directory in TMPDIR."""

import gc
import os
import subprocess
import sys
import textwrap
import time

import gradekit

PID_SOURCE = "import os\ndef grade(sample, item):\n    return float(os.getpid())\n"


def pid_grader(tag, **opts):
    return gradekit.Grader(
        {"type": "python", "name": "pid", "source": PID_SOURCE + "# %s\n" % tag}, **opts
    )


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pid, limit=5.0):
    t = time.monotonic()
    while time.monotonic() - t < limit:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def run_script(code, tmp_path, **env):
    full_env = dict(os.environ, TMPDIR=str(tmp_path), **env)
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def leftovers(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("gradekit-python-"))


def test_a_dropped_grader_frees_its_workers():
    g = pid_grader("drop", python_workers=1)
    pid = int(g.grade("x").reward)
    assert alive(pid)
    del g
    gc.collect()
    assert wait_gone(pid), "worker %d outlived its Grader" % pid


def test_graders_with_distinct_options_share_one_worker_budget(tmp_path):
    # A fresh process with a budget of 3 workers: 30 graders, each with its own
    # python_timeout (its own runtime before the fix), all kept alive.
    out = run_script(
        """
        import os, gradekit
        SRC = "import os\\ndef grade(sample, item):\\n    return float(os.getpid())\\n"
        graders, pids = [], set()
        for i in range(30):
            g = gradekit.Grader({"type": "python", "source": SRC + "# %d\\n" % i},
                                python_timeout=5 + i)
            pids.update(int(r) for r in g.rewards(["x"] * 4))
            graders.append(g)
        def children():
            me, n = os.getpid(), 0
            for p in os.listdir("/proc"):
                if p.isdigit():
                    try:
                        rest = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    n += rest[0] != "Z" and int(rest[1]) == me
            return n
        print(children(), len(pids))
        graders.clear()
        del g
        import gc; gc.collect()
        print(children())
        """,
        tmp_path,
        GRADEKIT_PYTHON_MAX_WORKERS="3",
    )
    lines = out.split("\n")
    live, distinct = map(int, lines[0].split())
    assert distinct >= 30
    assert live <= 3, out
    assert int(lines[1]) == 0, out


def test_distinct_threads_values_do_not_keep_thread_pools(tmp_path):
    out = run_script(
        """
        import os, gradekit
        def threads():
            # only the pools' own threads: other libraries may start helpers of their own
            n = 0
            for t in os.listdir("/proc/self/task"):
                try:
                    with open("/proc/self/task/%s/comm" % t) as f:
                        n += f.read().startswith("gradekit-py-")
                except OSError:
                    pass  # the thread ended while we looked
            return n
        before = threads()
        g = {"type": "string_check", "name": "s", "input": "{{ sample.output_text }}",
             "reference": "a", "operation": "eq"}
        for t in range(2, 62):
            assert gradekit.Grader(g, threads=t).rewards(["a", "b"] * 50) == [1.0, 0.0] * 50
        import time
        deadline = time.monotonic() + 30
        # the evicted pools' threads finish; the newest pool's have all named themselves
        while not 61 <= threads() - before <= 58 + 59 + 60 + 61 and time.monotonic() < deadline:
            time.sleep(0.05)
        print(threads() - before)
        """,
        tmp_path,
    )
    # 60 widths kept would be 1,890 threads; at most the 4 most recent (58..61) stay.
    assert 61 <= int(out) <= 58 + 59 + 60 + 61, out


def test_no_scratch_directory_outlives_its_process_or_forked_children(tmp_path):
    run_script(
        """
        import os, signal, gradekit
        SRC = "def grade(sample, item):\\n    open('f', 'w').write('x')\\n    return 1.0\\n"
        g = gradekit.Grader({"type": "python", "source": SRC}, python_workers=1)
        assert g.grade("x").reward == 1.0
        kids = []
        for how in ("exit", "_exit", "kill"):
            pid = os.fork()
            if pid == 0:
                ok = g.grade("y").reward == 1.0
                if how == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                if how == "_exit":
                    os._exit(0 if ok else 3)
                raise SystemExit(0 if ok else 3)
            kids.append((how, pid))
        for how, pid in kids:
            _, status = os.waitpid(pid, 0)
            if how == "kill":
                assert os.WIFSIGNALED(status), status
            else:
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (how, status)
        """,
        tmp_path,
    )
    assert leftovers(tmp_path) == []


def test_two_graders_never_share_a_scratch_directory():
    writer = gradekit.Grader(
        {
            "type": "python",
            "source": "import os\ndef grade(sample, item):\n    open('mine', 'w').write(sample['output_text'])\n    return float(len(os.listdir('.')))\n",
        },
        python_workers=1,
    )
    reader = gradekit.Grader(
        {
            "type": "python",
            "source": "import os\ndef grade(sample, item):\n    return float(os.path.exists('mine'))\n",
        },
        python_workers=1,
    )
    writer.grade("secret")
    assert reader.grade("x").reward == 0.0
