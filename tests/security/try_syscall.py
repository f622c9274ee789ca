# SPDX-License-Identifier: MIT
"""Try syscalls a sandboxed process must not be able to use.

In the spirit of bubblewrap's tests/try-syscall.c: each probe makes one
call with harmless arguments and records the errno it got (0 = the call
succeeded).  Runs inside the sandbox (stdlib only, ctypes) and prints one
JSON line, e.g. {"mount": 1, "clone3": 38, ...}.  A few entries are not
errnos: "x32_signal" is the signal that killed a child which made an x32
syscall (0 if it survived).

EXPECT maps each probe to the errno the policy (src/seccomp.c, one row per
rule) must give it: one probe per row at least, plus controls that must
succeed.  tests/security/test_sandbox_standalone.py runs this file in a bare
launcher sandbox, tests/security/test_hostile.py sends its text through the
server's execute API.

Usage: python3 try_syscall.py        (or import it and call probe())
"""
import errno
import ctypes
import json
import os
import platform
import signal
import socket

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# x86_64 syscall numbers (the sandbox refuses other architectures anyway).
NR = {
    "getpid": 39,
    "clone": 56,
    "ptrace": 101,
    "syslog": 103,
    "personality": 135,
    "pivot_root": 155,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "reboot": 169,
    "init_module": 175,
    "clock_settime": 227,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "setns": 308,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "open_tree": 428,
    "fsopen": 430,
    "clone3": 435,
    "vhangup": 153,
    "adjtimex": 159,
    "acct": 163,
    "settimeofday": 164,
    "swapoff": 168,
    "delete_module": 176,
    "quotactl": 179,
    "lookup_dcookie": 212,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "clock_adjtime": 305,
    "finit_module": 313,
    "kexec_file_load": 320,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "move_mount": 429,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWCGROUP = 0x02000000
TIOCLINUX = 0x541C
PTRACE_TRACEME = 0
PTRACE_ATTACH = 16
ADDR_NO_RANDOMIZE = 0x0040000
TIOCSTI = 0x5412
X32_SYSCALL_BIT = 0x40000000


def _sys(name, *args):
    """Make the syscall; return 0 on success, else its errno."""
    cargs = [a if isinstance(a, (ctypes.c_void_p, ctypes.c_char_p,
                                 ctypes.Array))
             else ctypes.c_long(a) for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *cargs)
    if r < 0:
        return ctypes.get_errno()
    return 0


def _clone_flags(flags):
    """clone(flags): a child that appears exits at once."""
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR["clone"]),
                     ctypes.c_long(flags | signal.SIGCHLD),
                     ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0),
                     ctypes.c_long(0))
    if r == 0:
        os._exit(0)
    if r < 0:
        return ctypes.get_errno()
    os.waitpid(r, 0)
    return 0


def _socket(family, kind, proto=0):
    try:
        socket.socket(family, kind, proto).close()
        return 0
    except OSError as e:
        return e.errno


def _ioctl(req):
    c = ctypes.c_char(b"x")
    ctypes.set_errno(0)
    if libc.ioctl(0, ctypes.c_ulong(req), ctypes.byref(c)) < 0:
        return ctypes.get_errno()
    return 0


def _ioctl_tiocsti():
    return _ioctl(TIOCSTI)


def _x32_signal():
    """Fork; the child makes an x32 getpid.  The killing signal, or 0."""
    pid = os.fork()
    if pid == 0:
        libc.syscall(ctypes.c_long(X32_SYSCALL_BIT | NR["getpid"]))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def probe():
    null = ctypes.c_void_p(0)
    r = {}
    r["getpid"] = _sys("getpid")  # control: must be 0
    r["mount"] = _sys("mount", ctypes.c_char_p(b"none"),
                      ctypes.c_char_p(b"/tmp"), ctypes.c_char_p(b"tmpfs"),
                      0, null)
    r["umount2"] = _sys("umount2", ctypes.c_char_p(b"/tmp"), 0)
    r["pivot_root"] = _sys("pivot_root", ctypes.c_char_p(b"."),
                           ctypes.c_char_p(b"."))
    r["open_tree"] = _sys("open_tree", -100, ctypes.c_char_p(b"/tmp"), 1)
    r["fsopen"] = _sys("fsopen", ctypes.c_char_p(b"tmpfs"), 0)
    r["unshare_user"] = _sys("unshare", CLONE_NEWUSER)
    r["unshare_net"] = _sys("unshare", CLONE_NEWNET)
    r["unshare_ns"] = _sys("unshare", CLONE_NEWNS)
    r["setns"] = _sys("setns", 0, 0)
    r["clone_newuser"] = _clone_flags(CLONE_NEWUSER)
    r["clone_plain"] = _clone_flags(0)  # control: fork must work
    r["clone3"] = _sys("clone3", null, 0)
    r["ptrace_traceme"] = _sys("ptrace", PTRACE_TRACEME, 0, 0, 0)
    r["ptrace_attach"] = _sys("ptrace", PTRACE_ATTACH, 1, 0, 0)
    r["bpf"] = _sys("bpf", 0, null, 0)
    r["perf_event_open"] = _sys("perf_event_open", null, 0, -1, -1, 0)
    r["userfaultfd"] = _sys("userfaultfd", 0)
    r["keyctl"] = _sys("keyctl", 0, -3, 0)
    r["io_uring_setup"] = _sys("io_uring_setup", 1, null)
    r["open_by_handle_at"] = _sys("open_by_handle_at", -100, null, 0)
    r["name_to_handle_at"] = _sys("name_to_handle_at", -100,
                                  ctypes.c_char_p(b"/"), null, null, 0)
    r["init_module"] = _sys("init_module", null, 0, ctypes.c_char_p(b""))
    r["swapon"] = _sys("swapon", ctypes.c_char_p(b"/tmp/x"), 0)
    r["reboot"] = _sys("reboot", 0, 0, 0, null)
    r["syslog"] = _sys("syslog", 3, null, 0)
    r["clock_settime"] = _sys("clock_settime", 0, null)
    r["personality_no_aslr"] = _sys("personality", ADDR_NO_RANDOMIZE)
    r["personality_linux"] = _sys("personality", 0)  # control: allowed
    r["tiocsti"] = _ioctl_tiocsti()
    r["tioclinux"] = _ioctl(TIOCLINUX)
    # The rest of the policy table, one probe per row.
    zero = ctypes.create_string_buffer(512)  # a zeroed struct timex etc.
    r["move_mount"] = _sys("move_mount", -1, ctypes.c_char_p(b""), -100,
                           ctypes.c_char_p(b"/tmp"), 0)
    r["fsconfig"] = _sys("fsconfig", -1, 0, null, null, 0)
    r["fsmount"] = _sys("fsmount", -1, 0, 0)
    r["fspick"] = _sys("fspick", -100, ctypes.c_char_p(b"/tmp"), 0)
    r["mount_setattr"] = _sys("mount_setattr", -100,
                              ctypes.c_char_p(b"/tmp"), 0, null, 0)
    r["clone_newns"] = _clone_flags(CLONE_NEWNS)
    r["clone_newnet"] = _clone_flags(CLONE_NEWNET)
    r["clone_newpid"] = _clone_flags(CLONE_NEWPID)
    r["clone_newipc"] = _clone_flags(CLONE_NEWIPC)
    r["clone_newuts"] = _clone_flags(CLONE_NEWUTS)
    r["clone_newcgroup"] = _clone_flags(CLONE_NEWCGROUP)
    r["add_key"] = _sys("add_key", ctypes.c_char_p(b"user"),
                        ctypes.c_char_p(b"sp"), null, 0, -3)
    r["request_key"] = _sys("request_key", ctypes.c_char_p(b"user"),
                            ctypes.c_char_p(b"sp"), null, -3)
    r["io_uring_enter"] = _sys("io_uring_enter", -1, 0, 0, 0, null)
    r["io_uring_register"] = _sys("io_uring_register", -1, 0, null, 0)
    r["kexec_load"] = _sys("kexec_load", 0, 0, null, 0)
    r["kexec_file_load"] = _sys("kexec_file_load", -1, -1, 0, null, 0)
    r["finit_module"] = _sys("finit_module", -1, ctypes.c_char_p(b""), 0)
    r["delete_module"] = _sys("delete_module",
                              ctypes.c_char_p(b"sandpool_none"), 0)
    r["swapoff"] = _sys("swapoff", ctypes.c_char_p(b"/tmp/x"))
    r["acct"] = _sys("acct", null)
    r["quotactl"] = _sys("quotactl", 0, null, 0, null)
    r["lookup_dcookie"] = _sys("lookup_dcookie", 0, null, 0)
    r["vhangup"] = _sys("vhangup")
    r["settimeofday"] = _sys("settimeofday", null, null)
    r["adjtimex"] = _sys("adjtimex", zero)
    r["clock_adjtime"] = _sys("clock_adjtime", 0, zero)
    r["socket_raw_inet"] = _socket(socket.AF_INET, socket.SOCK_RAW, 1)
    r["socket_raw_inet6"] = _socket(socket.AF_INET6, socket.SOCK_RAW, 58)
    r["socket_packet"] = _socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    r["socket_unix"] = _socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if platform.machine() == "x86_64":
        r["x32_signal"] = _x32_signal()
    return r


# What each probe must give: the policy's errno, or 0 for the controls.
EXPECT = {name: errno.EPERM for name in (
    "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    "unshare_user", "unshare_net", "unshare_ns", "setns",
    "clone_newuser", "clone_newns", "clone_newnet", "clone_newpid",
    "clone_newipc", "clone_newuts", "clone_newcgroup",
    "ptrace_traceme", "ptrace_attach", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff",
    "open_by_handle_at", "name_to_handle_at", "tiocsti", "tioclinux",
    "socket_raw_inet", "socket_raw_inet6", "socket_packet",
    "personality_no_aslr", "acct", "quotactl", "lookup_dcookie",
    "vhangup", "syslog", "settimeofday", "clock_settime", "adjtimex",
    "clock_adjtime")}
EXPECT.update({"clone3": errno.ENOSYS, "getpid": 0, "clone_plain": 0,
               "personality_linux": 0, "socket_unix": 0})


def mismatches(result):
    """[(probe, got, want)] where result disagrees with EXPECT."""
    return [(k, result.get(k), v) for k, v in sorted(EXPECT.items())
            if result.get(k) != v]


if __name__ == "__main__":
    print(json.dumps(probe()), flush=True)
