//! The seccomp filter of a sandboxed worker, built here as classic BPF and installed by the
//! harness (`worker.py`, `apply_seccomp`) after Python has started: installing it in `pre_exec`
//! would also forbid the `execve` of the interpreter itself.
//!
//! Policy (research/python-graders.md §5.6): `EPERM` for process creation (fork, vfork, execve,
//! execveat, `clone` without `CLONE_THREAD`), sockets, tracing, namespace/mount changes, kernel
//! keyrings, bpf/perf, io_uring, module loading; signals only to the worker itself (`kill`,
//! `tkill`, `tgkill` whose first argument is the worker's pid); `ENOSYS` for `clone3` so glibc
//! falls back to `clone`, whose flags the filter can see (threads keep working); no rlimit,
//! clock, hostname, chmod/chown or xattr changes; no in-memory files (`memfd_create`: memory the
//! address-space limit and the scratch quota would not see), no System V or message-queue IPC
//! (objects that outlive the worker and reach other processes). Any other
//! architecture than the one compiled for is killed; on x86-64 the x32 ABI is refused.
//! Layout of `struct seccomp_data`: nr at 0, arch at 4, instruction pointer at 8, args at 16.

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
const BPF_JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGE_K: u16 = 0x05 | 0x30; // BPF_JMP | BPF_JGE | BPF_K
const BPF_JSET_K: u16 = 0x05 | 0x40; // BPF_JMP | BPF_JSET | BPF_K
const BPF_RET_K: u16 = 0x06;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG0_LO: u32 = 16; // little-endian: the low 32 bits of args[0]

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: u32 = 0;

/// Whether this build can produce a filter for the running architecture.
pub(crate) const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

#[derive(Clone, Copy)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
}

/// Syscalls answered with `EPERM`.
fn denied() -> Vec<libc::c_long> {
    let mut v = vec![
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_userfaultfd,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_kexec_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_acct,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_pidfd_open,
        libc::SYS_pidfd_send_signal,
        libc::SYS_pidfd_getfd,
        libc::SYS_rt_sigqueueinfo,
        libc::SYS_rt_tgsigqueueinfo,
        libc::SYS_process_madvise,
        // Anonymous in-memory files are shared memory: their pages count against neither
        // RLIMIT_AS (until mapped) nor the scratch quota, so a grader could fill the host's RAM.
        libc::SYS_memfd_create,
        // System V and POSIX message-queue IPC: objects that outlive the worker (a 1 GiB shared
        // segment stays in RAM after it exits) and that reach other processes of the same user.
        libc::SYS_shmget,
        libc::SYS_shmat,
        libc::SYS_shmctl,
        libc::SYS_shmdt,
        libc::SYS_msgget,
        libc::SYS_msgsnd,
        libc::SYS_msgrcv,
        libc::SYS_msgctl,
        libc::SYS_semget,
        libc::SYS_semop,
        libc::SYS_semtimedop,
        libc::SYS_semctl,
        libc::SYS_mq_open,
        libc::SYS_mq_unlink,
        libc::SYS_mq_timedsend,
        libc::SYS_mq_timedreceive,
        libc::SYS_mq_notify,
        libc::SYS_mq_getsetattr,
        libc::SYS_mount_setattr,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsmount,
        libc::SYS_open_tree,
        // Where the worker still holds capabilities (root without a user namespace, e.g. in a
        // container that forbids unshare), these would let it raise its own limits, change the
        // clock, or alter metadata of host files that Landlock's access rights do not cover.
        libc::SYS_setrlimit,
        libc::SYS_prlimit64,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_sethostname,
        libc::SYS_setdomainname,
        libc::SYS_syslog,
        libc::SYS_vhangup,
        libc::SYS_quotactl,
        libc::SYS_kcmp,
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        libc::SYS_fchown,
        libc::SYS_fchownat,
        libc::SYS_setxattr,
        libc::SYS_lsetxattr,
        libc::SYS_fsetxattr,
        libc::SYS_removexattr,
        libc::SYS_lremovexattr,
        libc::SYS_fremovexattr,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_fork,
        libc::SYS_vfork,
        libc::SYS_chmod,
        libc::SYS_chown,
        libc::SYS_lchown,
        libc::SYS_iopl,
        libc::SYS_ioperm,
    ]);
    v
}

/// The filter for a worker whose pid is `pid`, as the bytes of a `struct sock_filter[]` (8 bytes
/// per instruction, native endianness) ready for `PR_SET_SECCOMP`.
pub(crate) fn filter_bytes(pid: u32) -> Vec<u8> {
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let enosys = RET_ERRNO | libc::ENOSYS as u32;
    let mut p: Vec<Insn> = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET_K, RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, OFF_NR),
    ];
    #[cfg(target_arch = "x86_64")]
    {
        // x32 syscalls carry bit 30; refuse them all.
        p.push(jump(BPF_JGE_K, 0x4000_0000, 0, 1));
        p.push(stmt(BPF_RET_K, eperm));
    }
    for nr in denied() {
        p.push(jump(BPF_JEQ_K, nr as u32, 0, 1));
        p.push(stmt(BPF_RET_K, eperm));
    }
    p.push(jump(BPF_JEQ_K, libc::SYS_clone3 as u32, 0, 1));
    p.push(stmt(BPF_RET_K, enosys));
    // clone: allowed only with CLONE_THREAD (a new thread, not a new process).
    p.push(jump(BPF_JEQ_K, libc::SYS_clone as u32, 0, 4));
    p.push(stmt(BPF_LD_W_ABS, OFF_ARG0_LO));
    p.push(jump(BPF_JSET_K, libc::CLONE_THREAD as u32, 0, 1));
    p.push(stmt(BPF_RET_K, RET_ALLOW));
    p.push(stmt(BPF_RET_K, eperm));
    // kill / tkill / tgkill: the first argument must be the worker's own pid.
    for nr in [libc::SYS_kill, libc::SYS_tkill, libc::SYS_tgkill] {
        p.push(jump(BPF_JEQ_K, nr as u32, 0, 4));
        p.push(stmt(BPF_LD_W_ABS, OFF_ARG0_LO));
        p.push(jump(BPF_JEQ_K, pid, 0, 1));
        p.push(stmt(BPF_RET_K, RET_ALLOW));
        p.push(stmt(BPF_RET_K, eperm));
    }
    p.push(stmt(BPF_RET_K, RET_ALLOW));

    let mut out = Vec::with_capacity(p.len() * 8);
    for i in p {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_is_whole_instructions_and_ends_in_allow() {
        let b = filter_bytes(1234);
        assert_eq!(b.len() % 8, 0);
        let n = b.len() / 8;
        assert!(n < 4096, "BPF_MAXINSNS");
        let last = &b[b.len() - 8..];
        assert_eq!(u16::from_ne_bytes([last[0], last[1]]), BPF_RET_K);
        assert_eq!(
            u32::from_ne_bytes([last[4], last[5], last[6], last[7]]),
            RET_ALLOW
        );
    }
}
