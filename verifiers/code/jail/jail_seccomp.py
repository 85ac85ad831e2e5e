"""The seccomp filters of the jail's processes: the deny-list every child loads, a program
process's refusal of new executable memory, and what a sealed program may not observe. Stdlib and
python3-seccomp only (this runs under Debian's /usr/bin/python3 inside bubblewrap)."""

import errno
import socket
import sys

CLONE_THREAD = 0x00010000
SEALED = "--sealed" in sys.argv

DENIED_SYSCALLS = [
    "fork",
    "vfork",
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "bpf",
    "perf_event_open",
    "io_uring_setup",
    "userfaultfd",
    "add_key",
    "request_key",
    "keyctl",
    "setsid",
    "setpgid",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
]


PROT_EXEC = 0x4


def build_filter(program: bool = False):
    """The seccomp deny-list; a program process's also refuses new executable memory (mmap,
    mprotect with PROT_EXEC): no native code of its own (a written .so, a JIT) can run there."""
    try:
        import seccomp
    except ImportError:
        return None
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    if program:
        for name in ("mmap", "mprotect", "pkey_mprotect"):
            try:
                f.add_rule(seccomp.ERRNO(errno.EPERM), name, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
            except Exception:
                pass
    for name in DENIED_SYSCALLS:
        try:
            f.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except Exception:
            pass  # a syscall this kernel/arch does not have
    f.add_rule(seccomp.ERRNO(errno.EPERM), "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    # clone without CLONE_THREAD is a fork; threads (with CLONE_THREAD) stay allowed
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone
    return f


SECCOMP = build_filter()
PROGRAM_SECCOMP = build_filter(program=True)

# What a sealed program may not observe: clocks of any kind (every vDSO entry point of a sealed
# worker was turned into a real system call by the host, so these are all of them), entropy, its
# own process and its use of resources. Reading one ends the process (SIGSYS): such a program has
# no single answer. One exception: CPython reads the monotonic clock itself on every lock it takes
# (a deadline it ignores when it waits forever) and takes a failed read as 0, so that read fails
# with EPERM instead (``time.monotonic()`` raises; nothing a program prints can come from it). The
# file system is closed too (a file's times are a clock, a directory listing holds random names),
# with an error a program can see.
CLOCK_MONOTONIC = 1
SEALED_TRAP = (
    "gettimeofday",
    "time",
    "clock_adjtime",
    "adjtimex",
    "getrandom",
    "getpid",
    "getppid",
    "gettid",
    "getpgid",
    "getpgrp",
    "getsid",
    "times",
    "getrusage",
    "sysinfo",
    "getcpu",
    "getitimer",
    "setitimer",
    "alarm",
    "timer_create",
    "timer_gettime",
    "timerfd_create",
    "timerfd_gettime",
    "uname",  # the kernel's version, the host's name: not the program's input
    "sched_getaffinity",
)
SEALED_DENY = (
    "clock_getres",
    "open",
    "openat",
    "openat2",
    "creat",
    "stat",
    "lstat",
    "fstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "getdents",
    "getdents64",
    "getcwd",
    "readlink",
    "readlinkat",
    "access",
    "faccessat",
    "faccessat2",
)


def build_sealed_filter():
    """Stacked on a program's own filter, in a sealed worker, right before the program runs."""
    try:
        import seccomp
    except ImportError:
        return None
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for names, action in ((SEALED_TRAP, seccomp.TRAP), (SEALED_DENY, seccomp.ERRNO(errno.EPERM))):
        for name in names:
            try:
                f.add_rule(action, name)
            except Exception:
                pass  # a syscall this kernel/arch does not have
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clock_gettime", seccomp.Arg(0, seccomp.EQ, CLOCK_MONOTONIC))
    f.add_rule(seccomp.TRAP, "clock_gettime", seccomp.Arg(0, seccomp.NE, CLOCK_MONOTONIC))
    return f


SEALED_SECCOMP = build_sealed_filter() if SEALED else None
