/* wharf's default seccomp profile: an allowlist modelled on Docker's default profile (moby's
 * profiles/seccomp/default.json), with its capability- and architecture-conditional rules,
 * rendered as the OCI runtime spec's linux.seccomp object. Pure. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The profile for a container whose effective capabilities are `caps` (caps.h bit mask), on
 * architecture `arch` in Go's spelling ("amd64", "arm64", "386", "arm", "s390x", "ppc64le",
 * "riscv64"; NULL: this host). Unknown syscalls are refused with EPERM (defaultErrnoRet 1);
 * clone3 fails with ENOSYS without CAP_SYS_ADMIN so that libcs fall back to clone.
 * no_x32: the kernel runs no x32 syscalls (oci_host.no_x32), so SCMP_ARCH_X32 is left out of
 * "architectures": an x32 call fails either way, and runc compiles a third less filter. */
json_t *seccomp_default_profile(uint64_t caps, const char *arch, bool no_x32);
