#pragma once
// GET /v1/deadletters?from=<offset>&limit=<n>: the rejected events kept in
// the `deadletters` topic, oldest first from `from` (default: the newest
// `limit`, default 100, at most 10,000).
// {"dead_letters":[{"offset":o,"received_at":ms,"index":i,"event_id":"..",
//   "error":"..","raw":".."}],"next":o}

namespace httplib {
class Server;
}

namespace viewpipe {

class Log;

// log must outlive server.
void RegisterDeadLetterRoutes(httplib::Server* server, const Log* log);

}  // namespace viewpipe
