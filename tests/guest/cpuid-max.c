/*
 * cpuid-max: "-cpu max" offers every feature the accelerator has except
 * those that must be asked for.  AVIC and x2AVIC (CPUID Fn8000_000A
 * EDX[13], EDX[18]) are such features: they change how a hypervisor's
 * guests run, so they are on only with "+avic,+x2avic"
 * (docs/specs/amd-avic.rst; the other groups ask for them).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

int main(void)
{
    uint32_t edx = svm_supported() ? cpuid_edx(0x8000000a) : 0;

    tap_group("cpuid-max");
    tap_plan(3);
    diag("CPUID Fn8000_000A EDX = %#x", edx);
    report(npt_supported(), "-cpu max offers SVM with nested paging");
    report(!(edx & AVIC_CPUID_EDX_AVIC), "-cpu max leaves AVIC (EDX[13]) off");
    report(!(edx & AVIC_CPUID_EDX_X2AVIC), "-cpu max leaves x2AVIC (EDX[18]) off");
    return 0;
}
