#pragma once
// Scheduling of the calling thread under Linux's fair scheduler (EEVDF,
// kernel 6.6+): how soon a thread that wakes up gets a core that another
// thread is using. Used by the request-serving loops (latency-sensitive:
// short slice, optionally a higher weight) and the pipeline's background
// threads (throughput: a lower weight), so that a lookup does not wait
// behind a burst of ingest work on a shared machine (bench/README.md,
// "Features", and docs/features.md "Lookup latency").
//
// All calls act on the calling thread only and never fail hard: they
// return the error (an old kernel, no CAP_SYS_NICE for a negative nice)
// for the caller to log; the thread then keeps its current scheduling.

#include <cstdint>

#include "common/status.h"

namespace viewpipe {

struct ThreadSched {
  // Added to the thread's nice value (inherited from the process, so a
  // process started under `nice -n 19` stays at 19 with 0 here), clamped to
  // -20..19. A weight for the fair scheduler: a thread at nice +5 gets a
  // third of a nice-0 thread's CPU when both want it. < 0 needs CAP_SYS_NICE.
  int nice_delta = 0;
  // The thread's EEVDF slice (the kernel's sched_setattr sched_runtime for
  // SCHED_OTHER, kernel 6.12+; clamped by the kernel to 0.1-100 ms). A
  // short slice gives the thread an earlier virtual deadline, so when it
  // wakes it preempts a thread with the default slice (2.8-3 ms) at once
  // instead of waiting for that thread's slice to end. 0: the kernel default.
  int64_t slice_us = 0;
  // > 0: SCHED_FIFO at this real-time priority (1-99) instead of the fair
  // scheduler (nice_delta and slice_us then do not apply): the thread runs
  // whenever it is ready, ahead of every fair-scheduled thread, as if it
  // had a core of its own. For a thread that blocks between short bursts
  // (a request loop), never for one that can spin. Needs CAP_SYS_NICE (or an
  // RLIMIT_RTPRIO; without it the other fields apply and the error is
  // returned); the kernel's RT throttling keeps a share for the rest.
  int fifo_priority = 0;
};

// Applies sched to the calling thread.
Status ApplyThreadSched(const ThreadSched& sched);

// The scheduling of the pipeline's background threads (the consumer paths'
// runners): the process default, set by `serve` before it starts them
// ({0, 0}: unchanged). Thread safe.
ThreadSched PipelineThreadSched();
void SetPipelineThreadSched(const ThreadSched& sched);

// The calling thread's slice in microseconds as the kernel reports it
// (sched_getattr), or an error when the kernel cannot say.
Result<int64_t> CurrentThreadSliceUs();
// The calling thread's nice value.
int CurrentThreadNice();

}  // namespace viewpipe
