#pragma once
// HTTP routes of the collector on a cpp-httplib server: POST /v1/events.
// The body is read through a content reader so the decompressed size is
// bounded while it arrives (a gzip bomb stops at the limit).

namespace httplib {
class Server;
}

namespace viewpipe {

class Collector;

// collector must outlive server.
void RegisterCollectorRoutes(httplib::Server* server, Collector* collector);

}  // namespace viewpipe
