#include "common/env.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/fault_injection_env.h"
#include "common/scoped_temp_dir.h"

namespace viewpipe {
namespace {

std::string Read(Env* env, const std::string& path) {
  std::string out;
  Status st = env->ReadFileToString(path, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

void Write(Env* env, const std::string& path, std::string_view data, bool sync) {
  auto f = env->NewAppendableFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append(data).ok());
  if (sync) {
    ASSERT_TRUE((*f)->Sync().ok());
  }
  ASSERT_TRUE((*f)->Close().ok());
}

TEST(PosixEnvTest, FilesAndDirectories) {
  ScopedTempDir tmp;
  Env* env = Env::Default();
  std::string dir = JoinPath(tmp.path(), "a/b/c");
  ASSERT_TRUE(env->CreateDirs(dir).ok());
  ASSERT_TRUE(env->CreateDirs(dir).ok());  // idempotent
  std::string path = JoinPath(dir, "f");
  EXPECT_FALSE(env->FileExists(path));
  Write(env, path, "hello", true);
  Write(env, path, " world", false);  // appendable keeps what is there
  EXPECT_EQ(Read(env, path), "hello world");
  EXPECT_EQ(env->FileSize(path).value(), 11u);

  auto raf = env->NewRandomAccessFile(path);
  ASSERT_TRUE(raf.ok());
  std::string part;
  ASSERT_TRUE((*raf)->Read(6, 100, &part).ok());
  EXPECT_EQ(part, "world");  // short read at end of file

  ASSERT_TRUE(env->TruncateFile(path, 5).ok());
  EXPECT_EQ(Read(env, path), "hello");
  ASSERT_TRUE(env->RenameFile(path, JoinPath(dir, "g")).ok());
  auto children = env->GetChildren(dir);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, std::vector<std::string>{"g"});
  ASSERT_TRUE(env->SyncDir(dir).ok());
  ASSERT_TRUE(env->RemoveFile(JoinPath(dir, "g")).ok());
  EXPECT_TRUE(env->RemoveFile(JoinPath(dir, "g")).IsNotFound());
  EXPECT_TRUE(env->FileSize(JoinPath(dir, "g")).status().IsNotFound());
  EXPECT_GT(env->FreeSpace(dir).value(), 0u);
}

TEST(PosixEnvTest, WritableFileTruncatesAndWriteFileAtomicReplaces) {
  ScopedTempDir tmp;
  Env* env = Env::Default();
  std::string path = JoinPath(tmp.path(), "x");
  Write(env, path, "old content", true);
  auto f = env->NewWritableFile(path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Size(), 0u);
  ASSERT_TRUE(env->WriteFileAtomic(path, "new").ok());
  EXPECT_EQ(Read(env, path), "new");
  EXPECT_FALSE(env->FileExists(path + ".tmp"));
}

TEST(PosixEnvTest, LockFileIsExclusive) {
  ScopedTempDir tmp;
  Env* env = Env::Default();
  std::string path = JoinPath(tmp.path(), "LOCK");
  auto first = env->LockFile(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = env->LockFile(path);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("locked"), std::string::npos);
  first.value().reset();
  EXPECT_TRUE(env->LockFile(path).ok());
}

TEST(PosixEnvTest, DirNameAndJoinPath) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
}

// AppendV: writev in chunks of at most 256 pieces, empty pieces skipped;
// the file must hold exactly the concatenation, in order.
TEST(PosixEnvTest, AppendVWritesTheConcatenationInOrder) {
  ScopedTempDir tmp;
  Env* env = Env::Default();
  std::string path = JoinPath(tmp.path(), "v");
  auto f = env->NewAppendableFile(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("head|").ok());
  std::vector<std::string> owned;
  for (int i = 0; i < 700; ++i) owned.push_back(i % 7 == 3 ? "" : std::to_string(i) + ",");
  owned.push_back(std::string(300000, 'z'));  // a piece bigger than one write's worth
  owned.push_back("tail");
  std::vector<std::string_view> pieces(owned.begin(), owned.end());
  std::string want = "head|";
  for (const std::string& s : owned) want += s;
  ASSERT_TRUE((*f)->AppendV(pieces).ok());
  EXPECT_EQ((*f)->Size(), want.size());
  ASSERT_TRUE((*f)->AppendV({}).ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(Read(env, path), want);
}

// Through the fault-injection Env (the default AppendV, piece by piece), a
// full disk tears the write where the space ends, like a real disk.
TEST(FaultInjectionEnvTest, AppendVTearsAtTheSpaceLimit) {
  ScopedTempDir tmp;
  FaultInjectionEnv env(Env::Default());
  std::string path = JoinPath(tmp.path(), "f");
  env.SetSpaceLimit(10);
  auto f = env.NewAppendableFile(path);
  ASSERT_TRUE(f.ok());
  std::vector<std::string_view> pieces = {"1234", "", "5678", "abcd"};
  EXPECT_TRUE((*f)->AppendV(pieces).IsNoSpace());
  EXPECT_EQ(Read(&env, path), "12345678ab");
  EXPECT_EQ((*f)->Size(), 10u);
}

TEST(FaultInjectionEnvTest, DropUnsyncedDataKeepsSyncedPrefix) {
  ScopedTempDir tmp;
  FaultInjectionEnv env(Env::Default());
  std::string path = JoinPath(tmp.path(), "f");
  auto f = env.NewAppendableFile(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(env.SyncDir(tmp.path()).ok());
  ASSERT_TRUE((*f)->Append("durable").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(" lost").ok());
  EXPECT_EQ(Read(&env, path), "durable lost");
  EXPECT_EQ(env.SyncedSize(path), 7u);
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(Read(&env, path), "durable");
  EXPECT_EQ(env.SyncCount(), 1u);
}

TEST(FaultInjectionEnvTest, FileCreatedWithoutDirSyncVanishes) {
  ScopedTempDir tmp;
  FaultInjectionEnv env(Env::Default());
  std::string kept = JoinPath(tmp.path(), "kept");
  std::string lost = JoinPath(tmp.path(), "lost");
  Write(&env, kept, "k", true);
  ASSERT_TRUE(env.SyncDir(tmp.path() + "/").ok());
  Write(&env, lost, "l", true);  // synced data, but the directory entry is not
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_TRUE(env.FileExists(kept));
  EXPECT_FALSE(env.FileExists(lost));
}

TEST(FaultInjectionEnvTest, AtomicWriteSurvivesDrop) {
  ScopedTempDir tmp;
  FaultInjectionEnv env(Env::Default());
  std::string path = JoinPath(tmp.path(), "offsets");
  ASSERT_TRUE(env.WriteFileAtomic(path, "v1").ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(Read(&env, path), "v1");
}

TEST(FaultInjectionEnvTest, WriteAndSyncErrors) {
  ScopedTempDir tmp;
  FaultInjectionEnv env(Env::Default());
  std::string path = JoinPath(tmp.path(), "f");
  auto f = env.NewAppendableFile(path);
  ASSERT_TRUE(f.ok());
  env.SetWriteError(true);
  Status st = (*f)->Append("x");
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ((*f)->Size(), 0u);
  env.SetWriteError(false);
  ASSERT_TRUE((*f)->Append("y").ok());
  env.SetSyncError(true);
  EXPECT_EQ((*f)->Sync().code(), Status::Code::kIOError);
  EXPECT_FALSE(env.SyncDir(tmp.path()).ok());
  EXPECT_EQ(env.SyncedSize(path), 0u);
  env.SetSyncError(false);
  EXPECT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(env.SyncedSize(path), 1u);
}

TEST(FaultInjectionEnvTest, SpaceLimitWritesWhatFitsThenNoSpace) {
  ScopedTempDir tmp;
  FaultInjectionEnv env(Env::Default());
  std::string path = JoinPath(tmp.path(), "f");
  env.SetSpaceLimit(10);
  auto f = env.NewAppendableFile(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("123456").ok());
  EXPECT_EQ(env.FreeSpace(tmp.path()).value(), 4u);
  Status st = (*f)->Append("abcdef");
  EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
  EXPECT_EQ(Read(&env, path), "123456abcd");  // a torn write, like a real disk
  EXPECT_EQ(env.FreeSpace(tmp.path()).value(), 0u);
  EXPECT_TRUE((*f)->Append("z").IsNoSpace());
  ASSERT_TRUE(env.TruncateFile(path, 6).ok());  // freeing space makes room again
  EXPECT_EQ(env.FreeSpace(tmp.path()).value(), 4u);
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(env.RemoveFile(path).ok());
  EXPECT_EQ(env.UsedBytes(), 0u);
  env.SetSpaceLimit(FaultInjectionEnv::kNoLimit);
  EXPECT_GT(env.FreeSpace(tmp.path()).value(), 10u);
}

TEST(FaultInjectionEnvTest, PreexistingFileCountsAsDurable) {
  ScopedTempDir tmp;
  std::string path = JoinPath(tmp.path(), "f");
  Write(Env::Default(), path, "before", true);
  FaultInjectionEnv env(Env::Default());
  Write(&env, path, "+after", false);
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(Read(&env, path), "before");
}

}  // namespace
}  // namespace viewpipe
