# The entry point of the `gradekit` executable when glibc is linked in statically (x86-64
# Linux; build.rs links with `-e gradekit_entry` after a C program linked the same way ran).
# It maps the executable's writable segments in one system call each, then jumps to glibc's
# `_start`, which runs as it would have as the entry point (the registers it reads, %rsp and
# %rdx, are as the kernel left them).
#
# Why: glibc's start-up (`_dl_relocate_static_pie`) writes a relocated address into nearly
# every page of the RELRO segment (vtables, panic locations, string tables, the GOT: ~60
# pages), and the start-up and `main` write the pages of `.data` and `.bss`. Each first write
# is a page fault — a trap, then a copy of the file's page (or a zeroed page). Here one
# `madvise(MADV_POPULATE_WRITE)` per segment does the same copies without a trap per page
# (BENCHMARKS.md, "#17 start14"). It changes no byte: the pages read as before. A kernel
# without MADV_POPULATE_WRITE (before 5.14) refuses it, and the pages fault in as before.
#
# Nothing here is relocated (it runs before the relocations are applied): addresses come from
# `__ehdr_start` (the ELF header the linker maps at the image's start) by %rip-relative `lea`.
# Registers used: %rax, %rcx and %r11 (the system call), %rdi, %rsi, %rdx, %r8–%r10, %r12,
# %r13; no stack.
# `_start` reads only %rsp (argc, argv, the environment, auxv: untouched) and %rdx (restored).

    .section .text.gradekit_entry,"ax",@progbits
    .globl gradekit_entry
    .type gradekit_entry,@function
gradekit_entry:
    mov %rdx, %r12                  # rtld_fini for `_start`
    lea __ehdr_start(%rip), %r8     # the ELF header, mapped where the image starts
    mov 0x20(%r8), %r9              # e_phoff
    add %r8, %r9                    # the program headers
    movzwl 0x38(%r8), %r10d         # e_phnum
    movzwl 0x36(%r8), %r13d         # e_phentsize
    # The load bias: where PT_PHDR is, less its link-time address. None found: nothing to do.
    mov %r9, %rsi
    mov %r10d, %ecx
5:
    test %ecx, %ecx
    jz 9f
    cmpl $6, (%rsi)                 # PT_PHDR
    je 6f
    add %r13, %rsi
    dec %ecx
    jmp 5b
6:
    mov %r9, %r8
    sub 0x10(%rsi), %r8             # bias = program headers' address - p_vaddr
    # Every writable PT_LOAD: madvise(its pages, MADV_POPULATE_WRITE).
7:
    test %r10d, %r10d
    jz 9f
    cmpl $1, (%r9)                  # PT_LOAD
    jne 8f
    testl $2, 4(%r9)                # PF_W
    jz 8f
    mov 0x10(%r9), %rdi             # p_vaddr
    add %r8, %rdi
    mov 0x28(%r9), %rsi             # p_memsz
    mov %rdi, %rax
    and $0xfff, %eax
    sub %rax, %rdi                  # down to its page
    add %rax, %rsi
    add $0xfff, %rsi
    and $-4096, %rsi                # up to whole pages
    mov $23, %edx                   # MADV_POPULATE_WRITE
    mov $28, %eax                   # SYS_madvise
    syscall
8:
    add %r13, %r9
    dec %r10d
    jmp 7b
9:
    mov %r12, %rdx
    jmp _start
    .size gradekit_entry, .-gradekit_entry
