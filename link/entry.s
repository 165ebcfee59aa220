# The entry point of the `gradekit` executable when glibc is linked in statically (x86-64
# Linux; build.rs links with `-e gradekit_entry` after a C program linked the same way ran).
# It does the first part of glibc's start-up faster, then jumps to glibc's `_start`, which
# runs as it would have as the entry point (the registers it reads, %rsp and %rdx, are as the
# kernel left them):
#
# 1. It maps each writable segment (RELRO, then .data/.bss) with one
#    `madvise(MADV_POPULATE_WRITE)`. glibc's start-up writes a relocated address into nearly
#    every page of RELRO (vtables, panic locations, string tables, the GOT: ~60 pages) and
#    writes pages of .data and .bss; each first write of a page was a page fault — a trap,
#    then a copy of the file's page (or a zeroed page). The call makes the same copies
#    without a trap per page. It changes no byte. A kernel without MADV_POPULATE_WRITE
#    (before 5.14) refuses it, and the pages fault in as before.
# 2. It applies the packed relative relocations (DT_RELR: ~16,000 addresses) itself, a set
#    bit at a time (`bsf`), then sets DT_RELRSZ to 0 so that glibc's
#    `_dl_relocate_static_pie` finds none left. glibc's loop tests every bit of each bitmap
#    with a branch that mispredicts about every other bit. Every other relocation (RELA:
#    the IRELATIVE ones of glibc's string functions) is left to glibc, as before.
#
# BENCHMARKS.md, "#17 start14". Nothing here is relocated itself (it runs before the
# relocations are applied): addresses come from `__ehdr_start` (the ELF header the linker maps
# at the image's start) by %rip-relative `lea`, and the load bias from the PT_LOAD of file
# offset 0 (which maps that header). Without that PT_LOAD it does nothing; without PT_DYNAMIC
# or DT_RELR it only maps. No stack is used; the
# registers it changes besides %rdx (restored) are ones `_start` does not read.

    .section .text.gradekit_entry,"ax",@progbits
    .globl gradekit_entry
    .type gradekit_entry,@function
gradekit_entry:
    mov %rdx, %r12                  # rtld_fini, for `_start`
    lea __ehdr_start(%rip), %r8     # the ELF header, mapped where the image starts
    mov 0x20(%r8), %r15             # e_phoff
    add %r8, %r15                   # %r15: the program headers
    movzwl 0x38(%r8), %r14d         # %r14: e_phnum
    movzwl 0x36(%r8), %r13d         # %r13: e_phentsize
    # %r8: the load bias, where the ELF header is less the link-time address of the
    # PT_LOAD that maps it (file offset 0).
    mov %r15, %rsi
    mov %r14d, %ecx
2:
    test %ecx, %ecx
    jz 9f
    cmpl $1, (%rsi)                 # PT_LOAD
    jne 3f
    cmpq $0, 8(%rsi)                # p_offset
    je 12f
3:
    add %r13, %rsi
    dec %ecx
    jmp 2b
12:
    sub 0x10(%rsi), %r8
    # 1. Every writable PT_LOAD: madvise(its pages, MADV_POPULATE_WRITE).
    mov %r15, %r9
    mov %r14d, %r10d
4:
    test %r10d, %r10d
    jz 6f
    cmpl $1, (%r9)                  # PT_LOAD
    jne 5f
    testl $2, 4(%r9)                # PF_W
    jz 5f
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
    syscall                         # (changes %rax, %rcx, %r11)
5:
    add %r13, %r9
    dec %r10d
    jmp 4b
    # 2. The dynamic section (PT_DYNAMIC): DT_RELR (36) and DT_RELRSZ (35).
6:
    mov %r15, %rsi
    mov %r14d, %ecx
7:
    test %ecx, %ecx
    jz 9f
    cmpl $2, (%rsi)                 # PT_DYNAMIC
    je 8f
    add %r13, %rsi
    dec %ecx
    jmp 7b
8:
    mov 0x10(%rsi), %rsi
    add %r8, %rsi                   # the first entry (tag, value)
    xor %edi, %edi                  # DT_RELR's value, the table's link-time address
    xor %edx, %edx                  # where DT_RELRSZ's value is
20:
    mov (%rsi), %rax
    test %rax, %rax                 # DT_NULL ends it
    jz 22f
    cmp $36, %rax
    jne 21f
    mov 8(%rsi), %rdi
21:
    cmp $35, %rax
    jne 23f
    lea 8(%rsi), %rdx
23:
    add $16, %rsi
    jmp 20b
22:
    test %rdi, %rdi
    jz 9f
    test %rdx, %rdx
    jz 9f
    add %r8, %rdi                   # %rdi: the table
    mov (%rdx), %rcx
    add %rdi, %rcx                  # %rcx: its end
    movq $0, (%rdx)                 # glibc's pass: nothing left
    xor %r9d, %r9d                  # %r9: where the next bitmap starts
    # An even entry is an address to relocate; the next bitmap starts after it. An odd
    # entry is a bitmap: bit i + 1 set relocates where + 8 * i, i < 63.
24:
    cmp %rcx, %rdi
    jae 9f
    mov (%rdi), %rax
    add $8, %rdi
    test $1, %al
    jnz 25f
    lea (%r8,%rax), %r9
    add %r8, (%r9)
    add $8, %r9
    jmp 24b
25:
    shr %rax
    jz 27f
26:
    bsf %rax, %r10
    add %r8, (%r9,%r10,8)
    lea -1(%rax), %r11
    and %r11, %rax
    jnz 26b
27:
    add $504, %r9                   # 63 * 8
    jmp 24b
9:
    mov %r12, %rdx
    jmp _start
    .size gradekit_entry, .-gradekit_entry

    # No executable stack (the C probe's linker would otherwise assume one).
    .pushsection .note.GNU-stack,"",@progbits
    .popsection
