/*
 * void svm_vmrun(struct guest_regs *regs, uint64_t vmcb_pa)
 *
 * Loads the L2's general registers (RAX and RSP live in the VMCB), runs
 * VMRUN and stores them back after the #VMEXIT.  VMRUN saves the host's
 * RSP, RAX and RIP in the host save area, so after the exit RSP is ours
 * again and only the callee-saved registers need restoring.
 *
 * guest_entry: where every L2 starts.  RDI = function, RSI = argument;
 * when the function returns, VMMCALL(HC_DONE).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

    .text
    .code64
    .globl svm_vmrun
svm_vmrun:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi                   /* regs */
    mov %rsi, %rax              /* VMCB */
    mov 0(%rdi), %rbx
    mov 8(%rdi), %rcx
    mov 16(%rdi), %rdx
    mov 24(%rdi), %rsi
    mov 40(%rdi), %rbp
    mov 48(%rdi), %r8
    mov 56(%rdi), %r9
    mov 64(%rdi), %r10
    mov 72(%rdi), %r11
    mov 80(%rdi), %r12
    mov 88(%rdi), %r13
    mov 96(%rdi), %r14
    mov 104(%rdi), %r15
    mov 32(%rdi), %rdi
    vmrun %rax
    xchg (%rsp), %rdi           /* rdi = regs, stack slot = guest rdi */
    mov %rbx, 0(%rdi)
    mov %rcx, 8(%rdi)
    mov %rdx, 16(%rdi)
    mov %rsi, 24(%rdi)
    mov %rbp, 40(%rdi)
    mov %r8, 48(%rdi)
    mov %r9, 56(%rdi)
    mov %r10, 64(%rdi)
    mov %r11, 72(%rdi)
    mov %r12, 80(%rdi)
    mov %r13, 88(%rdi)
    mov %r14, 96(%rdi)
    mov %r15, 104(%rdi)
    pop %rax
    mov %rax, 32(%rdi)
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

    .globl guest_entry
guest_entry:
    mov %rdi, %rax
    mov %rsi, %rdi
    and $~0xf, %rsp
    call *%rax
    xor %eax, %eax              /* HC_DONE */
    vmmcall
    ud2

/*
 * L2 APIC access helpers with fixed instruction encodings, so that the
 * L1 can skip a faulting access without an instruction decoder:
 *   l2_mmio_read32(addr)        8b 07        mov (%rdi), %eax   (2 bytes)
 *   l2_mmio_write32(addr, v)    89 37        mov %esi, (%rdi)   (2 bytes)
 *   l2_rdmsr(msr)               0f 32        rdmsr              (2 bytes)
 *   l2_wrmsr(msr, v)            0f 30        wrmsr              (2 bytes)
 * The labels *_insn mark the instruction, for the RIP checks.
 */
    .globl l2_mmio_read32, l2_mmio_read32_insn
l2_mmio_read32:
    mov $0xdeadbeef, %eax
l2_mmio_read32_insn:
    .byte 0x8b, 0x07
    ret

    .globl l2_mmio_write32, l2_mmio_write32_insn
l2_mmio_write32:
l2_mmio_write32_insn:
    .byte 0x89, 0x37
    ret

    .globl l2_rdmsr, l2_rdmsr_insn
l2_rdmsr:
    mov %edi, %ecx
    mov $0xdeadbeef, %eax
    xor %edx, %edx
l2_rdmsr_insn:
    .byte 0x0f, 0x32
    shl $32, %rdx
    or %rdx, %rax
    ret

    .globl l2_wrmsr, l2_wrmsr_insn
l2_wrmsr:
    mov %edi, %ecx
    mov %esi, %eax
    mov %rsi, %rdx
    shr $32, %rdx
l2_wrmsr_insn:
    .byte 0x0f, 0x30
    ret
