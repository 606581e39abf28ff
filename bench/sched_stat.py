"""Run-queue wait of threads, from /proc/<pid>/task/<tid>/schedstat (Linux):
how long a thread that was ready to run waited for a core. Used by
bench/features_step.py to say whether a latency tail is the server's loop
or the load tool waiting behind other threads on a shared machine.

  snapshot(pid, comm=None) -> {tid: (cpu_ns, wait_ns, timeslices)}
  Sampler(pid): samples a running process's threads until stop(); its
  totals are the last values seen per thread (a thread's counters only grow).
"""

import os
import threading


def snapshot(pid, comm=None):
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            if comm is not None:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() != comm:
                        continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait, n = (int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
        out[tid] = (run, wait, n)
    return out


def delta(before, after):
    """(cpu_ns, wait_ns, timeslices) summed over threads, after - before."""
    tot = [0, 0, 0]
    for tid, v in after.items():
        b = before.get(tid, (0, 0, 0))
        for i in range(3):
            tot[i] += v[i] - b[i]
    return tuple(tot)


class Sampler:
    """Samples a child process's threads every `every` seconds."""

    def __init__(self, pid, every=0.2):
        self.pid, self.every = pid, every
        self.first, self.last = snapshot(pid), {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every):
            snap = snapshot(self.pid)
            if snap:
                self.last.update(snap)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return delta(self.first, self.last)


def threads_named(pid, prefix):
    """The ids of pid's threads whose name starts with prefix."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip().startswith(prefix):
                    yield tid
        except OSError:
            continue


def set_sched(pid, prefix, slice_us, nice):
    """Gives pid's threads whose name starts with prefix an EEVDF slice
    (0: the kernel's default) and a nice value, with sched_setattr (x86_64);
    for A/B runs on one server (bench/features.sh). Returns how many."""
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    n = 0
    for tid in threads_named(pid, prefix):
        # struct sched_attr: size, policy (SCHED_OTHER), flags, nice, priority,
        # runtime (the slice, ns), deadline, period, util min/max.
        attr = ctypes.create_string_buffer(
            struct.pack("IIQiIQQQII", 56, 0, 0, nice, 0, slice_us * 1000, 0, 0, 0, 0))
        if libc.syscall(314, int(tid), attr, 0) != 0:
            raise OSError(ctypes.get_errno(), f"sched_setattr {tid}")
        n += 1
    return n


def set_fifo(pid, prefix, prio):
    """Gives pid's threads whose name starts with prefix SCHED_FIFO at prio
    (0: back to SCHED_OTHER). Returns how many."""
    n = 0
    policy = os.SCHED_FIFO if prio > 0 else os.SCHED_OTHER
    for tid in threads_named(pid, prefix):
        os.sched_setscheduler(int(tid), policy, os.sched_param(prio))
        n += 1
    return n


if __name__ == "__main__":
    import sys
    # sched_stat.py set PID PREFIX SLICE_US NICE
    if len(sys.argv) == 6 and sys.argv[1] == "set":
        pid, prefix, slice_us, nice = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        print(f"{set_sched(pid, prefix, slice_us, nice)} threads {prefix}*: slice {slice_us} us, "
              f"nice {nice}", file=sys.stderr)
    # sched_stat.py fifo PID PREFIX PRIO (0: SCHED_OTHER again)
    elif len(sys.argv) == 5 and sys.argv[1] == "fifo":
        pid, prefix, prio = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
        print(f"{set_fifo(pid, prefix, prio)} threads {prefix}*: SCHED_FIFO {prio}", file=sys.stderr)
    else:
        sys.exit("usage: sched_stat.py set PID PREFIX SLICE_US NICE | fifo PID PREFIX PRIO")
