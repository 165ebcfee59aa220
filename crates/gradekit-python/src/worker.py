# gradekit python grader worker (harness). Shipped inside the Rust crate (include_str!) and
# started as `python3 -I -B worker.py` with a cleared environment, cwd = the worker's scratch dir.
#
# Protocol (see protocol.rs): every frame is `u32 LE payload length, u8 op, payload`.
#   engine -> worker  b'I' init JSON  |  b'B' marshal list of (sample, item) tuples
#   worker -> engine  b'R' ready JSON |  b'E' init error JSON {kind, message}
#                     b'B' one record per pair, in order:
#                        0, f64 LE                 reward
#                        kind (1..4), u32 LE n, n bytes utf-8 details
#                        (1 exception, 2 bad return value, 3 timeout, 4 memory)
# Before each grade() call the worker stores (seq, index) in the 8-byte `progress` file that the
# engine also reads: when the worker dies or hangs, the engine knows which sample was in flight.
import os
import sys


def main():
    import inspect
    import json
    import marshal
    import mmap
    import numbers
    import signal
    import struct
    import time
    import traceback
    import types

    # Private protocol fds; fds 0, 1 and 2 -> /dev/null so print()/input() in user code can
    # never corrupt a frame, and a grader that prints on every call cannot fill the disk. The
    # harness keeps the original stderr (the worker's log file) for its own failures.
    fd_in = os.dup(0)
    fd_out = os.dup(1)
    LOG[0] = os.dup(2)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    rd = open(fd_in, "rb", buffering=1 << 16).read
    hdr = struct.Struct("<IB")
    rec_ok = struct.Struct("<Bd").pack
    rec_err = struct.Struct("<BI").pack

    def send(op, payload):
        data = memoryview(hdr.pack(len(payload), op) + payload)
        while data:
            n = os.write(fd_out, data)
            data = data[n:]

    def recv():
        h = rd(5)
        if len(h) < 5:
            return None, None
        n, op = hdr.unpack(h)
        body = rd(n)
        if len(body) < n:
            return None, None
        return op, body

    def fail(kind, message):
        send(ord("E"), json.dumps({"kind": kind, "message": message}).encode())
        sys.exit(0)

    op, body = recv()
    if op != ord("I"):
        return
    cfg = json.loads(body)

    info = {"python": sys.version.split()[0]}
    if cfg.get("sandbox"):
        try:
            info["landlock_abi"] = apply_landlock(cfg)
            apply_seccomp(bytes.fromhex(cfg["seccomp"]))
        except SandboxError as e:
            fail("sandbox_unavailable", str(e))

    fmt_exc = make_formatter(traceback, cfg.get("details_limit", 4000))

    class GradeTimeout(BaseException):
        """Raised by the soft-timeout alarm; BaseException so `except Exception` cannot swallow it."""

    # [inside grade(), alarm fired for this call, start of this call, limit of this call]
    flag = [False, False, 0.0, 60.0]
    mono = time.monotonic

    def on_alarm(signum, frame):
        # One timer per batch, not two setitimer calls per sample (~1 µs each): when it fires
        # during a call that has not used up its own limit, re-arm for the rest.
        if not flag[0]:
            return
        left = flag[3] - (mono() - flag[2])
        if left > 0.0005:
            setitimer(ITIMER_REAL, left, 0.05)
            return
        flag[1] = True
        setitimer(ITIMER_REAL, 0.05, 0.05)  # keeps firing if user code swallows it
        raise GradeTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    setitimer = signal.setitimer
    ITIMER_REAL = signal.ITIMER_REAL

    # Compile and run the module top level (user code too: it runs inside the sandbox).
    source = cfg["source"]
    try:
        code = compile(source, "<grader>", "exec")
    except SyntaxError as e:
        fail("syntax", "syntax error: %s (line %s)" % (e.msg, e.lineno))
    except (ValueError, TypeError) as e:
        fail("syntax", "cannot compile source: %s" % e)
    mod = types.ModuleType("grader")
    mod.__file__ = "<grader>"
    sys.modules["grader"] = mod
    flag[1] = False
    flag[2] = mono()
    flag[3] = float(cfg.get("init_timeout", 60.0))
    flag[0] = True
    setitimer(ITIMER_REAL, flag[3], 0.05)
    try:
        exec(code, mod.__dict__)
        flag[0] = False
    except GradeTimeout:
        flag[0] = False
        setitimer(ITIMER_REAL, 0)
        fail("module", "module top level exceeded %s s" % cfg.get("init_timeout", 60.0))
    except BaseException as e:
        flag[0] = False
        setitimer(ITIMER_REAL, 0)
        fail("module", "module top level raised an exception:\n" + fmt_exc(e))
    setitimer(ITIMER_REAL, 0)
    grade = mod.__dict__.get("grade")
    if grade is None:
        fail("no_grade", "source does not define grade(sample, item)")
    if not callable(grade):
        fail("no_grade", "grade is %s, not a function taking (sample, item)" % type(grade).__name__)
    try:
        sig = inspect.signature(grade)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(None, None)
        except TypeError:
            fail("signature", "grade%s must accept two positional arguments (sample, item)" % sig)

    progress_fd = os.open("progress", os.O_RDWR)
    progress_map = mmap.mmap(progress_fd, 8)
    os.close(progress_fd)
    prog = memoryview(progress_map).cast("I")

    soft = float(cfg["timeout"])
    memory_mib = cfg.get("memory_mib")
    mem_msg = (
        "memory limit exceeded (%s MiB)" % memory_mib if memory_mib else "memory limit exceeded"
    ).encode()
    send(ord("R"), json.dumps(info).encode())

    Real = numbers.Real
    seq = 0
    while True:
        op, body = recv()
        if op is None:
            return
        if op != ord("B"):
            return
        pairs = marshal.loads(body)
        out = []
        append = out.append
        flag[3] = soft
        setitimer(ITIMER_REAL, soft, 0.05)
        for i, pair in enumerate(pairs):
            seq = (seq + 1) & 0xFFFFFFFF
            prog[1] = i
            prog[0] = seq
            flag[1] = False
            flag[2] = mono()
            flag[0] = True
            try:
                r = grade(pair[0], pair[1])
                flag[0] = False
            except GradeTimeout:
                flag[0] = False
                append(err(rec_err, 3, b"grade() exceeded the time limit of %g s" % soft))
                continue
            except MemoryError:
                flag[0] = False
                append(err(rec_err, 4, mem_msg + b" (MemoryError in grade())"))
                continue
            except BaseException as e:
                flag[0] = False
                if flag[1]:
                    append(err(rec_err, 3, b"grade() exceeded the time limit of %g s" % soft))
                else:
                    append(err(rec_err, 1, fmt_exc(e).encode("utf-8", "replace")))
                continue
            if flag[1]:
                append(err(rec_err, 3, b"grade() exceeded the time limit of %g s" % soft))
                continue
            t = type(r)
            if t is float or t is int or t is bool or (isinstance(r, Real) and not isinstance(r, complex)):
                try:
                    f = float(r)
                except (OverflowError, ValueError, TypeError) as e:
                    append(err(rec_err, 2, ("grade() returned %s that is not a finite number: %s" % (t.__name__, e)).encode()))
                    continue
                if f - f == 0.0:
                    append(rec_ok(0, f))
                else:
                    append(err(rec_err, 2, ("grade() returned %r; expected a finite number" % f).encode()))
            else:
                append(err(rec_err, 2, ("grade() returned %s, not a number" % t.__name__).encode()))
        setitimer(ITIMER_REAL, 0)
        send(ord("B"), b"".join(out))


def err(pack, kind, details):
    return pack(kind, len(details)) + details


def make_formatter(traceback, limit):
    def fmt_exc(e):
        try:
            tb = e.__traceback__
            if tb is not None:
                tb = tb.tb_next  # drop the harness frame
            text = "".join(traceback.format_exception(type(e), e, tb))
        except BaseException:
            text = "%s (unprintable exception)" % type(e).__name__
        text = text.rstrip("\n")
        if len(text) > limit:
            text = "..." + text[-limit:]
        return text

    return fmt_exc


class SandboxError(Exception):
    pass


def _libc():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    return ctypes, libc


def apply_landlock(cfg):
    """Writes only beneath the scratch dir, reads only from the allow-list, no execve, and (by ABI)
    no TCP bind/connect, no abstract unix sockets, no signals outside the worker."""
    import stat

    ctypes, libc = _libc()
    SYS_create, SYS_add, SYS_restrict = 444, 445, 446
    abi = libc.syscall(ctypes.c_long(SYS_create), None, ctypes.c_size_t(0), ctypes.c_ulong(1))
    if abi < 0:
        raise SandboxError("landlock unavailable (errno %d)" % ctypes.get_errno())
    need = int(cfg.get("landlock_min_abi", 1))
    if abi < need:
        raise SandboxError("landlock ABI %d < required %d" % (abi, need))
    EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
    fs_all = (1 << 13) - 1
    if abi >= 2:
        fs_all |= 1 << 13  # REFER
    if abi >= 3:
        fs_all |= 1 << 14  # TRUNCATE
    if abi >= 5:
        fs_all |= 1 << 15  # IOCTL_DEV
    net_all = 3 if abi >= 4 else 0
    scoped = 3 if abi >= 6 else 0

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    attr = RulesetAttr(fs_all, net_all, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    rfd = libc.syscall(ctypes.c_long(SYS_create), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_ulong(0))
    if rfd < 0:
        raise SandboxError("landlock_create_ruleset failed (errno %d)" % ctypes.get_errno())
    file_mask = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14 if abi >= 3 else 0) | (1 << 15 if abi >= 5 else 0)

    def allow(path, access):
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # absent paths are simply not allowed
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                access &= file_mask
            rule = PathBeneath(access & fs_all, fd)
            if libc.syscall(ctypes.c_long(SYS_add), ctypes.c_long(rfd), ctypes.c_long(1), ctypes.byref(rule), ctypes.c_ulong(0)) < 0:
                raise SandboxError("landlock_add_rule(%s) failed (errno %d)" % (path, ctypes.get_errno()))
        finally:
            os.close(fd)

    read = READ_FILE | READ_DIR
    write = fs_all & ~EXECUTE & ~(1 << 6) & ~(1 << 11)  # no exec, no char/block devices
    reads = set(cfg.get("read_paths", []))
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        reads.add(p)
    for p in sys.path:
        if p and os.path.isabs(p):
            reads.add(p)
    for p in sorted(reads):
        allow(p, read)
    allow("/dev/null", READ_FILE | WRITE_FILE)
    allow(cfg["scratch"], write)
    if libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:  # PR_SET_NO_NEW_PRIVS
        raise SandboxError("PR_SET_NO_NEW_PRIVS failed")
    if libc.syscall(ctypes.c_long(SYS_restrict), ctypes.c_long(rfd), ctypes.c_ulong(0)) < 0:
        raise SandboxError("landlock_restrict_self failed (errno %d)" % ctypes.get_errno())
    os.close(rfd)
    return abi


def apply_seccomp(prog_bytes):
    """Install the BPF filter built by the engine (seccomp.rs)."""
    ctypes, libc = _libc()
    if len(prog_bytes) == 0 or len(prog_bytes) % 8:
        raise SandboxError("bad seccomp program")
    n = len(prog_bytes) // 8
    buf = ctypes.create_string_buffer(prog_bytes, len(prog_bytes))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(n, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise SandboxError("PR_SET_NO_NEW_PRIVS failed")
    # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    if libc.prctl(22, ctypes.c_ulong(2), ctypes.byref(fprog), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise SandboxError("seccomp filter rejected (errno %d)" % ctypes.get_errno())


LOG = [2]

if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException:
        import traceback

        try:
            os.write(LOG[0], traceback.format_exc()[-4000:].encode("utf-8", "replace"))
        except OSError:
            pass
        raise SystemExit(1)
