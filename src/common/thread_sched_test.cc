#include "common/thread_sched.h"

#include <gtest/gtest.h>

#include <thread>

namespace viewpipe {
namespace {

// Runs fn on a thread of its own, so the test's thread keeps its scheduling.
template <typename Fn>
void OnThread(Fn fn) {
  std::thread t(fn);
  t.join();
}

TEST(ThreadSchedTest, NiceDeltaIsRelativeToTheInheritedNice) {
  OnThread([] {
    const int before = CurrentThreadNice();
    ASSERT_TRUE(ApplyThreadSched({.nice_delta = 2}).ok());
    EXPECT_EQ(CurrentThreadNice(), std::min(19, before + 2));
  });
}

TEST(ThreadSchedTest, NiceIsClampedAt19) {
  OnThread([] {
    ASSERT_TRUE(ApplyThreadSched({.nice_delta = 40}).ok());
    EXPECT_EQ(CurrentThreadNice(), 19);
  });
}

TEST(ThreadSchedTest, ZeroDeltaKeepsTheNiceOfAProcessStartedNiced) {
  OnThread([] {
    ASSERT_TRUE(ApplyThreadSched({.nice_delta = 5}).ok());
    const int niced = CurrentThreadNice();
    // A slice alone must not reset the weight (sched_setattr also sets nice).
    const Status st = ApplyThreadSched({.slice_us = 200});
    EXPECT_EQ(CurrentThreadNice(), niced) << st.ToString();
  });
}

TEST(ThreadSchedTest, SliceIsWhatTheKernelReportsBack) {
  OnThread([] {
    const Status st = ApplyThreadSched({.slice_us = 150});
    auto slice = CurrentThreadSliceUs();
    if (!st.ok() || !slice.ok() || *slice == 0) {
      GTEST_SKIP() << "kernel without custom EEVDF slices (6.12+): " << st.ToString();
    }
    EXPECT_EQ(*slice, 150);
    ASSERT_TRUE(ApplyThreadSched({.slice_us = 1000}).ok());
    EXPECT_EQ(CurrentThreadSliceUs().value(), 1000);
  });
}

}  // namespace
}  // namespace viewpipe
