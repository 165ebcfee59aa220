# gradekit python grader worker (harness). Shipped inside the Rust crate (include_str!) and
# started as `python3 -I -B worker.py` with a cleared environment, cwd = the worker's scratch dir.
#
# Protocol (see protocol.rs): every frame is `u32 LE payload length, u8 op, payload`.
#   engine -> worker  b'I' init JSON  |  b'B' marshal list of (sample, item) tuples
#   worker -> engine  b'R' nonce + ready JSON |  b'E' init error JSON {kind, message}
#                     b'B' the worker's 8-byte nonce (from init), u32 LE batch number (1, 2, …),
#                        then one record per pair, in order:
#                        0, f64 LE                 reward
#                        kind (1..4), u32 LE n, n bytes utf-8 details
#                        (1 exception, 2 bad return value, 3 timeout, 4 memory)
# Before each grade() call the worker stores (seq, index) in the 8-byte progress page (a memfd the
# engine shares as fd 3): when the worker dies or hangs, the engine knows which sample was in
# flight — as a hint it verifies, since grader code can reach this process's memory.
#
# The grader's code runs in this interpreter and may rebind anything global (builtins.float,
# json.dumps, this module's names): everything the harness calls after the grader's module has
# run is captured in locals of main() before it runs.
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

    # Private protocol fds, moved far from the usual numbers; fds 0, 1 and 2 -> /dev/null so
    # print()/input() in user code can never corrupt a frame, and a grader that prints on every
    # call cannot fill the disk. The harness keeps the original stderr (the worker's log file)
    # for its own failures.
    import fcntl

    dupfd = getattr(fcntl, "F_DUPFD_CLOEXEC", 1030)  # the Linux value, for older Pythons

    def high_dup(fd, at_least):
        try:
            return fcntl.fcntl(fd, dupfd, at_least)
        except OSError:  # a small RLIMIT_NOFILE: any free number will do
            return fcntl.fcntl(fd, dupfd, 3)

    fd_in = high_dup(0, 700)
    fd_out = high_dup(1, 800)
    LOG[0] = high_dup(2, 900)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    rd = open(fd_in, "rb", buffering=1 << 16).read
    hdr = struct.Struct("<IB")
    hpack = hdr.pack
    hunpack = hdr.unpack
    rec_ok = struct.Struct("<Bd").pack
    rec_err = struct.Struct("<BI").pack
    batch_tag = struct.Struct("<I").pack
    write = os.write
    _exit = os._exit
    _len = len
    _mv = memoryview
    _float = float
    _type = type
    _isinstance = isinstance
    _enumerate = enumerate
    _str = str
    _bytes = bytes
    _complex = complex
    _BaseException = BaseException
    _MemoryError = MemoryError
    _OverflowError = OverflowError
    _ValueError = ValueError
    _TypeError = TypeError
    dumps = json.dumps
    loads = marshal.loads
    join = b"".join

    def send(op, payload):
        data = _mv(hpack(_len(payload), op) + payload)
        while data:
            n = write(fd_out, data)
            data = data[n:]

    def recv():
        h = rd(5)
        if _len(h) < 5:
            return None, None
        n, op = hunpack(h)
        body = rd(n)
        if _len(body) < n:
            return None, None
        return op, body

    def fail(kind, message):
        send(69, dumps({"kind": kind, "message": message}).encode())  # b"E"
        _exit(0)

    op, body = recv()
    if op != ord("I"):
        return
    cfg = json.loads(body)
    nonce = bytes.fromhex(cfg.get("nonce", ""))

    # The progress page: mapped before any grader code runs, and its fd closed, so no path or
    # fd number leads to it.
    pfd = cfg.get("progress_fd")
    if pfd is not None:
        progress_map = mmap.mmap(pfd, 8)
        os.close(pfd)
    else:
        progress_map = mmap.mmap(-1, 8)
    prog = memoryview(progress_map).cast("I")

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
    int_ = int
    bool_ = bool
    err = _err

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

    soft = _float(cfg["timeout"])
    memory_mib = cfg.get("memory_mib")
    mem_msg = (
        "memory limit exceeded (%s MiB)" % memory_mib if memory_mib else "memory limit exceeded"
    ).encode()
    timeout_msg = b"grade() exceeded the time limit of %g s" % soft
    Real = numbers.Real
    signature = inspect.signature
    _callable = callable
    ready = dumps(info).encode()

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
    except _BaseException as e:
        flag[0] = False
        setitimer(ITIMER_REAL, 0)
        fail("module", "module top level raised an exception:\n" + fmt_exc(e))
    setitimer(ITIMER_REAL, 0)
    grade = mod.__dict__.get("grade")
    if grade is None:
        fail("no_grade", "source does not define grade(sample, item)")
    if not _callable(grade):
        fail("no_grade", "grade is %s, not a function taking (sample, item)" % _type(grade).__name__)
    try:
        sig = signature(grade)
    except (_TypeError, _ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(None, None)
        except _TypeError:
            fail("signature", "grade%s must accept two positional arguments (sample, item)" % sig)

    send(82, nonce + ready)  # b"R"
    seq = 0
    batches = 0
    while True:
        op, body = recv()
        if op is None:
            return
        if op != 66:  # b"B"
            return
        pairs = loads(body)
        batches = (batches + 1) & 0xFFFFFFFF
        out = [nonce + batch_tag(batches)]
        append = out.append
        flag[3] = soft
        setitimer(ITIMER_REAL, soft, 0.05)
        for i, pair in _enumerate(pairs):
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
                append(err(rec_err, 3, timeout_msg))
                continue
            except _MemoryError:
                flag[0] = False
                append(err(rec_err, 4, mem_msg + b" (MemoryError in grade())"))
                continue
            except _BaseException as e:
                flag[0] = False
                if flag[1]:
                    append(err(rec_err, 3, timeout_msg))
                else:
                    append(err(rec_err, 1, fmt_exc(e).encode("utf-8", "replace")))
                continue
            if flag[1]:
                append(err(rec_err, 3, timeout_msg))
                continue
            t = _type(r)
            if t is _float:
                f = r
            elif t is not int_ and t is not bool_ and (
                t is _str or t is _bytes or not _isinstance(r, Real) or _isinstance(r, _complex)
            ):
                append(err(rec_err, 2, ("grade() returned %s, not a number" % t.__name__).encode()))
                continue
            else:
                try:
                    f = _float(r)
                except (_OverflowError, _ValueError, _TypeError) as e:
                    append(err(rec_err, 2, ("grade() returned %s that is not a finite number: %s" % (t.__name__, e)).encode()))
                    continue
                except _BaseException as e:
                    append(err(rec_err, 2, ("converting the %s grade() returned raised %s" % (t.__name__, _type(e).__name__)).encode()))
                    continue
                if _type(f) is not _float:
                    append(err(rec_err, 2, ("grade() returned %s, not a number" % t.__name__).encode()))
                    continue
            if f - f == 0.0:
                append(rec_ok(0, f))
            else:
                append(err(rec_err, 2, ("grade() returned %r; expected a finite number" % f).encode()))
        setitimer(ITIMER_REAL, 0)
        send(66, join(out))


def _err(pack, kind, details):
    return pack(kind, len(details)) + details


def make_formatter(traceback, limit):
    format_exception = traceback.format_exception
    _type, _len, _str, _BaseException = type, len, str, BaseException

    def fmt_exc(e):
        try:
            tb = e.__traceback__
            if tb is not None:
                tb = tb.tb_next  # drop the harness frame
            text = "".join(format_exception(_type(e), e, tb))
            if _type(text) is not _str:
                raise TypeError
        except _BaseException:
            text = "%s (unprintable exception)" % _type(e).__name__
        text = text.rstrip("\n")
        if _len(text) > limit:
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
