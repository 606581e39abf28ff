#include "common/thread_sched.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

namespace viewpipe {
namespace {

// The kernel's struct sched_attr (include/uapi/linux/sched/types.h), not in
// glibc's headers before 2.41.
struct KernelSchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

std::atomic<int> pipeline_nice_delta{0};
std::atomic<int64_t> pipeline_slice_us{0};

}  // namespace

Status ApplyThreadSched(const ThreadSched& sched) {
  if (sched.fifo_priority > 0) {
    const sched_param param{.sched_priority = std::clamp(sched.fifo_priority, 1, 99)};
    if (::sched_setscheduler(0, SCHED_FIFO, &param) == 0) return Status::OK();
    const Status fifo = Errno("sched_setscheduler (FIFO)");
    ThreadSched fair = sched;  // no permission: keep the fair scheduler's settings
    fair.fifo_priority = 0;
    const Status st = ApplyThreadSched(fair);
    return st.ok() ? fifo : st;
  }
  const auto tid = static_cast<id_t>(::gettid());
  const int nice = std::clamp(CurrentThreadNice() + sched.nice_delta, -20, 19);
  if (sched.nice_delta != 0 && ::setpriority(PRIO_PROCESS, tid, nice) != 0) {
    return Errno("setpriority");
  }
  if (sched.slice_us <= 0) return Status::OK();
  KernelSchedAttr attr{};
  attr.size = sizeof(attr);
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = nice;
  attr.sched_runtime = static_cast<uint64_t>(sched.slice_us) * 1000;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0u) != 0) return Errno("sched_setattr (slice)");
  return Status::OK();
}

ThreadSched PipelineThreadSched() {
  return {.nice_delta = pipeline_nice_delta.load(), .slice_us = pipeline_slice_us.load()};
}

void SetPipelineThreadSched(const ThreadSched& sched) {
  pipeline_nice_delta.store(sched.nice_delta);
  pipeline_slice_us.store(sched.slice_us);
}

Result<int64_t> CurrentThreadSliceUs() {
  KernelSchedAttr attr{};
  if (::syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0u) != 0) {
    return Errno("sched_getattr");
  }
  return static_cast<int64_t>(attr.sched_runtime / 1000);
}

int CurrentThreadNice() {
  errno = 0;
  return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
}

}  // namespace viewpipe
