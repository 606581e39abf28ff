// The ObjectStore contract (object_store.h), run against every
// implementation: LocalObjectStore on a temp dir and S3ObjectStore on a real
// S3-compatible server (moto's server mode; s3_test_server.h). Each case
// uses a fresh key prefix, so cases share one bucket.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "common/env.h"
#include "common/scoped_temp_dir.h"
#include "lake/local_object_store.h"
#include "lake/s3_object_store.h"
#include "lake/s3_test_server.h"

namespace viewpipe {
namespace {

class ObjectStoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (s3() && S3TestServer::Endpoint().empty()) {
      GTEST_SKIP() << "\n\n*** S3 CONFORMANCE CASES SKIPPED: " << S3TestServer::Reason()
                   << " ***\n";
    }
    store_ = Make();
  }

  bool s3() const { return GetParam() == "s3"; }

  std::unique_ptr<ObjectStore> Make() {
    if (!s3()) return std::make_unique<LocalObjectStore>(Env::Default(), tmp_.path() + "/store");
    static std::atomic<int> counter{0};
    S3Options o;
    o.endpoint = S3TestServer::Endpoint();
    o.bucket = "viewpipe-conformance";
    o.prefix = "run-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "/lake";
    o.access_key = "testing";
    o.secret_key = "testing";
    o.multipart_threshold = 6 << 20;
    o.part_bytes = 5 << 20;  // S3's smallest part
    o.cache_dir = tmp_.path() + "/cache";
    auto store = std::make_unique<S3ObjectStore>(o);
    Status st = store->CreateBucket();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return store;
  }

  std::string WriteLocal(const std::string& name, const std::string& data) {
    std::string path = tmp_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }

  static std::string Random(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }

  ScopedTempDir tmp_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(ObjectStoreConformanceTest, PutGetSizeExists) {
  const std::string key = "events/event_date=2025-01-01/hour=03/part-1.parquet";
  EXPECT_FALSE(store_->Exists(key));
  EXPECT_TRUE(store_->Get(key).status().IsNotFound());
  EXPECT_TRUE(store_->Size(key).status().IsNotFound());
  ASSERT_TRUE(store_->Put(key, std::string("hello\0world", 11)).ok());
  EXPECT_TRUE(store_->Exists(key));
  auto got = store_->Get(key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::string("hello\0world", 11));
  auto size = store_->Size(key);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 11u);
  ASSERT_TRUE(store_->Put(key, "replaced").ok());
  EXPECT_EQ(store_->Get(key).value(), "replaced");
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(store_->Size("empty").value(), 0u);
}

TEST_P(ObjectStoreConformanceTest, PutFileStoresTheBytesAndTheirCrc) {
  const std::string data = Random(300000, 1);
  uint32_t crc = 0;
  ASSERT_TRUE(store_->PutFile("small.bin", WriteLocal("small", data), &crc).ok());
  EXPECT_EQ(crc, crc32c::Value(data));
  EXPECT_EQ(store_->Get("small.bin").value(), data);
}

// Past the multipart threshold (S3: three parts, the last one short).
TEST_P(ObjectStoreConformanceTest, LargePutFileArrivesWhole) {
  const std::string data = Random((12 << 20) + 12345, 2);
  uint32_t crc = 0;
  ASSERT_TRUE(store_->PutFile("big/part-0.parquet", WriteLocal("big", data), &crc).ok());
  EXPECT_EQ(crc, crc32c::Value(data));
  EXPECT_EQ(store_->Size("big/part-0.parquet").value(), data.size());
  auto got = store_->Get("big/part-0.parquet");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data) << "content differs";
}

TEST_P(ObjectStoreConformanceTest, PutFileOfMissingFileFailsAndStoresNothing) {
  EXPECT_FALSE(store_->PutFile("nope", tmp_.path() + "/does-not-exist", nullptr).ok());
  EXPECT_FALSE(store_->Exists("nope"));
}

TEST_P(ObjectStoreConformanceTest, ListIsRecursiveSortedAndByPrefix) {
  for (const char* k : {"x/2/3", "x/1", "xy/4", "z", "x/2/a=b c"}) {
    ASSERT_TRUE(store_->Put(k, std::string(k)).ok()) << k;
  }
  auto all = store_->List("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<std::string> keys;
  for (const auto& o : *all) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"x/1", "x/2/3", "x/2/a=b c", "xy/4", "z"}));
  auto x = store_->List("x/");
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x->size(), 3u);
  EXPECT_EQ((*x)[0].key, "x/1");
  EXPECT_EQ((*x)[0].size, 3u);
  EXPECT_EQ((*x)[2].key, "x/2/a=b c");
  EXPECT_EQ((*x)[2].size, 9u);
  auto none = store_->List("nothing/");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(ObjectStoreConformanceTest, ListPagesThroughManyObjects) {
  if (!s3()) GTEST_SKIP() << "paging is an S3 matter";
  for (int i = 0; i < 1005; ++i) ASSERT_TRUE(store_->Put("p/" + std::to_string(10000 + i), "v").ok());
  auto all = store_->List("p/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1005u);  // S3 pages hold 1000 keys
  EXPECT_EQ(all->back().key, "p/11004");
}

TEST_P(ObjectStoreConformanceTest, DeleteIsIdempotent) {
  ASSERT_TRUE(store_->Put("d/a", "1").ok());
  ASSERT_TRUE(store_->Delete("d/a").ok());
  EXPECT_FALSE(store_->Exists("d/a"));
  EXPECT_TRUE(store_->Delete("d/a").ok());
  EXPECT_TRUE(store_->Delete("never/was").ok());
}

TEST_P(ObjectStoreConformanceTest, RenameMovesAndReplaces) {
  ASSERT_TRUE(store_->Put("tmp/m.json", "new manifest").ok());
  ASSERT_TRUE(store_->Put("m.json", "old manifest").ok());
  ASSERT_TRUE(store_->Rename("tmp/m.json", "m.json").ok());
  EXPECT_EQ(store_->Get("m.json").value(), "new manifest");
  EXPECT_FALSE(store_->Exists("tmp/m.json"));
  EXPECT_FALSE(store_->Rename("tmp/gone", "x").ok());
}

TEST_P(ObjectStoreConformanceTest, PutIfAbsentCreatesOnlyOnce) {
  ASSERT_TRUE(store_->PutIfAbsent("_lake/roots/r1.json", "first").ok());
  Status again = store_->PutIfAbsent("_lake/roots/r1.json", "second");
  EXPECT_TRUE(IsAlreadyExists(again)) << again.ToString();
  EXPECT_EQ(store_->Get("_lake/roots/r1.json").value(), "first");
  // An object written by a plain Put counts as existing too.
  ASSERT_TRUE(store_->Put("_lake/roots/r2.json", "put").ok());
  EXPECT_TRUE(IsAlreadyExists(store_->PutIfAbsent("_lake/roots/r2.json", "x")));
  // After a Delete the key can be created again.
  ASSERT_TRUE(store_->Delete("_lake/roots/r1.json").ok());
  ASSERT_TRUE(store_->PutIfAbsent("_lake/roots/r1.json", "third").ok());
  EXPECT_EQ(store_->Get("_lake/roots/r1.json").value(), "third");
  // No temporary objects are left behind.
  auto listed = store_->List("_lake/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "_lake/roots/r1.json");
  EXPECT_EQ((*listed)[1].key, "_lake/roots/r2.json");
}

TEST_P(ObjectStoreConformanceTest, ConcurrentPutIfAbsentHasExactlyOneWinner) {
  // Writers in threads, each through its own store (as separate processes
  // would be), race for the same keys: per key exactly one succeeds and
  // the stored bytes are the winner's.
  constexpr int kWriters = 4;
  constexpr int kKeys = 8;
  std::vector<std::unique_ptr<ObjectStore>> stores;
  for (int w = 0; w < kWriters; ++w) {
    if (s3()) {
      S3Options o;
      ASSERT_TRUE(S3ObjectStore::ParseUri(store_->RootUri(), &o).ok());
      o.endpoint = S3TestServer::Endpoint();
      o.access_key = o.secret_key = "testing";
      stores.push_back(std::make_unique<S3ObjectStore>(o));
    } else {
      stores.push_back(std::make_unique<LocalObjectStore>(Env::Default(), store_->RootUri()));
    }
  }
  std::vector<std::vector<Status>> results(kWriters, std::vector<Status>(kKeys));
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int k = 0; k < kKeys; ++k) {
        results[w][k] = stores[w]->PutIfAbsent("race/v" + std::to_string(k),
                                               "writer " + std::to_string(w));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int k = 0; k < kKeys; ++k) {
    int winners = 0;
    int winner = -1;
    for (int w = 0; w < kWriters; ++w) {
      if (results[w][k].ok()) {
        ++winners;
        winner = w;
      } else {
        EXPECT_TRUE(IsAlreadyExists(results[w][k])) << results[w][k].ToString();
      }
    }
    ASSERT_EQ(winners, 1) << "key " << k;
    EXPECT_EQ(store_->Get("race/v" + std::to_string(k)).value(),
              "writer " + std::to_string(winner));
  }
}

TEST_P(ObjectStoreConformanceTest, ReadUriIsReadableAndRootUriNamesTheStore) {
  const std::string data = Random(4096, 3);
  ASSERT_TRUE(store_->Put("r/f.parquet", data).ok());
  std::string read;
  ASSERT_TRUE(Env::Default()->ReadFileToString(store_->ReadUri("r/f.parquet"), &read).ok());
  EXPECT_EQ(read, data);
  if (s3()) {
    EXPECT_EQ(store_->RootUri().rfind("s3://viewpipe-conformance/run-", 0), 0u);
  } else {
    EXPECT_EQ(store_->RootUri(), tmp_.path() + "/store");
  }
}

TEST_P(ObjectStoreConformanceTest, ASecondStoreOnTheSameRootSeesTheObjects) {
  ASSERT_TRUE(store_->Put("shared/k", "v").ok());
  if (s3()) {
    S3Options o;
    ASSERT_TRUE(S3ObjectStore::ParseUri(store_->RootUri(), &o).ok());
    o.endpoint = S3TestServer::Endpoint();
    o.access_key = o.secret_key = "testing";
    S3ObjectStore other(o);
    EXPECT_EQ(other.Get("shared/k").value(), "v");
  } else {
    LocalObjectStore other(Env::Default(), store_->RootUri());
    EXPECT_EQ(other.Get("shared/k").value(), "v");
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, ObjectStoreConformanceTest, ::testing::Values("local", "s3"),
                         [](const auto& info) { return info.param; });

TEST(S3ObjectStoreTest, ParseUri) {
  S3Options o;
  ASSERT_TRUE(S3ObjectStore::ParseUri("s3://bucket/some/prefix/", &o).ok());
  EXPECT_EQ(o.bucket, "bucket");
  EXPECT_EQ(o.prefix, "some/prefix");
  ASSERT_TRUE(S3ObjectStore::ParseUri("s3://b", &o).ok());
  EXPECT_EQ(o.prefix, "");
  EXPECT_FALSE(S3ObjectStore::ParseUri("file:///x", &o).ok());
  EXPECT_FALSE(S3ObjectStore::ParseUri("s3:///x", &o).ok());
}

TEST(S3ObjectStoreTest, UnreachableEndpointIsUnavailable) {
  S3Options o;
  o.endpoint = "http://127.0.0.1:1";
  o.bucket = "b";
  o.attempts = 1;
  S3ObjectStore store(o);
  EXPECT_EQ(store.Put("k", "v").code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace viewpipe
