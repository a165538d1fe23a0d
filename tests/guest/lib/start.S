/*
 * Boot: multiboot entry (32-bit protected mode, paging off), identity
 * paging of the first 4 GiB with 2 MiB pages, long mode, then C.
 * Also the AP real-mode trampoline (copied to 0x8000 at run time), the
 * interrupt stubs and the *_safe MSR helpers.
 *
 * The image is linked as a 64-bit ELF and converted to elf32-i386,
 * because QEMU's -kernel only loads 32-bit multiboot ELFs.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define STACK_SIZE      16384
#define MAX_CPUS        16
#define TRAMP_BASE      0x8000

    .section .multiboot, "a"
    .align 4
mb_header:
    .long 0x1badb002            /* magic */
    .long 0                     /* flags */
    .long -0x1badb002           /* checksum */

    .section .bss
    .align 4096
    .globl pml4, pdpt, pd
pml4:   .space 4096
pdpt:   .space 4096
pd:     .space 4096 * 4         /* 4 x 1 GiB of 2 MiB pages */
    .globl stacks
    .align 16
stacks: .space STACK_SIZE * MAX_CPUS

    .data
    .align 16
    .globl gdt64
gdt64:
    .quad 0                     /* 0x00 null */
    .quad 0x00af9b000000ffff    /* 0x08 64-bit code */
    .quad 0x00cf93000000ffff    /* 0x10 data */
    .quad 0x00cf9b000000ffff    /* 0x18 32-bit code */
gdt64_end:
gdt64_desc:
    .word gdt64_end - gdt64 - 1
    .quad gdt64

/* 32-bit, flat segments: PAE, CR3, EFER.LME/NXE, GDT, paging on. */
/* Flat data segments, null FS and GS: every CPU's first step in long mode. */
.macro LOAD_DATA_SEGMENTS
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
.endm

.macro ENTER_LONG_MODE
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx
    rdmsr
    or $0x900, %eax             /* LME | NXE */
    wrmsr
    lgdt gdt64_desc
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG | PE */
    and $~0x60000000, %eax      /* CD, NW off */
    mov %eax, %cr0
.endm

    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    /* zero .bss (page tables and stacks live there) */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    /* pd[i] = i * 2 MiB | PS | RW | P, for the first 4 GiB */
    mov $pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    cmp $2016, %ecx             /* 0xfc000000 and up: MMIO, uncached */
    jb 2f
    or $0x18, %eax              /* PCD | PWT */
2:  mov %eax, (%edi,%ecx,8)
    mov %ecx, %eax
    shr $11, %eax               /* high dword: address bits 63:32 */
    mov %eax, 4(%edi,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 1b
    /* pdpt[0..3] -> pd + n*4096 */
    mov $pdpt, %edi
    mov $pd + 3, %eax
    mov %eax, 0(%edi)
    add $4096, %eax
    mov %eax, 8(%edi)
    add $4096, %eax
    mov %eax, 16(%edi)
    add $4096, %eax
    mov %eax, 24(%edi)
    mov $pml4, %edi
    mov $pdpt + 3, %eax
    mov %eax, (%edi)

    ENTER_LONG_MODE
    ljmp $0x08, $start64

    .code64
start64:
    LOAD_DATA_SEGMENTS
    lgdt gdt64_desc(%rip)
    mov $stacks + STACK_SIZE, %rsp
    call bsp_main
1:  hlt
    jmp 1b

/* APs arrive here from the trampoline, in long mode. */
    .globl ap_start64
ap_start64:
    LOAD_DATA_SEGMENTS
    mov $1, %eax
    cpuid
    shr $24, %ebx               /* initial APIC ID */
    mov %ebx, %edi
    cmp $MAX_CPUS, %ebx
    jae 9f
    mov %rbx, %rax
    inc %rax
    imul $STACK_SIZE, %rax
    lea stacks(%rip), %rsp
    add %rax, %rsp
    call ap_main
9:  cli
    hlt
    jmp 9b

/*
 * AP trampoline: copied to TRAMP_BASE (SIPI vector 0x08).  Runs in real
 * mode, so every address is computed relative to TRAMP_BASE.
 */
    .globl tramp_start, tramp_end
    .code16
tramp_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    lgdtl TRAMP_BASE + (tramp_gdt_desc - tramp_start)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x18, $TRAMP_BASE + (tramp32 - tramp_start)
    .code32
tramp32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    ENTER_LONG_MODE
    ljmp $0x08, $ap_start64
    .align 8
tramp_gdt:
    .quad 0
    .quad 0x00af9b000000ffff
    .quad 0x00cf93000000ffff
    .quad 0x00cf9b000000ffff
tramp_gdt_desc:
    .word 4 * 8 - 1
    .long TRAMP_BASE + (tramp_gdt - tramp_start)
tramp_end:

/* ---- interrupt stubs: 16 bytes each, isr_stubs + 16 * vector ---- */
    .code64
    .text
    .align 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call isr_dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

/*
 * int rdmsr_safe(uint32_t msr, uint64_t *val)
 * int wrmsr_safe(uint32_t msr, uint64_t val)
 * Return -1 on success, else the exception vector.  The exception
 * handler sees %gs:8 (fixup RIP), resumes there and stores the vector
 * in %gs:16.
 */
    .globl rdmsr_safe, wrmsr_safe, rdmsr_safe_insn, wrmsr_safe_insn
rdmsr_safe:
    lea 1f(%rip), %rax
    mov %rax, %gs:8
    mov %edi, %ecx
    mov $0xdeadbeef, %eax
    xor %edx, %edx
rdmsr_safe_insn:
    rdmsr
    movq $0, %gs:8
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, (%rsi)
    mov $-1, %eax
    ret
1:  mov %gs:16, %eax
    ret

wrmsr_safe:
    lea 1f(%rip), %rax
    mov %rax, %gs:8
    mov %edi, %ecx
    mov %esi, %eax
    mov %rsi, %rdx
    shr $32, %rdx
wrmsr_safe_insn:
    wrmsr
    movq $0, %gs:8
    mov $-1, %eax
    ret
1:  mov %gs:16, %eax
    ret
