"""Regenerates `link/hot_text.txt`: the code a `gradekit score` run executes, which `build.rs`
places together at the start of the executable's code (see the list's header).

Runs the binary over every grader and input given, under `perf` (Linux, `perf` with access to
the `exceptions:page_fault_user` tracepoint and sampling), and lists
- each function where an instruction fetch took a page fault (code run for the first time in
  its 64 KiB window: these are the faults the layout removes), and
- each function sampled while running (`-F 49999`, the code run long enough to matter),
as patterns that do not depend on the build: a Rust function by its mangled path without the
hash (`_ZN…17h`, matching every build and, for a generic function, every instance: a generic
family over 16 KiB is kept only when it faulted), a glibc/libm function by its archive member
(glibc's archives are not built with one section per function). Run after a release build:

    cargo build --release --bin gradekit
    python3 scripts/hot_text.py            # then rebuild: build.rs reads link/hot_text.txt

Entries of the present list that still name a function of the binary are kept (laid out
together, a function no longer faults and may run too briefly to be sampled); entries that stop
matching (renamed functions) are dropped, and harmless until then: that code is laid out as usual.
"""

import argparse
import collections
import os
import re
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILY_BYTES = 16 << 10
METRICS = ["rouge_l", "bleu", "gleu", "meteor", "fuzzy_match"]


def pattern(sym):
    """The build-independent form of a symbol, `None` for a C one."""
    m = re.match(r"(_ZN.*?)17h[0-9a-f]{16}E(\.llvm\.\d+)?$", sym)
    if m:
        return m.group(1) + "17h"
    m = re.match(r"(_R\w*?)(\.llvm\.\d+)?$", sym)
    return m.group(1) if m else None


def symbols(binary):
    """(address, size, name) of the binary's functions, by address."""
    out = subprocess.run(
        ["nm", "-n", "-S", "--defined-only", binary], capture_output=True, text=True, check=True
    ).stdout
    syms = []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwW":
            syms.append((int(p[0], 16), int(p[1], 16), p[3]))
    return syms


def graders(tmp):
    paths = []
    for metric in METRICS:
        path = os.path.join(tmp, f"{metric}.json")
        with open(path, "w") as f:
            f.write(
                '{"type":"text_similarity","name":"%s","input":"{{sample.output_text}}",'
                '"reference":"{{item.reference}}","evaluation_metric":"%s"}' % (metric, metric)
            )
        paths.append(path)
    for rel in ["fixtures/examples/string_check.json", "fixtures/examples/multi.json"]:
        paths.append(os.path.join(ROOT, rel))
    return paths


def record(binary, runs, perf_args, out_data, fields):
    script = " ; ".join(
        f"rm -f {r['out']}; {binary} score -q --threads 1 -g {r['grader']} {r['input']} -o {r['out']}"
        for r in runs
    )
    subprocess.run(
        ["perf", "record", "-q", *perf_args, "-o", out_data, "--", "sh", "-c", script],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return subprocess.run(
        ["perf", "script", "-i", out_data, "--no-demangle", "--show-mmap-events", "-F", fields],
        capture_output=True, text=True, check=True,
    ).stdout


def faulted(text, binary, syms):
    """Functions where an instruction fetch faulted, in order of first fault."""
    import bisect

    addrs = [a for a, _, _ in syms]
    base, seen = {}, collections.OrderedDict()
    for line in text.splitlines():
        m = re.search(r"^\s*(\d+)\s+PERF_RECORD_MMAP2 \d+/\d+: \[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ "
                      r"(0x[0-9a-f]+) .*r-xp (\S+)", line)
        if m and os.path.realpath(m.group(5)) == os.path.realpath(binary):
            # The executable segment's first page: its address minus its file offset is the
            # load address of a position-independent executable (page-aligned offsets here).
            base[m.group(1)] = int(m.group(2), 16) - int(m.group(4), 16)
            continue
        m = re.search(r"^\s*(\d+)\s.*address=(0x[0-9a-f]+) ip=0x[0-9a-f]+ error_code=(0x[0-9a-f]+)", line)
        if not m or m.group(1) not in base or not int(m.group(3), 16) & 0x10:
            continue
        # The segment maps the file page at `base`; symbol addresses are link-time addresses,
        # the same as file offsets up to the segment's (page-aligned) delta, found below.
        seen.setdefault((m.group(1), int(m.group(2), 16) - base[m.group(1)]), None)
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "gradekit"))
    ap.add_argument("--inputs", default="/tmp/sm/p2k1.jsonl,/tmp/sm/empty.jsonl",
                    help="comma-separated JSONL inputs (a few thousand lines, and an empty file)")
    ap.add_argument("--rounds", type=int, default=16, help="sampled rounds over every grader/input")
    ap.add_argument("--out", default=os.path.join(ROOT, "link", "hot_text.txt"))
    a = ap.parse_args()
    syms = symbols(a.binary)
    by_addr = [s[0] for s in syms]
    family = collections.Counter()
    for _, size, name in syms:
        p = pattern(name)
        if p:
            family[p] += size
    # Link-time address of the executable segment's first file page (see `faulted`).
    hdr = subprocess.run(["readelf", "-lW", a.binary], capture_output=True, text=True, check=True).stdout
    seg = next(l.split() for l in hdr.splitlines() if l.strip().startswith("LOAD") and "R E" in l)
    delta = (int(seg[2], 16) & ~0xFFF) - (int(seg[1], 16) & ~0xFFF)

    import bisect

    def at(addr):
        i = bisect.bisect_right(by_addr, addr) - 1
        return syms[i][2] if i >= 0 else None

    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            {"grader": g, "input": i, "out": os.path.join(tmp, "out.jsonl")}
            for g in graders(tmp)
            for i in a.inputs.split(",")
        ]
        hot, faults = collections.OrderedDict(), collections.OrderedDict()
        text = record(a.binary, runs, ["-e", "exceptions:page_fault_user"], os.path.join(tmp, "f.data"),
                      "pid,trace")
        for _, off in faulted(text, a.binary, syms):
            name = at(off + delta)
            if name:
                faults.setdefault(name, None)
        text = record(a.binary, runs * a.rounds, ["-F", "49999"], os.path.join(tmp, "s.data"),
                      "pid,ip,sym,dso")
        exe = os.path.basename(a.binary)
        for line in text.splitlines():
            m = re.match(r"\s*\d+\s+[0-9a-f]+\s+(\S+)\s+\((\S+)\)", line)
            if m and os.path.basename(m.group(2)) == exe:
                hot.setdefault(m.group(1), None)

    libs = {}
    for lib in ["libc.a", "libm.a"]:
        path = subprocess.run(["cc", f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip()
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            head = f.read(200)
        if head.startswith(b"/* GNU ld script"):  # libm.a: GROUP(libm-2.xx.a libmvec.a)
            members = re.findall(rb"(/\S+\.a)", open(path, "rb").read())
            paths = [m.decode() for m in members]
        else:
            paths = [path]
        for p in paths:
            out = subprocess.run(["nm", "-A", "--defined-only", p], capture_output=True, text=True).stdout
            for line in out.splitlines():
                q = line.split()
                if len(q) == 3 and q[1] in "tTiW":
                    libs.setdefault(q[2], (lib.split(".")[0], q[0].split(":")[1]))

    # Plain names (assembly such as `gradekit_entry` in `.text.gradekit_entry`) are kept by name.
    names = {name for _, _, name in syms}
    lines, done = [], set()
    # The entries of the list the binary was built with that still name its code: a function
    # laid out by them no longer faults, and may run too briefly to be sampled.
    if os.path.exists(a.out):
        for line in open(a.out):
            line = line.strip()
            kind, _, what = line.partition(" ")
            if (kind == "sym" and (what in family or what in names)) or kind in ("libc", "libm", "crt"):
                if line not in done:
                    done.update([line, what])
                    lines.append(line)
    for name in list(faults) + list(hot):
        p = pattern(name)
        if p:
            if p in done or (name not in faults and family[p] > FAMILY_BYTES):
                continue
            entry = f"sym {p}"
        elif name in libs:
            entry = f"{libs[name][0]} {libs[name][1]}"
        elif name == "_start":
            entry = "crt rcrt1.o"
        else:
            continue
        if entry not in done:
            done.add(entry)
            done.add(p)
            lines.append(entry)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(HEADER)
        f.write("\n".join(lines) + "\n")
    print(f"{a.out}: {len(lines)} entries ({len(faults)} functions faulted, {len(hot)} sampled)")


HEADER = """\
# The code a `gradekit score` run executes, laid out together at the start of the `gradekit`
# executable's code by build.rs (a linker script section `.text.hot`; see build.rs). Generated by
# scripts/hot_text.py from a profile of `score --threads 1` over the metric graders and
# fixtures/examples/{string_check,multi}.json on a few thousand lines and on an empty file.
# `sym P`: the functions whose section is `.text.P*` (a Rust path without its hash); `libc O` /
# `libm O`: the code of member O of glibc's static archive; `crt O`: a start file.
"""

if __name__ == "__main__":
    main()
