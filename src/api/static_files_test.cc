#include "api/static_files.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "api/dashboard_module.h"
#include "common/clock.h"
#include "common/scoped_temp_dir.h"
#include "log/file_log.h"

namespace viewpipe {
namespace {

namespace fs = std::filesystem;

// <tmp>/web: the dashboard; <tmp>/node_modules: two packages, one of which
// the dashboard may serve; <tmp>/secret.txt: must never be served.
class StaticFilesTest : public ::testing::Test {
 protected:
  StaticFilesTest()
      : web_(JoinPath(tmp_.path(), "web")), modules_(JoinPath(tmp_.path(), "node_modules")) {
    Write(web_ + "/index.html", "<!doctype html>");
    Write(web_ + "/app.js", "export {}");
    Write(web_ + "/style.css", "body{}");
    Write(web_ + "/img/logo.svg", "<svg/>");
    Write(web_ + "/.hidden.js", "hidden");
    Write(web_ + "/tool.sh", "#!/bin/sh");
    Write(web_ + "/README", "no extension");
    Write(modules_ + "/uplot/dist/uPlot.esm.js", "export default 1");
    Write(modules_ + "/uplot/dist/uPlot.min.css", ".u{}");
    Write(modules_ + "/uplot/package.json", "{}");
    Write(modules_ + "/playwright-core/index.js", "module.exports = {}");
    Write(tmp_.path() + "/secret.txt", "secret");
    fs::create_symlink(tmp_.path() + "/secret.txt", web_ + "/leak.txt");
    fs::create_directory_symlink(tmp_.path(), web_ + "/up");
  }

  static void Write(const std::string& path, const std::string& data) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << data;
  }

  std::string Served(std::string_view url) const {
    StaticFiles files(web_, modules_);
    auto f = files.Resolve(url);
    return f.ok() ? fs::relative(f->path, tmp_.path()).string() : "";
  }

  ScopedTempDir tmp_;
  std::string web_;
  std::string modules_;
};

TEST_F(StaticFilesTest, ServesTheDashboardFiles) {
  EXPECT_EQ(Served("/"), "web/index.html");
  EXPECT_EQ(Served("/index.html"), "web/index.html");
  EXPECT_EQ(Served("/app.js"), "web/app.js");
  EXPECT_EQ(Served("/style.css"), "web/style.css");
  EXPECT_EQ(Served("/img/logo.svg"), "web/img/logo.svg");
}

TEST_F(StaticFilesTest, ServesOnlyWhitelistedVendorFiles) {
  EXPECT_EQ(Served("/vendor/uplot/uPlot.esm.js"), "node_modules/uplot/dist/uPlot.esm.js");
  EXPECT_EQ(Served("/vendor/uplot/uPlot.min.css"), "node_modules/uplot/dist/uPlot.min.css");
  EXPECT_EQ(Served("/vendor/uplot/package.json"), "");
  EXPECT_EQ(Served("/vendor/uplot/dist/uPlot.esm.js"), "");
  EXPECT_EQ(Served("/vendor/playwright-core/index.js"), "");
  EXPECT_EQ(Served("/vendor/uplot/../playwright-core/index.js"), "");
  EXPECT_EQ(Served("/vendor/uplot/uPlot.esm.js/../../../secret.txt"), "");
  EXPECT_EQ(Served("/node_modules/uplot/dist/uPlot.esm.js"), "");
}

TEST_F(StaticFilesTest, RefusesTraversal) {
  for (const char* url : {"/../secret.txt", "/img/../../secret.txt", "/./index.html",
                          "/img/./logo.svg", "//secret.txt", "/img//logo.svg", "/app.js/",
                          "/..", "/img/..", "/..\\secret.txt", "/%2e%2e/secret.txt",
                          "/app.js%00.html", "secret.txt", "", "/tmp/../../etc/passwd"}) {
    EXPECT_EQ(Served(url), "") << url;
  }
  EXPECT_EQ(Served(std::string_view("/app.js\0.css", 12)), "");
  EXPECT_EQ(Served("/" + std::string(300, 'a') + ".js"), "");
}

TEST_F(StaticFilesTest, RefusesSymlinksOutOfTheRoot) {
  EXPECT_EQ(Served("/leak.txt"), "");
  EXPECT_EQ(Served("/up/secret.txt"), "");
}

TEST_F(StaticFilesTest, RefusesHiddenUnknownAndMissingFiles) {
  EXPECT_EQ(Served("/.hidden.js"), "");
  EXPECT_EQ(Served("/tool.sh"), "");
  EXPECT_EQ(Served("/README"), "");
  EXPECT_EQ(Served("/missing.js"), "");
  EXPECT_EQ(Served("/img"), "");
}

TEST(StaticFilesContentType, ByExtension) {
  EXPECT_EQ(StaticFiles::ContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentType("a/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentType("x.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentType("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentType("logo.svg"), "image/svg+xml");
  EXPECT_EQ(StaticFiles::ContentType("a.png"), "image/png");
  EXPECT_EQ(StaticFiles::ContentType("a.json"), "application/json");
  EXPECT_EQ(StaticFiles::ContentType("a.tar.gz"), "");
  EXPECT_EQ(StaticFiles::ContentType("Makefile"), "");
  EXPECT_EQ(StaticFiles::ContentType(".js"), "");
  EXPECT_EQ(StaticFiles::ContentType("dir.js/file"), "");
}

TEST_F(StaticFilesTest, FindWebRoot) {
  EXPECT_EQ(FindWebRoot(web_), fs::canonical(web_).string());
  EXPECT_EQ(FindWebRoot(web_ + "/"), fs::canonical(web_).string());
  EXPECT_EQ(FindWebRoot(modules_), "");  // no index.html
}

// The module behind a real HTTP server: raw request paths (percent-encoded,
// with dot segments) and the headers a browser sees.
TEST_F(StaticFilesTest, DashboardModuleOverHttp) {
  FileLogOptions options;
  options.dir = JoinPath(tmp_.path(), "log");
  options.min_free_bytes = 0;
  auto log = FileLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  httplib::Server server;
  DashboardModule module;
  ModuleContext ctx{log->get(), nullptr, &server, Clock::System(), tmp_.path(), web_};
  ASSERT_TRUE(module.Start(ctx).ok());
  int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { server.listen_after_bind(); });
  httplib::Client client("127.0.0.1", port);

  auto get = [&](const std::string& path) { return client.Get(path.c_str()); };
  auto res = get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(res->body, "<!doctype html>");
  res = get("/app.js");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  res = get("/vendor/uplot/uPlot.min.css");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/css; charset=utf-8");
  for (const char* bad : {"/../secret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt",
                          "/img/..%2f..%2fsecret.txt",
                          "/vendor/uplot/..%2f..%2fplaywright-core/index.js", "/leak.txt",
                          "/.hidden.js", "/tool.sh"}) {
    res = get(bad);
    ASSERT_TRUE(res) << bad;
    EXPECT_EQ(res->status, 404) << bad;
    EXPECT_EQ(res->body.find("secret"), std::string::npos) << bad;
  }
  res = get("/v1/pipeline");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  server.stop();
  thread.join();
}

}  // namespace
}  // namespace viewpipe
