#include "features/feature_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "api/lookup_http_server.h"
#include "common/scoped_temp_dir.h"
#include "features/feature_fold.h"
#include "features/features_test_util.h"
#include "features/rocksdb_feature_store.h"

namespace viewpipe::features {
namespace {

using testing::kT0;

class FeatureRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = RocksDbFeatureStore::Open(dir_.path());
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
    const CatalogTable catalog = testing::TestCatalog();
    FeatureFold fold(&catalog);
    ProfileState p;
    TitleState t;
    testing::EventFactory f;
    fold.ApplyToProfile(f.Make(EventType::kHeartbeat, kT0, "p1", "t1"), &p);
    SessionMark m;
    fold.ApplyToTitle(f.Make(EventType::kPlayStart, kT0, "p1", "t1"), &m, &t);
    p.updated_at_ms = 77;
    FeatureBatch b;
    b.puts.push_back(MakePut(FeatureKind::kProfile, "p1", EncodeProfileState(p)));
    b.puts.push_back(MakePut(FeatureKind::kTitle, "t1", EncodeTitleState(t)));
    b.puts.push_back(MakePut(FeatureKind::kProfile, "broken", "\x01zz"));
    ASSERT_TRUE(store_->Write(b).ok());
  }
  ScopedTempDir dir_;
  std::unique_ptr<RocksDbFeatureStore> store_;
  ManualClock clock_{kT0 + 1000};
};

TEST(FeatureIdTest, MalformedIds) {
  EXPECT_TRUE(ValidFeatureId("p-00012"));
  EXPECT_TRUE(ValidFeatureId("профиль"));
  EXPECT_TRUE(ValidFeatureId(std::string(64, 'a')));
  EXPECT_FALSE(ValidFeatureId(""));
  EXPECT_FALSE(ValidFeatureId(std::string(65, 'a')));
  EXPECT_FALSE(ValidFeatureId("a\nb"));
  EXPECT_FALSE(ValidFeatureId("\xff\xfe"));
}

TEST_F(FeatureRoutesTest, LookupAnswersVectorsAnd404And400) {
  FeatureRoutes routes(store_.get(), &clock_, nullptr);
  auto p = routes.Lookup(FeatureKind::kProfile, "p1", kT0 + 1000);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->find("\"profile_id\":\"p1\""), std::string::npos) << *p;
  EXPECT_NE(p->find("\"updated_at\":77"), std::string::npos) << *p;
  EXPECT_NE(p->find("\"watch_seconds_7d\":{\"drama\":10}"), std::string::npos) << *p;
  auto t = routes.Lookup(FeatureKind::kTitle, "t1", kT0 + 1000);
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("\"plays_1h\":1"), std::string::npos) << *t;
  EXPECT_TRUE(routes.Lookup(FeatureKind::kProfile, "t1", kT0).status().IsNotFound());
  EXPECT_TRUE(routes.Lookup(FeatureKind::kTitle, "nope", kT0).status().IsNotFound());
  EXPECT_EQ(routes.Lookup(FeatureKind::kProfile, "", kT0).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(routes.Lookup(FeatureKind::kProfile, "broken", kT0).status().IsCorruption());
}

TEST_F(FeatureRoutesTest, BatchLookupKeepsOrderAndBoundsItsSize) {
  FeatureRoutes routes(store_.get(), &clock_, nullptr, /*max_batch=*/3);
  auto r = routes.LookupBatch(FeatureKind::kProfile, R"({"ids":["x","p1","y"]})", kT0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->find("{\"as_of\":" + std::to_string(kT0) + ",\"found\":1,\"profiles\":[null,{"), 0u)
      << *r;
  EXPECT_EQ(r->substr(r->size() - 7), ",null]}");
  auto code = [&](std::string_view body) {
    return routes.LookupBatch(FeatureKind::kProfile, body, kT0).status().code();
  };
  EXPECT_EQ(code(R"({"ids":["a","b","c","d"]})"), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(R"({"ids":"a"})"), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(R"({"ids":[1]})"), Status::Code::kInvalidArgument);
  EXPECT_EQ(code(R"({"ids":[""]})"), Status::Code::kInvalidArgument);
  EXPECT_EQ(code("not json"), Status::Code::kInvalidArgument);
  auto empty = routes.LookupBatch(FeatureKind::kTitle, R"({"ids":[]})", kT0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "{\"as_of\":" + std::to_string(kT0) + ",\"found\":0,\"titles\":[]}");
}

TEST_F(FeatureRoutesTest, LookupPortAnswersWhatLookupAnswers) {
  FeatureRoutes routes(store_.get(), &clock_, nullptr);
  LookupHttpServer server(LookupServerOptions{});
  routes.RegisterLookups(&server);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  const std::string at = std::to_string(kT0 + 5000);
  auto p = client.Get("/v1/features/profiles/p1?at=" + at);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 200);
  auto want_p = routes.Lookup(FeatureKind::kProfile, "p1", kT0 + 5000);
  ASSERT_TRUE(want_p.ok());
  EXPECT_EQ(p->body, *want_p);
  auto t = client.Get("/v1/features/titles/t1");  // default at: the clock's now
  ASSERT_TRUE(t);
  auto want_t = routes.Lookup(FeatureKind::kTitle, "t1", kT0 + 1000);
  ASSERT_TRUE(want_t.ok());
  EXPECT_EQ(t->body, *want_t);
  EXPECT_EQ(client.Get("/v1/features/profiles/nobody")->status, 404);
  EXPECT_EQ(client.Get("/v1/features/titles/p1")->status, 404);   // kinds are separate
  EXPECT_EQ(client.Get("/v1/features/profiles/")->status, 400);   // empty id
  EXPECT_EQ(client.Get("/v1/features/profiles/p1?at=x")->status, 400);
  EXPECT_EQ(client.Get("/v1/features/profiles/broken")->status, 500);  // corrupt state
}

}  // namespace
}  // namespace viewpipe::features
