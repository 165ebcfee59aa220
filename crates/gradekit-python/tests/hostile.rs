//! Hostile graders (issue #4): each attack is contained, flagged on its own sample, and the
//! samples around it still grade. Sandboxed mode, 1 s soft timeout.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use gradekit_python::{
    sandbox_support, PyOutcome, PythonMode, PythonOptions, PythonProgram, PythonRuntime,
};
use serde_json::{json, Value};

/// Skips (with a message) where the kernel lacks Landlock or seccomp: sandboxed mode then fails
/// closed, which `fails_closed_*` covers.
fn sandbox_or_skip() -> bool {
    let s = sandbox_support();
    if s.landlock_abi == 0 || !s.seccomp {
        eprintln!("SKIP: kernel lacks Landlock or seccomp ({s:?}); hostile sandbox tests not run");
        return false;
    }
    true
}

/// One worker: `[ok, attack, ok]` then travels as one frame, so the tests also cover the
/// in-flight attribution and the resubmission of the rest of the frame.
fn runtime() -> PythonRuntime {
    PythonRuntime::new(PythonOptions {
        timeout: Duration::from_secs(1),
        memory_mib: 512,
        workers: Some(1),
        ..PythonOptions::default()
    })
}

/// `attack` is the body of `grade` for `item["k"] == "attack"`; other items return 0.75.
fn program(rt: &PythonRuntime, imports: &str, attack: &str) -> PythonProgram {
    let body: String = attack.lines().map(|l| format!("        {l}\n")).collect();
    let src = format!(
        "{imports}\ndef grade(sample, item):\n    if item['k'] == 'attack':\n{body}    return 0.75\n"
    );
    rt.compile(&src, None).unwrap()
}

/// Grades [ok, attack, ok] in one frame; returns the attack's outcome.
fn sandwich(p: &PythonProgram) -> PyOutcome {
    let s = json!({});
    let items: Vec<Value> = ["ok", "attack", "ok"]
        .iter()
        .map(|k| json!({ "k": k }))
        .collect();
    let pairs: Vec<(&Value, &Value)> = items.iter().map(|i| (&s, i)).collect();
    let mut out = p.grade_batch(&pairs);
    assert_eq!(out[0], PyOutcome::Reward(0.75), "sample before the attack");
    assert_eq!(out[2], PyOutcome::Reward(0.75), "sample after the attack");
    // And the program still works afterwards.
    assert_eq!(p.grade(&s, &json!({"k": "ok"})), PyOutcome::Reward(0.75));
    out.remove(1)
}

fn runtime_error(o: PyOutcome) -> String {
    match o {
        PyOutcome::RuntimeError { details } => details,
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn infinite_loops_python_and_c_level_time_out() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    // Python loop and a blocking sleep: soft timeout, worker kept.
    for attack in ["while True:\n    pass", "time.sleep(30)"] {
        let t = Instant::now();
        let d = runtime_error(sandwich(&program(&rt, "import time", attack)));
        assert!(d.contains("time limit of 1 s"), "{attack}: {d}");
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{attack}: {:?}",
            t.elapsed()
        );
    }
    // A C-level loop the alarm cannot interrupt: the hard deadline kills the worker.
    let t = Instant::now();
    let d = runtime_error(sandwich(&program(
        &rt,
        "",
        "return float(sum(range(10**13)))",
    )));
    assert!(
        d.contains("hard deadline") && d.contains("worker killed"),
        "{d}"
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // Catastrophic regex backtracking (CPython's sre polls for signals: soft or hard, either way
    // a timeout).
    let redos = "return 1.0 if re.match(r'(a+)+$', 'a' * 64 + 'b') else 0.0";
    let d = runtime_error(sandwich(&program(&rt, "import re", redos)));
    assert!(d.contains("time limit"), "{d}");
}

#[test]
fn swallowing_the_timeout_does_not_help() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let attack = "for _ in range(3):\n    try:\n        time.sleep(30)\n    except BaseException:\n        pass\nreturn 1.0";
    let d = runtime_error(sandwich(&program(&rt, "import time", attack)));
    assert!(d.contains("time limit"), "{d}");
}

#[test]
fn huge_allocations_hit_the_memory_limit() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    for attack in [
        "x = bytearray(8 << 30)\nreturn 1.0",
        "x = [0] * (10**10)\nreturn 1.0",
    ] {
        let d = runtime_error(sandwich(&program(&rt, "", attack)));
        assert!(d.contains("memory"), "{attack}: {d}");
    }
}

#[test]
fn crashes_fail_only_the_sample_in_flight() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let d = runtime_error(sandwich(&program(
        &rt,
        "import ctypes",
        "ctypes.string_at(0)",
    )));
    assert!(d.contains("signal 11 (SIGSEGV)"), "{d}");
    let d = runtime_error(sandwich(&program(&rt, "import os", "os._exit(3)")));
    assert!(d.contains("exited with status 3"), "{d}");
    let d = runtime_error(sandwich(&program(
        &rt,
        "import os, signal",
        "os.kill(os.getpid(), signal.SIGKILL)",
    )));
    assert!(d.contains("signal 9"), "{d}");
}

#[test]
fn no_network() {
    if !sandbox_or_skip() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let rt = runtime();
    let attack =
        format!("s = socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\nreturn 1.0");
    let d = runtime_error(sandwich(&program(&rt, "import socket", &attack)));
    assert!(
        d.contains("PermissionError") || d.contains("OSError"),
        "{d}"
    );
    assert!(
        listener.accept().is_err(),
        "the grader reached the listener"
    );
    let udp = "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('127.0.0.1', 9))\nreturn 1.0";
    let d = runtime_error(sandwich(&program(&rt, "import socket", udp)));
    assert!(d.contains("Error"), "{d}");
}

#[test]
fn files_outside_the_scratch_dir_are_neither_written_nor_read() {
    if !sandbox_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("escaped.txt");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "TOPSECRET-4242").unwrap();
    let rt = runtime();
    let write = format!(
        "open({:?}, 'w').write('x')\nreturn 1.0",
        target.display().to_string()
    );
    let d = runtime_error(sandwich(&program(&rt, "", &write)));
    assert!(d.contains("PermissionError"), "{d}");
    assert!(!target.exists());
    let read = format!(
        "raise ValueError(open({:?}).read())",
        secret.display().to_string()
    );
    let d = runtime_error(sandwich(&program(&rt, "", &read)));
    assert!(
        d.contains("PermissionError") && !d.contains("TOPSECRET"),
        "{d}"
    );
    let present = [
        "/etc/shadow",
        "/etc/passwd",
        "/etc/hostname",
        "/root/.profile",
    ]
    .into_iter()
    .filter(|p| std::path::Path::new(p).exists());
    for path in present {
        let attack = format!("raise ValueError(open({path:?}).read())");
        let d = runtime_error(sandwich(&program(&rt, "", &attack)));
        assert!(d.contains("PermissionError"), "{path}: {d}");
    }
    // The worker's own scratch dir stays usable.
    let p = program(
        &rt,
        "",
        "open('tmp.txt', 'w').write('x')\nreturn float(open('tmp.txt').read() == 'x')",
    );
    assert_eq!(
        p.grade(&json!({}), &json!({"k": "attack"})),
        PyOutcome::Reward(1.0)
    );
}

#[test]
fn no_processes_and_no_signals_out() {
    if !sandbox_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("pwned");
    let f = flag.display().to_string();
    let rt = runtime();
    let system =
        format!("rc = os.system('touch {f}')\nraise RuntimeError('os.system returned %r' % rc)");
    let d = runtime_error(sandwich(&program(&rt, "import os", &system)));
    assert!(d.contains("os.system returned"), "{d}");
    let sub = format!("subprocess.run(['touch', {f:?}])\nreturn 1.0");
    let d = runtime_error(sandwich(&program(&rt, "import subprocess", &sub)));
    assert!(d.contains("PermissionError"), "{d}");
    assert!(!flag.exists(), "a process escaped the sandbox");
    let bomb = "while True:\n    os.fork()";
    let d = runtime_error(sandwich(&program(&rt, "import os", bomb)));
    assert!(d.contains("PermissionError"), "{d}");
    let kill = "os.kill(os.getppid(), 0)\nreturn 1.0";
    let d = runtime_error(sandwich(&program(&rt, "import os", kill)));
    assert!(d.contains("PermissionError"), "{d}");
    let mp =
        "import multiprocessing\np = multiprocessing.Process(target=print)\np.start()\nreturn 1.0";
    let d = runtime_error(sandwich(&program(&rt, "", mp)));
    assert!(d.contains("Error"), "{d}");
    // Threads still work.
    let threads = "t = threading.Thread(target=lambda: None)\nt.start()\nt.join()\nreturn 1.0";
    let p = program(&rt, "import threading", threads);
    assert_eq!(
        p.grade(&json!({}), &json!({"k": "attack"})),
        PyOutcome::Reward(1.0)
    );
}

#[test]
fn the_engine_environment_is_invisible() {
    if !sandbox_or_skip() {
        return;
    }
    // Workers get a cleared environment plus a fixed list: none of the engine's variables
    // (cargo sets several CARGO_* ones for this test process).
    assert!(std::env::vars().any(|(k, _)| k.starts_with("CARGO")));
    let rt = runtime();
    let only_fixed = "allowed = {'PATH', 'LANG', 'LC_ALL', 'HOME', 'TMPDIR', 'OPENBLAS_NUM_THREADS',\n           'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'NUMEXPR_NUM_THREADS'}\nextra = sorted(set(os.environ) - allowed)\nif extra:\n    raise ValueError(extra)\nreturn 1.0";
    let p = program(&rt, "import os", only_fixed);
    assert_eq!(
        p.grade(&json!({}), &json!({"k": "attack"})),
        PyOutcome::Reward(1.0)
    );
    let proc_env = "raise ValueError(open('/proc/%d/environ' % os.getppid(), 'rb').read())";
    let d = runtime_error(sandwich(&program(&rt, "import os", proc_env)));
    assert!(d.contains("PermissionError") && !d.contains("CARGO"), "{d}");
}

#[test]
fn fails_closed_when_a_required_layer_is_unavailable() {
    // Landlock ABI 99 does not exist on any kernel: the sandboxed mode must refuse to run the
    // code at all rather than run it unconfined.
    let rt = PythonRuntime::new(PythonOptions {
        landlock_min_abi: 99,
        timeout: Duration::from_secs(1),
        ..PythonOptions::default()
    });
    let p = rt
        .compile(
            "open('/tmp/should-not-run', 'w')\ndef grade(s, i):\n    return 1\n",
            None,
        )
        .unwrap();
    let out = p.grade(&json!({}), &json!({}));
    match out {
        PyOutcome::ServerError {
            error_type,
            details,
        } => {
            assert_eq!(error_type, "sandbox_unavailable");
            assert!(details.contains("Landlock"), "{details}");
        }
        other => panic!("expected sandbox_unavailable, got {other:?}"),
    }
    assert!(p.unavailable().is_some());
}

#[test]
fn process_mode_keeps_timeouts_and_crash_recovery() {
    let rt = PythonRuntime::new(PythonOptions {
        mode: PythonMode::Process,
        timeout: Duration::from_secs(1),
        memory_mib: 512,
        workers: Some(1),
        ..PythonOptions::default()
    });
    let d = runtime_error(sandwich(&program(
        &rt,
        "import ctypes",
        "ctypes.string_at(0)",
    )));
    assert!(d.contains("SIGSEGV"), "{d}");
    let d = runtime_error(sandwich(&program(
        &rt,
        "",
        "return float(sum(range(10**13)))",
    )));
    assert!(d.contains("hard deadline"), "{d}");
    let d = runtime_error(sandwich(&program(&rt, "", "x = bytearray(8 << 30)")));
    assert!(d.contains("memory"), "{d}");
}

#[test]
fn user_and_network_namespace_where_the_kernel_allows_it() {
    if !sandbox_or_skip() {
        return;
    }
    if !sandbox_support().user_netns {
        eprintln!("SKIP: unprivileged user namespaces unavailable; network closed by seccomp/Landlock only");
        return;
    }
    let rt = runtime();
    // Unmapped in the new user namespace: the overflow uid. Only a loopback interface.
    let src = "def grade(s, i):\n    import os\n    devs = [l.split(':')[0].strip() for l in open('/proc/self/net/dev').read().splitlines()[2:]]\n    return float(os.getuid() == 65534 and devs == ['lo'])\n";
    let p = rt.compile(src, None).unwrap();
    assert_eq!(p.grade(&json!({}), &json!({})), PyOutcome::Reward(1.0));
}

#[test]
fn limits_and_host_file_metadata_stay_as_they_are() {
    if !sandbox_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("host.txt");
    std::fs::write(&file, "x").unwrap();
    let rt = runtime();
    let raise = "resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\nreturn 1.0";
    let d = runtime_error(sandwich(&program(&rt, "import resource", raise)));
    assert!(d.contains("Error"), "{d}");
    for attack in [
        format!(
            "os.chmod({:?}, 0o777)\nreturn 1.0",
            file.display().to_string()
        ),
        format!(
            "os.chown({:?}, 1, 1)\nreturn 1.0",
            file.display().to_string()
        ),
    ] {
        let d = runtime_error(sandwich(&program(&rt, "import os", &attack)));
        assert!(d.contains("PermissionError"), "{attack}: {d}");
    }
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&file).unwrap();
    assert_ne!(meta.mode() & 0o777, 0o777);
    assert_ne!(meta.uid(), 1);
}

/// Issue 12 item 7: rebinding builtins and library functions in one sample changes nothing the
/// harness does for the next samples (module state persisting for the grader's own code is
/// documented as allowed).
#[test]
fn the_harness_keeps_its_own_references() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let attack = "builtins.float = lambda *a: 99.0\nbuiltins.int = lambda *a: 99\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 0\nbuiltins.callable = lambda *a: False\nmath.isfinite = lambda x: True\njson.dumps = None\njson.loads = None\nmarshal.loads = None\nstruct.pack = None\nos.write = None\nnumbers.Real.register(str)\nimport __main__\n__main__.err = None\n__main__.make_formatter = None\nreturn 0.5";
    let p = program(
        &rt,
        "import builtins, math, json, marshal, struct, os, numbers",
        attack,
    );
    assert_eq!(sandwich(&p), PyOutcome::Reward(0.5));
    // A str is still not a number after `numbers.Real.register(str)` (in the same worker).
    let src =
        "import numbers\ndef grade(s, i):\n    numbers.Real.register(str)\n    return '0.3'\n";
    let q = rt.compile(src, None).unwrap();
    for _ in 0..2 {
        let d = runtime_error(q.grade(&json!({}), &json!({})));
        assert!(d.contains("str, not a number"), "{d}");
    }
}

/// Issue 12 item 7: bytes a grader writes to the harness's protocol channel are not taken for
/// the reply; the frame's other samples are retried and graded.
#[test]
fn fake_frames_on_the_protocol_channel_fail_only_their_sample() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let attack = "fake = struct.pack('<IB', 27, 66) + (b'\\x00' + struct.pack('<d', 1.0)) * 3\nfor fd in range(3, 1024):\n    try:\n        os.write(fd, fake)\n    except OSError:\n        pass\nreturn 0.5";
    let d = runtime_error(sandwich(&program(&rt, "import os, struct", attack)));
    assert!(d.contains("not a valid frame"), "{d}");
}

/// Issue 12 item 7: a grader that overwrites the progress page (here: forging a consistent
/// record that blames the sample before it) and then kills its worker fails only itself.
#[test]
fn corrupting_the_progress_page_fails_only_its_sample() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let attack = "for line in open('/proc/self/maps'):\n    if 'gradekit-progress' in line or line.rstrip().endswith('/progress'):\n        addr = int(line.split('-')[0], 16)\n        seq, idx = struct.unpack('<II', ctypes.string_at(addr, 8))\n        ctypes.memmove(addr, struct.pack('<II', (seq - 1) & 0xffffffff, (idx - 1) & 0xffffffff), 8)\nos._exit(1)";
    let d = runtime_error(sandwich(&program(&rt, "import ctypes, os, struct", attack)));
    assert!(d.contains("exited with status 1"), "{d}");
    // Garbage instead of a forgery, and a hang instead of an exit.
    let garbage = "for line in open('/proc/self/maps'):\n    if 'gradekit-progress' in line or line.rstrip().endswith('/progress'):\n        ctypes.memmove(int(line.split('-')[0], 16), b'\\xff' * 8, 8)\nreturn float(sum(range(10**13)))";
    let d = runtime_error(sandwich(&program(
        &rt,
        "import ctypes, os, struct",
        garbage,
    )));
    assert!(d.contains("hard deadline"), "{d}");
}

/// Memory outside the address-space limit: in-memory files (memfd) would count against neither
/// `RLIMIT_AS` nor the scratch quota, so they are refused.
#[test]
fn no_anonymous_in_memory_files() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let attack = "fd = os.memfd_create('x')\nos.ftruncate(fd, 1 << 30)\nos.write(fd, b'x' * (1 << 20))\nreturn 1.0";
    let d = runtime_error(sandwich(&program(&rt, "import os", attack)));
    assert!(d.contains("PermissionError"), "{d}");
}

/// System V shared memory would outlive the worker (and reach other processes of the user).
#[test]
fn no_system_v_ipc() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let attack = "libc = ctypes.CDLL(None, use_errno=True)\nid = libc.shmget(0, 1 << 20, 0o1600)\nif id < 0:\n    raise PermissionError('shmget errno %d' % ctypes.get_errno())\nreturn 1.0";
    let d = runtime_error(sandwich(&program(&rt, "import ctypes", attack)));
    assert!(d.contains("PermissionError"), "{d}");
}
